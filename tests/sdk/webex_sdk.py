"""Drive the real Webex Python SDK (webexpythonsdk) against `verdict serve webex`.

Reads BASE_URL (e.g. http://127.0.0.1:PORT/v1), TOKEN and ADMIN (e.g.
http://127.0.0.1:PORT/_verdict) from the environment, as tests/sdk/run.sh sets
them. Prints one line per check, then `sdk: N passed, M failed`; exits 1 if any
check failed. The SDK is used unchanged; only the admin API (fault injection,
journal) is called with plain urllib.
"""

import json
import os
import sys
import time
import traceback
import urllib.request
import uuid
import warnings

from webexpythonsdk import ApiError, RateLimitWarning, WebexAPI

BASE_URL = os.environ["BASE_URL"].rstrip("/")
TOKEN = os.environ["TOKEN"]
ADMIN = os.environ["ADMIN"].rstrip("/")

ROOM_COUNT = 5
PAGE_SIZE = 2
EMAIL = "sdk-check@example.com"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def admin(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(ADMIN + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        return response.status, (json.loads(text) if text else None)


def journal(after=0):
    """The emulator's journal after sequence number `after`, in order:
    [(method, path without query, status, seq), ...]."""
    _, body = admin("GET", "/journal")
    entries = sorted(body["entries"], key=lambda e: e["seq"])
    return [
        (e["method"], e["path"].split("?", 1)[0], e["status"], e["seq"])
        for e in entries
        if e["seq"] > after
    ]


def last_seq():
    entries = journal()
    return entries[-1][3] if entries else 0


def expect_api_error(status, call, what):
    try:
        result = call()
    except ApiError as error:
        expect(
            error.status_code == status,
            "%s: ApiError with status %s, expected %s (%s)"
            % (what, error.status_code, status, error),
        )
        return error
    raise CheckFailed("%s: no ApiError raised, got %r" % (what, result))


api = WebexAPI(
    access_token=TOKEN,
    base_url=BASE_URL + "/",
    wait_on_rate_limit=True,
    single_request_timeout=10,
)

run_id = uuid.uuid4().hex[:8]
titles = ["sdk-%s-%d" % (run_id, i) for i in range(ROOM_COUNT)]
state = {"rooms": []}
results = []


def check(name):
    def run(function):
        try:
            detail = function()
        except Exception as error:  # every failure, expected or not, is reported
            results.append(False)
            print("FAIL %s: %s" % (name, error))
            if not isinstance(error, (CheckFailed, ApiError)):
                traceback.print_exc(limit=3, file=sys.stdout)
        else:
            results.append(True)
            print("ok   %s%s" % (name, ": " + detail if detail else ""))
        sys.stdout.flush()
        return function

    return run


@check("create %d rooms" % ROOM_COUNT)
def _():
    for title in titles:
        room = api.rooms.create(title)
        expect(room.id, "room %r created without an id" % title)
        expect(room.title == title, "created %r, got title %r" % (title, room.title))
        state["rooms"].append(room)
    ids = {room.id for room in state["rooms"]}
    expect(len(ids) == ROOM_COUNT, "ids are not distinct: %r" % ids)
    return "%d ids" % len(ids)


@check("list rooms max=%d follows Link pages" % PAGE_SIZE)
def _():
    before = last_seq()
    listed = list(api.rooms.list(max=PAGE_SIZE))
    wanted = {room.id for room in state["rooms"]}
    got = {room.id for room in listed}
    expect(wanted <= got, "missing rooms from the list: %r" % (wanted - got))
    expect(len(listed) == len(got), "a room came back twice: %d items, %d ids" % (len(listed), len(got)))
    pages = [e for e in journal(before) if e[:2] == ("GET", "/v1/rooms")]
    # 5 rooms at 2 a page: the SDK must have asked for 3 pages.
    minimum = -(-len(got) // PAGE_SIZE)
    expect(
        len(pages) >= minimum and all(e[2] == 200 for e in pages),
        "expected >= %d GET /v1/rooms pages with 200, journal shows %r" % (minimum, pages),
    )
    return "%d rooms in %d pages" % (len(listed), len(pages))


@check("get room by id")
def _():
    room = state["rooms"][0]
    fetched = api.rooms.get(room.id)
    expect(fetched.id == room.id, "asked for %r, got %r" % (room.id, fetched.id))
    expect(fetched.title == titles[0], "title %r, expected %r" % (fetched.title, titles[0]))
    return fetched.title


@check("duplicate membership raises ApiError 409")
def _():
    room_id = state["rooms"][0].id
    membership = api.memberships.create(room_id, personEmail=EMAIL)
    expect(membership.roomId == room_id, "membership roomId %r, expected %r" % (membership.roomId, room_id))
    expect(membership.personEmail == EMAIL, "membership personEmail %r" % membership.personEmail)
    error = expect_api_error(
        409,
        lambda: api.memberships.create(room_id, personEmail=EMAIL),
        "second POST /v1/memberships",
    )
    return "%s" % error


@check("injected 429 Retry-After 1 on GET /v1/rooms is ridden through")
def _():
    status, fault = admin(
        "POST",
        "/faults",
        {"method": "GET", "path": "/v1/rooms", "status": 429, "retry_after": 1, "times": 1},
    )
    expect(200 <= status < 300, "admin POST /faults answered %s" % status)
    before = last_seq()
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listed = list(api.rooms.list(max=PAGE_SIZE))
    elapsed = time.monotonic() - started
    wanted = {room.id for room in state["rooms"]}
    got = {room.id for room in listed}
    expect(wanted <= got, "list after the 429 is missing %r" % (wanted - got))
    entries = [e for e in journal(before) if e[:2] == ("GET", "/v1/rooms")]
    statuses = [e[2] for e in entries]
    expect(
        statuses[:2] == [429, 200],
        "journal for GET /v1/rooms shows %r, expected 429 then 200" % statuses,
    )
    expect(
        any(issubclass(w.category, RateLimitWarning) for w in caught),
        "the SDK raised no RateLimitWarning: %r" % [str(w.message) for w in caught],
    )
    expect(elapsed >= 0.9, "the SDK did not wait for Retry-After: %.2f s" % elapsed)
    return "journal %s, waited %.1f s" % (" -> ".join(map(str, statuses)), elapsed)


@check("delete rooms, then get raises ApiError 404")
def _():
    for room in state["rooms"]:
        api.rooms.delete(room.id)
    for room in state["rooms"]:
        expect_api_error(404, lambda: api.rooms.get(room.id), "GET deleted room %s" % room.title)
    remaining = {r.id for r in api.rooms.list(max=PAGE_SIZE)} & {r.id for r in state["rooms"]}
    expect(not remaining, "deleted rooms still listed: %r" % remaining)
    return "%d deleted" % len(state["rooms"])


passed = results.count(True)
failed = results.count(False)
print("sdk: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
