#!/usr/bin/env bash
# Run the real RingCentral Python SDK (ringcentral) against `verdict serve ringcentral`.
#
#   bash tests/sdk/run_ringcentral.sh
#
# Adds the pinned SDK to the virtual environment in target/sdk-venv (the one
# tests/sdk/run.sh makes for the Webex SDK; created here if missing), builds the verdict
# binary, starts the emulator on 127.0.0.1 with 2 s access tokens, runs
# tests/sdk/ringcentral_sdk.py against it and always stops the server. Exits with the
# script's status (1 on a failed check, 2 when the set-up itself fails). After the build,
# every step is bounded: at most PIP_TIMEOUT_S + START_TIMEOUT_S + SCRIPT_TIMEOUT_S.
set -euo pipefail

SDK_VERSION="0.9.2"
TOKEN_TTL_S=2
PIP_TIMEOUT_S=60
START_TIMEOUT_S=15
SCRIPT_TIMEOUT_S=40

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

venv="$root/target/sdk-venv"
py="$venv/bin/python"
work="$(mktemp -d)"
server_pid=""
script_pid=""

stop_server() {
    local status=$?
    if [[ -n "$script_pid" ]] && kill -0 "$script_pid" 2>/dev/null; then
        kill -TERM "$script_pid" 2>/dev/null || true
        wait "$script_pid" 2>/dev/null || true
    fi
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        # Give it 5 s to shut down cleanly, then insist.
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$server_pid" 2>/dev/null; then
            echo "sdk: server did not stop on SIGTERM; sending SIGKILL" >&2
            kill -KILL "$server_pid" 2>/dev/null || true
        fi
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "sdk: $*" >&2
    exit 2
}

# 1. The pinned SDK in the shared virtual environment (reused when it already has it;
# installed beside whatever is there, so the Webex SDK stays).
has_sdk() {
    [[ -x "$py" ]] && "$py" - "$SDK_VERSION" 2>/dev/null <<'EOF'
import importlib.metadata, sys
import ringcentral  # noqa: F401  (the package must import, not just be listed)
sys.exit(importlib.metadata.version("ringcentral") != sys.argv[1])
EOF
}
if has_sdk; then
    echo "sdk: reusing $venv (ringcentral $SDK_VERSION)"
else
    if ! [[ -x "$py" ]] || ! "$py" -c 'import sys' 2>/dev/null; then
        python3 -m venv --clear "$venv" || fail "python3 -m venv failed"
    fi
    echo "sdk: installing ringcentral $SDK_VERSION into $venv"
    timeout "$PIP_TIMEOUT_S" "$py" -m pip install --quiet --disable-pip-version-check \
        "ringcentral==$SDK_VERSION" || fail "pip install ringcentral==$SDK_VERSION failed"
    has_sdk || fail "ringcentral $SDK_VERSION does not import after installing"
fi

# 2. The emulator.
cargo build --locked --quiet -p verdict-cli || fail "cargo build -p verdict-cli failed"
bin="$root/target/debug/verdict"
[[ -x "$bin" ]] || fail "$bin not found after the build"

"$bin" serve ringcentral --host 127.0.0.1 --port 0 --token-ttl "$TOKEN_TTL_S" --json \
    >"$work/server.out" 2>"$work/server.err" </dev/null &
server_pid=$!

# The start-up line: one JSON object ending in a newline, within START_TIMEOUT_S.
deadline=$((SECONDS + START_TIMEOUT_S))
until [[ -s "$work/server.out" ]] && [[ "$(tail -c 1 "$work/server.out" | od -An -c | tr -d ' ')" == '\n' ]]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.err" >&2 || true
        server_pid=""
        fail "verdict serve ringcentral exited before printing its start-up line"
    fi
    if ((SECONDS >= deadline)); then
        cat "$work/server.err" >&2 || true
        fail "verdict serve ringcentral did not print its start-up line within ${START_TIMEOUT_S} s"
    fi
    sleep 0.1
done

# The values go to the script through the environment, one per line here (none holds a
# newline; the password may hold spaces).
mapfile -t info < <("$py" - "$work/server.out" <<'EOF'
import json, sys
info = json.loads(open(sys.argv[1]).readline())
oauth = info["oauth"]
for value in (info["origin"], info["admin"], oauth["client_id"], oauth["client_secret"],
              oauth["username"], oauth["password"], oauth["token_ttl_s"]):
    value = str(value)
    if not value or "\n" in value:
        sys.exit("bad value in the start-up line")
    print(value)
EOF
) || fail "could not parse the start-up line: $(head -c 500 "$work/server.out")"
((${#info[@]} == 7)) || fail "start-up line lacks origin, admin or oauth: $(head -c 500 "$work/server.out")"
origin="${info[0]}"
[[ "$origin" == http://127.0.0.1:* ]] || fail "the emulator is not on 127.0.0.1: $origin"
[[ "${info[6]}" == "$TOKEN_TTL_S" ]] || fail "the emulator reports token_ttl_s ${info[6]}, asked for $TOKEN_TTL_S"
echo "sdk: emulator at $origin (admin ${info[1]}, access tokens live ${info[6]} s)"

# 3. The SDK script; its status is ours. It runs in the background so that a
# SIGTERM or SIGINT to this script stops it and the server at once.
ORIGIN="$origin" ADMIN="${info[1]}" RC_CLIENT_ID="${info[2]}" RC_CLIENT_SECRET="${info[3]}" \
    RC_USERNAME="${info[4]}" RC_PASSWORD="${info[5]}" RC_TOKEN_TTL="${info[6]}" PYTHONUNBUFFERED=1 \
    timeout "$SCRIPT_TIMEOUT_S" "$py" "$root/tests/sdk/ringcentral_sdk.py" </dev/null &
script_pid=$!
status=0
wait "$script_pid" || status=$?
script_pid=""
if ((status == 124)); then
    echo "sdk: ringcentral_sdk.py did not finish within ${SCRIPT_TIMEOUT_S} s" >&2
fi
if ((status != 0)) && [[ -s "$work/server.err" ]]; then
    echo "sdk: server stderr:" >&2
    tail -n 40 "$work/server.err" >&2
fi
exit "$status"
