#!/usr/bin/env bash
# Run every example of verdict-client against the emulator of its API.
#
#   bash tests/examples/run.sh [EXAMPLE...]
#
# For each example: starts `verdict serve CONTRACT --port 0 --json` on 127.0.0.1, reads
# its start-up line, runs the example with the credentials the emulator accepts (within
# 60 s) and stops the server. Exits 1 when an example fails, 2 when the set-up fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
server_pid=""

stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

fail() {
    echo "examples: $*" >&2
    exit 2
}

cargo build --locked --quiet -p verdict-cli -p verdict-client --examples \
    || fail "the build failed"
target="${CARGO_TARGET_DIR:-$root/target}/debug"

# serve CONTRACT [ARG...]: stops the previous emulator, starts this one and waits for
# its start-up line.
serve() {
    stop_server
    "$target/verdict" serve "$@" --port 0 --json >"$work/out" 2>"$work/err" </dev/null &
    server_pid=$!
    for _ in $(seq 200); do
        if [[ -s "$work/out" ]] && [[ "$(tail -c 1 "$work/out" | od -An -c | tr -d ' ')" == '\n' ]]; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/err" >&2; fail "verdict serve $1 exited"; }
        sleep 0.1
    done
    fail "verdict serve $1 printed no start-up line within 20 s"
}

# field NAME: a member of the start-up line.
field() {
    python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' \
        "$work/out" "$1"
}

# run EXAMPLE [NAME=VALUE...]: runs the example with the base URL and those variables.
run() {
    local name="$1" status=0
    shift
    echo "== example $name"
    env "$@" timeout 60 "$target/examples/$name" "$(field base_url)" </dev/null || status=$?
    if ((status != 0)); then
        echo "examples: $name failed (exit $status); emulator log:" >&2
        tail -n 20 "$work/err" >&2
        exit 1
    fi
}

# wanted EXAMPLE: whether to run it (every example when none is named).
wanted() {
    ((${#selected[@]} == 0)) && return 0
    local w
    for w in "${selected[@]}"; do [[ "$w" == "$1" ]] && return 0; done
    return 1
}
selected=("$@")
token="ex-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

if wanted webex; then
    serve webex --token "$token"
    run webex WEBEX_TOKEN="$token"
fi
if wanted token_api; then
    serve token-api --token "$token"
    run token_api API_TOKEN="$token"
fi
if wanted webex_connect; then
    serve webex-connect --token "$token"
    run webex_connect WXC_SERVICE_KEY="$token"
fi
if wanted whispir; then
    serve whispir --token "$token" --cert-out "$work/whispir.pem"
    run whispir WHISPIR_API_KEY="$token" WHISPIR_TOKEN="$token" WHISPIR_CA_FILE="$work/whispir.pem"
fi
if wanted ringcentral; then
    # Tokens that live 2 s, so that the second run finds the saved one expired.
    serve ringcentral --token "$token" --token-ttl 2
    rc=(RC_CLIENT_ID=verdict-client-id RC_CLIENT_SECRET=verdict-client-secret
        RC_USERNAME=+16505550100 RC_PASSWORD=verdict-password RC_TOKEN_FILE="$work/rc-tokens.json")
    run ringcentral "${rc[@]}"
    # Again once the saved access token has expired: the run renews it with the saved
    # refresh token instead of signing in.
    sleep 2.5
    run ringcentral "${rc[@]}"
    grants="$(python3 - "$(field admin)/journal" <<'PY' | tr '\n' ' '
import json, sys, urllib.parse, urllib.request
for e in json.load(urllib.request.urlopen(sys.argv[1], timeout=10))["entries"]:
    if e["path"].endswith("/oauth/token"):
        print(dict(urllib.parse.parse_qsl(e["body"]))["grant_type"], e["status"])
PY
)"
    [[ "$grants" == "password 200 refresh_token 200 " ]] \
        || { echo "examples: token requests were: $grants" >&2; exit 1; }
    echo "token requests: $grants"
fi
echo "examples: all passed"
