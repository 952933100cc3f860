#!/usr/bin/env bash
# Run the real Webex Python SDK (webexpythonsdk) against `verdict serve webex`.
#
#   bash tests/sdk/run.sh
#
# Makes (or reuses) a virtual environment in target/sdk-venv with the pinned SDK,
# builds the verdict binary, starts the emulator on 127.0.0.1 with a random token,
# runs tests/sdk/webex_sdk.py against it and always stops the server. Exits with the
# script's status (1 on a failed check, 2 when the set-up itself fails).
set -euo pipefail

SDK_VERSION="2.0.6"
START_TIMEOUT_S=20
SCRIPT_TIMEOUT_S=60

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

# 1. The virtual environment with the pinned SDK (reused when it already has it).
has_sdk() {
    [[ -x "$py" ]] && "$py" - "$SDK_VERSION" 2>/dev/null <<'EOF'
import importlib.metadata, sys
import webexpythonsdk  # noqa: F401  (the package must import, not just be listed)
sys.exit(importlib.metadata.version("webexpythonsdk") != sys.argv[1])
EOF
}
if has_sdk; then
    echo "sdk: reusing $venv (webexpythonsdk $SDK_VERSION)"
else
    echo "sdk: installing webexpythonsdk $SDK_VERSION into $venv"
    python3 -m venv --clear "$venv" || fail "python3 -m venv failed"
    timeout 90 "$py" -m pip install --quiet --disable-pip-version-check \
        "webexpythonsdk==$SDK_VERSION" || fail "pip install webexpythonsdk==$SDK_VERSION failed"
    has_sdk || fail "webexpythonsdk $SDK_VERSION does not import after installing"
fi

# 2. The emulator.
cargo build --locked --quiet -p verdict-cli || fail "cargo build -p verdict-cli failed"
bin="$root/target/debug/verdict"
[[ -x "$bin" ]] || fail "$bin not found after the build"

token="sdk-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
"$bin" serve webex --port 0 --token "$token" --json >"$work/server.out" 2>"$work/server.err" </dev/null &
server_pid=$!

# The start-up line: one JSON object ending in a newline, within START_TIMEOUT_S.
deadline=$((SECONDS + START_TIMEOUT_S))
until [[ -s "$work/server.out" ]] && [[ "$(tail -c 1 "$work/server.out" | od -An -c | tr -d ' ')" == '\n' ]]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.err" >&2 || true
        server_pid=""
        fail "verdict serve webex exited before printing its start-up line"
    fi
    if ((SECONDS >= deadline)); then
        cat "$work/server.err" >&2 || true
        fail "verdict serve webex did not print its start-up line within ${START_TIMEOUT_S} s"
    fi
    sleep 0.1
done

read -r base_url admin_url < <("$py" - "$work/server.out" <<'EOF'
import json, sys
info = json.loads(open(sys.argv[1]).readline())
print(info["base_url"], info["admin"])
EOF
) || fail "could not parse the start-up line: $(head -c 500 "$work/server.out")"
[[ -n "${base_url:-}" && -n "${admin_url:-}" ]] || fail "start-up line lacks base_url or admin"
echo "sdk: emulator at $base_url (admin $admin_url)"

# 3. The SDK script; its status is ours. It runs in the background so that a
# SIGTERM or SIGINT to this script stops it and the server at once.
BASE_URL="$base_url" TOKEN="$token" ADMIN="$admin_url" PYTHONUNBUFFERED=1 \
    timeout "$SCRIPT_TIMEOUT_S" "$py" "$root/tests/sdk/webex_sdk.py" </dev/null &
script_pid=$!
status=0
wait "$script_pid" || status=$?
script_pid=""
if ((status == 124)); then
    echo "sdk: webex_sdk.py did not finish within ${SCRIPT_TIMEOUT_S} s" >&2
fi
if ((status != 0)) && [[ -s "$work/server.err" ]]; then
    echo "sdk: server stderr:" >&2
    tail -n 40 "$work/server.err" >&2
fi
exit "$status"
