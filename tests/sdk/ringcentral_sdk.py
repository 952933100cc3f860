"""Drive the real RingCentral Python SDK (`ringcentral`) against `verdict serve ringcentral`.

Reads from the environment, as tests/sdk/run_ringcentral.sh sets them: ORIGIN
(http://127.0.0.1:PORT, the SDK's server URL), ADMIN (ORIGIN/_verdict), RC_CLIENT_ID,
RC_CLIENT_SECRET, RC_USERNAME, RC_PASSWORD and RC_TOKEN_TTL (the emulator's access-token
lifetime in seconds, short so that the SDK has to refresh). Prints one line per check,
then `sdk: N passed, M failed`; exits 1 if any check failed. The SDK is used unchanged;
only the admin API (journal) and the probes of dead tokens use plain urllib.

How this SDK handles tokens (ringcentral 0.9.x, platform/platform.py): before every call
it compares its own clock with `expires_in` from the token answer and, once that has
passed, refreshes with the refresh_token grant; it never retries on a 401. Its password
login (and its refresh) asks for `access_token_ttl=3600`, which the emulator honours like
RingCentral, so a password session lives an hour; its JWT login asks for no lifetime and
gets the emulator's --token-ttl. The expiry checks therefore run on a JWT session.
"""

import base64
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import warnings

from ringcentral import SDK
from ringcentral.http.api_exception import ApiException

ORIGIN = os.environ["ORIGIN"].rstrip("/")
ADMIN = os.environ["ADMIN"].rstrip("/")
CLIENT_ID = os.environ["RC_CLIENT_ID"]
CLIENT_SECRET = os.environ["RC_CLIENT_SECRET"]
USERNAME = os.environ["RC_USERNAME"]
PASSWORD = os.environ["RC_PASSWORD"]
TOKEN_TTL = int(os.environ["RC_TOKEN_TTL"])

API = "/restapi/v1.0"
TOKEN_PATH = "/restapi/oauth/token"
REVOKE_PATH = "/restapi/oauth/revoke"
EXTENSION = "101"  # passed to the password login, as the SDK's README does
# A JWT-shaped assertion (header.payload.signature, base64url); the emulator checks the shape only.
JWT = ".".join(
    base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
    for part in ({"alg": "RS256", "typ": "JWT"}, {"sub": "sdk-check", "iss": CLIENT_ID}, "signature")
)
BASIC = "Basic " + base64.b64encode(("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()
MISSING_ID = "999999999999"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def admin(method, path):
    request = urllib.request.Request(ADMIN + path, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        return response.status, (json.loads(text) if text else None)


def journal(after=0):
    """The emulator's journal after sequence number `after`, in order, as dicts with
    method, path (no query), status, seq, auth (the Authorization header) and body."""
    _, body = admin("GET", "/journal")
    rows = []
    for e in sorted(body["entries"], key=lambda e: e["seq"]):
        if e["seq"] <= after:
            continue
        headers = {k.lower(): v for k, v in (e.get("headers") or {}).items()}
        auth = headers.get("authorization") or [""]
        rows.append({
            "method": e["method"],
            "path": e["path"].split("?", 1)[0],
            "status": e["status"],
            "seq": e["seq"],
            "auth": auth[0] if isinstance(auth, list) else auth,
            "body": e.get("body") or "",
        })
    return rows


def last_seq():
    rows = journal()
    return rows[-1]["seq"] if rows else 0


def show(rows):
    return ", ".join("%s %s %s" % (r["method"], r["path"], r["status"]) for r in rows) or "nothing"


def form(row):
    return dict(urllib.parse.parse_qsl(row["body"]))


def raw(method, path, headers=None, data=None):
    """A plain request outside the SDK: (status, parsed JSON or text)."""
    request = urllib.request.Request(ORIGIN + path, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def api_status(error):
    response = error.api_response().response() if error.api_response() else None
    return response.status_code if response is not None else None


def describe(error):
    """An ApiException without the request details (and tokens) the SDK appends."""
    if isinstance(error, ApiException):
        response = error.api_response().response() if error.api_response() else None
        if response is not None:
            return "ApiException HTTP %s %s" % (response.status_code, response.text[:300])
        return "ApiException without a response: %s" % str(error).split(" (request details", 1)[0]
    return "%s: %s" % (type(error).__name__, error)


def expect_api_error(status, call, what):
    try:
        result = call()
    except ApiException as error:
        got = api_status(error)
        expect(got == status, "%s: %s, expected HTTP %s" % (what, describe(error), status))
        return error
    raise CheckFailed("%s: no ApiException raised, got HTTP %s" % (what, result.response().status_code))


def new_platform():
    return SDK(CLIENT_ID, CLIENT_SECRET, ORIGIN, "verdict-sdk-check", "1.0.0").platform()


def check_login(platform, row, grant, wanted):
    data = platform.auth().data()
    expect(data["access_token"], "the SDK stored no access token: %r" % data)
    expect(data["refresh_token"], "the SDK stored no refresh token")
    expect(data["token_type"].lower() == "bearer", "token_type %r" % data["token_type"])
    expect(platform.logged_in(), "platform.logged_in() is false right after the login")
    expect(row["auth"] == BASIC, "the token request carried %r, not the client's Basic credentials" % row["auth"][:60])
    sent = form(row)
    expect(sent.get("grant_type") == grant, "the token request sent grant_type %r" % sent.get("grant_type"))
    for key, value in wanted.items():
        expect(sent.get(key) == value, "the token request sent %s=%r, expected %r" % (key, sent.get(key), value))
    return data


def wait_past_expiry():
    """Sleep until the JWT session's first access token has expired on both clocks: the
    SDK's (its expire_time) and the server's (which issued it a moment before)."""
    wake = max(state["jwt_expire_time"], state["jwt_login_at"] + TOKEN_TTL) + 0.5
    time.sleep(max(0.0, wake - time.time()))


run_id = uuid.uuid4().hex[:6]
state = {}
results = []


def check(name):
    def run(function):
        try:
            detail = function()
        except Exception as error:  # every failure, expected or not, is reported
            results.append(False)
            print("FAIL %s: %s" % (name, describe(error) if not isinstance(error, CheckFailed) else error))
            if not isinstance(error, (CheckFailed, ApiException)):
                traceback.print_exc(limit=3, file=sys.stdout)
        else:
            results.append(True)
            print("ok   %s%s" % (name, ": " + detail if detail else ""))
        sys.stdout.flush()
        return function

    return run


@check("password login (username, extension, password)")
def _():
    platform = new_platform()
    before = last_seq()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK warns that password logins are deprecated
        response = platform.login(USERNAME, EXTENSION, PASSWORD)
    rows = journal(before)
    expect(
        [(r["method"], r["path"], r["status"]) for r in rows] == [("POST", TOKEN_PATH, 200)],
        "journal shows %s, expected one POST %s 200" % (show(rows), TOKEN_PATH),
    )
    data = check_login(platform, rows[0], "password",
                       {"username": USERNAME, "password": PASSWORD, "extension": EXTENSION})
    expect(response.json_dict()["access_token"] == data["access_token"], "login returned another token than it stored")
    state["password"] = platform
    return "expires_in %s (the SDK asked access_token_ttl=%s)" % (data["expires_in"], form(rows[0]).get("access_token_ttl"))


@check("GET %s/account/~" % API)
def _():
    platform = state["password"]
    before = last_seq()
    account = platform.get(API + "/account/~").json_dict()
    expect(account.get("id"), "account without an id: %r" % account)
    rows = journal(before)
    expect(
        [(r["method"], r["path"], r["status"]) for r in rows] == [("GET", API + "/account/~", 200)],
        "journal shows %s" % show(rows),
    )
    expect(rows[0]["auth"].lower() == "bearer " + platform.auth().access_token().lower(),
           "the SDK did not send its bearer token")
    state["account_id"] = account["id"]
    return "account %s (%s)" % (account["id"], account.get("status"))


@check("GET %s/account/~/extension/~" % API)
def _():
    extension = state["password"].get("/account/~/extension/~").json()  # short form, as in the README
    expect(extension.extensionNumber == EXTENSION,
           "extensionNumber %r, logged in as %r" % (extension.extensionNumber, EXTENSION))
    expect(extension.account.id == state["account_id"],
           "account.id %r, expected %r" % (extension.account.id, state["account_id"]))
    return "extension %s %r" % (extension.extensionNumber, extension.name)


@check("create 2 extensions with platform.post")
def _():
    platform = state["password"]
    created = []
    for i in (1, 2):
        body = {"extensionNumber": "70%d" % i, "name": "sdk-%s-%d" % (run_id, i)}
        response = platform.post(API + "/account/~/extension", body)
        expect(response.response().status_code in (200, 201), "POST answered %s" % response.response().status_code)
        item = response.json_dict()
        expect(item.get("id"), "extension created without an id: %r" % item)
        expect(item.get("name") == body["name"], "created %r, got name %r" % (body["name"], item.get("name")))
        expect(item.get("extensionNumber") == body["extensionNumber"],
               "created number %r, got %r" % (body["extensionNumber"], item.get("extensionNumber")))
        created.append(item)
    ids = [item["id"] for item in created]
    expect(len(set(ids)) == 2, "ids are not distinct: %r" % ids)
    listed = {r["id"] for r in platform.get(API + "/account/~/extension").json_dict()["records"]}
    expect(set(ids) <= listed, "missing from GET …/extension: %r" % (set(ids) - listed))
    state["extensions"] = created
    return "ids %s" % ", ".join(ids)


@check("JWT login gets the emulator's %d s access token" % TOKEN_TTL)
def _():
    platform = new_platform()
    before = last_seq()
    platform.login(jwt=JWT)
    rows = journal(before)
    expect(
        [(r["method"], r["path"], r["status"]) for r in rows] == [("POST", TOKEN_PATH, 200)],
        "journal shows %s, expected one POST %s 200" % (show(rows), TOKEN_PATH),
    )
    data = check_login(platform, rows[0], "urn:ietf:params:oauth:grant-type:jwt-bearer", {"assertion": JWT})
    expect(0 < data["expires_in"] <= TOKEN_TTL,
           "expires_in %r, expected at most the --token-ttl %d" % (data["expires_in"], TOKEN_TTL))
    state["jwt"] = platform
    state["jwt_login_at"] = time.time()
    state["jwt_expire_time"] = data["expire_time"]
    return "expires_in %s" % data["expires_in"]


@check("past its lifetime the old access token is refused (401 Access token expired)")
def _():
    platform = state["jwt"]
    old = platform.auth().access_token()
    wait_past_expiry()
    expect(not platform.auth().access_token_valid(), "the SDK still thinks its token is valid")
    status, body = raw("GET", API + "/account/~", {"Authorization": "Bearer " + old})
    expect(status == 401, "the expired token got HTTP %s: %r" % (status, body))
    message = body.get("message", "") if isinstance(body, dict) else str(body)
    expect("expired" in message.lower(), "401 without 'expired' in the message: %r" % body)
    return "%s %r" % (status, message)


@check("the SDK refreshes the expired token by itself, no 401 reaches it")
def _():
    platform = state["jwt"]
    wait_past_expiry()
    old = platform.auth().access_token()
    old_refresh = platform.auth().refresh_token()
    before = last_seq()
    extension = platform.get(API + "/account/~/extension/~").json_dict()
    expect(extension.get("extensionNumber"), "no extension after the refresh: %r" % extension)
    rows = journal(before)
    expect(
        [(r["method"], r["path"], r["status"]) for r in rows]
        == [("POST", TOKEN_PATH, 200), ("GET", API + "/account/~/extension/~", 200)],
        "journal shows %s, expected POST %s 200 then the GET 200" % (show(rows), TOKEN_PATH),
    )
    sent = form(rows[0])
    expect(sent.get("grant_type") == "refresh_token", "the token request was a %r grant" % sent.get("grant_type"))
    expect(sent.get("refresh_token") == old_refresh, "the SDK refreshed with another refresh token")
    expect(rows[0]["auth"] == BASIC, "the refresh carried no Basic client credentials")
    new = platform.auth().access_token()
    expect(new and new != old, "the SDK kept the expired token")
    expect(rows[1]["auth"].lower() == "bearer " + new.lower(), "the GET was not sent with the new token")
    expect(platform.auth().access_token_valid(), "the refreshed token is already invalid to the SDK")
    return "journal %s, new expires_in %s" % (show(rows), platform.auth().data()["expires_in"])


@check("the password session after the wait refreshes only if its token expired")
def _():
    platform = state["password"]
    expired = not platform.auth().access_token_valid()
    token = platform.auth().access_token()
    before = last_seq()
    account = platform.get(API + "/account/~").json_dict()
    expect(account.get("id") == state["account_id"], "account %r" % account)
    rows = journal(before)
    calls = [(r["method"], r["path"], r["status"]) for r in rows]
    wanted = ([("POST", TOKEN_PATH, 200)] if expired else []) + [("GET", API + "/account/~", 200)]
    expect(calls == wanted, "journal shows %s, expected %s" % (show(rows), wanted))
    expect(expired or platform.auth().access_token() == token, "the SDK replaced a valid token")
    return "token %s, journal %s" % ("expired and refreshed" if expired else "still valid, reused", show(rows))


@check("batch GET of 2 extensions and a missing id, read with response.multipart()")
def _():
    platform = state["jwt"]
    items = state["extensions"]
    ids = [item["id"] for item in items] + [MISSING_ID]
    response = platform.get(API + "/account/~/extension/" + ",".join(ids))
    status = response.response().status_code
    expect(status == 207, "batch answered HTTP %s, expected 207" % status)
    parts = response.multipart()
    statuses = [part.response().status_code for part in parts]
    expect(statuses == [200, 200, 404], "part statuses %r, expected [200, 200, 404]" % statuses)
    expect([part.ok() for part in parts] == [True, True, False], "part.ok() %r" % [p.ok() for p in parts])
    for part, item in zip(parts, items):
        got = part.json()  # the SDK's JSON object, as its own multipart tests read parts
        expect(got.id == item["id"], "part id %r, expected %r" % (got.id, item["id"]))
        expect(got.name == item["name"], "part name %r, expected %r" % (got.name, item["name"]))
        expect(got.extensionNumber == item["extensionNumber"], "part number %r" % got.extensionNumber)
        expect(part.error() is None, "a 200 part reports an error: %r" % part.error())
    missing = parts[2].json()
    expect(getattr(missing, "errorCode", None) == "CMN-102", "404 part errorCode %r" % getattr(missing, "errorCode", None))
    expect(MISSING_ID in missing.message, "404 part message does not name the id: %r" % missing.message)
    error = parts[2].error()
    expect(error and error.startswith("HTTP 404"), "404 part error() %r" % error)
    return "207, parts %s" % " ".join(map(str, statuses))


@check("delete the extensions, then deleting again raises ApiException 404")
def _():
    platform = state["password"]
    for item in state["extensions"]:
        response = platform.delete(API + "/account/~/extension/" + item["id"])
        expect(response.response().status_code in (200, 204), "DELETE answered %s" % response.response().status_code)
    for item in state["extensions"]:
        expect_api_error(404, lambda: platform.delete(API + "/account/~/extension/" + item["id"]),
                         "second DELETE of %s" % item["id"])
        expect_api_error(404, lambda: platform.get(API + "/account/~/extension/" + item["id"]),
                         "GET of deleted %s" % item["id"])
    return "%d deleted" % len(state["extensions"])


@check("logout revokes: the SDK forgets its tokens and the server refuses them")
def _():
    done = []
    for name in ("jwt", "password"):
        platform = state[name]
        access = platform.auth().access_token()
        refresh = platform.auth().refresh_token()
        before = last_seq()
        platform.logout()
        rows = journal(before)
        expect(
            [(r["method"], r["path"], r["status"]) for r in rows] == [("POST", REVOKE_PATH, 200)],
            "%s logout: journal shows %s, expected one POST %s 200" % (name, show(rows), REVOKE_PATH),
        )
        expect(form(rows[0]).get("token") == access, "%s logout revoked another token" % name)
        expect(rows[0]["auth"] == BASIC, "%s logout carried no Basic client credentials" % name)
        expect(not platform.auth().access_token() and not platform.logged_in(),
               "%s: the SDK still holds a token after logout" % name)
        status, body = raw("GET", API + "/account/~", {"Authorization": "Bearer " + access})
        expect(status == 401, "%s: the revoked access token got HTTP %s: %r" % (name, status, body))
        status, body = raw("POST", TOKEN_PATH,
                           {"Authorization": BASIC, "Content-Type": "application/x-www-form-urlencoded"},
                           urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh}).encode())
        expect(status == 400, "%s: the revoked session's refresh token got HTTP %s: %r" % (name, status, body))
        done.append(name)
    return "%s sessions revoked" % " and ".join(done)


passed = results.count(True)
failed = results.count(False)
print("sdk: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
