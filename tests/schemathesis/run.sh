#!/usr/bin/env bash
# Run schemathesis against the OpenAPI document of each of the five emulators, and of the
# two example contracts (examples/contracts/github.toml and slack.toml).
#
#   bash tests/schemathesis/run.sh [CONTRACT...]
#
# Puts the pinned schemathesis in its own venv target/schemathesis-venv (beside the SDK
# venv, so that neither's pins move the other's), builds verdict, and for each contract
# starts `verdict serve CONTRACT --port 0 --json`, runs `schemathesis run` on its
# /_verdict/openapi.json with every check and the stateful phase, and stops the server.
# Whispir is HTTPS-only: its document is read from the TLS origin and its self-signed
# certificate (--cert-out) is the CA schemathesis trusts. RingCentral is called with an
# access token from its own token endpoint (password grant). The checks switched off and
# the statuses excepted are in tests/schemathesis/schemathesis.toml, each with its reason.
#
# Prints one summary line per contract; exits 1 when any contract fails, 2 when the
# set-up fails. The shared steps are in tests/sdk/common.sh.
set -euo pipefail

SDK_PACKAGE="schemathesis"
SDK_VERSION="4.32.5"
PIP_TIMEOUT_S=180
START_TIMEOUT_S=20
SCRIPT_TIMEOUT_S=0 # unused: each contract has its own limits below
# Per contract: at most MAX_EXAMPLES cases per operation and phase, and MAX_TIME_S for
# the whole run of schemathesis (RUN_TIMEOUT_S stops one that overruns it).
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-25}"
MAX_TIME_S="${ST_MAX_TIME_S:-35}"
RUN_TIMEOUT_S=$((MAX_TIME_S + 60))
# A fixed seed, so that CI draws the same cases each run (ST_SEED=random explores anew).
SEED="${ST_SEED:-20261202}"
seed_args=(--seed "$SEED")
[[ "$SEED" == random ]] && seed_args=()
CONTRACTS=(webex whispir ringcentral token-api webex-connect
    examples/contracts/github.toml examples/contracts/slack.toml)
((${#@} == 0)) || CONTRACTS=("$@")

# shellcheck source-path=SCRIPTDIR source=../sdk/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sdk/common.sh"
sdk_init
venv="$root/target/schemathesis-venv"
py="$venv/bin/python"
sdk_venv
sdk_build
config="$root/tests/schemathesis/schemathesis.toml"
[[ -f "$config" ]] || fail "$config is missing"

# Stops the server sdk_serve started (the EXIT trap stops one left running).
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}

# The start-up line's fields, one a line: openapi URL, token, TLS origin (or "-"), and
# the OAuth client id, secret, user name and password ("-" each for a contract without
# a token endpoint, whose line has "oauth": null).
startup() {
    "$py" - "$work/server.out" <<'PY'
import json, sys
info = json.loads(open(sys.argv[1]).readline())
o = info["oauth"] or {}
for value in (info["openapi"], info["token"], info["tls_origin"] or "-",
              o.get("client_id", "-"), o.get("client_secret", "-"), o.get("username", "-"),
              o.get("password", "-")):
    value = str(value)
    if not value or "\n" in value:
        sys.exit("bad value in the start-up line")
    print(value)
PY
}

# rc_token ORIGIN CLIENT_ID SECRET USER PASSWORD: an access token from RingCentral's
# token endpoint (password grant, client credentials in Basic auth).
rc_token() {
    "$py" - "$@" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
origin, client, secret, user, password = sys.argv[1:]
form = urllib.parse.urlencode({"grant_type": "password", "username": user, "password": password})
basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
req = urllib.request.Request(f"{origin}/restapi/oauth/token", data=form.encode(), headers={
    "Authorization": f"Basic {basic}",
    "Content-Type": "application/x-www-form-urlencoded",
})
with urllib.request.urlopen(req, timeout=10) as answer:
    print(json.load(answer)["access_token"])
PY
}

failed=()
summaries=()
for contract in "${CONTRACTS[@]}"; do
    extra=()
    [[ "$contract" == whispir ]] && extra=(--cert-out "$work/whispir.pem")
    # sdk_serve waits for a full line in server.out: empty it, so that the last
    # contract's line is not taken for this one's.
    : >"$work/server.out"
    # A quota no run reaches: the contracts' own quotas would answer most cases with 429.
    served="$contract"
    if [[ "$contract" == webex-connect ]]; then
        # Its transaction quota ([emulator.transactions], 1000 a minute per key) is not a
        # --quota: serve a copy of the contract whose quota no run reaches either.
        served="$work/webex-connect.toml"
        sed 's/^requests = 1000$/requests = 100000000/' "$root/contracts/webex-connect.toml" >"$served"
        grep -q '^requests = 100000000$' "$served" || fail "webex-connect: no transaction quota to raise"
    fi
    sdk_serve "$served" --quota 1000000/60 "${extra[@]}"
    mapfile -t info < <(startup) || fail "could not parse the start-up line: $(head -c 500 "$work/server.out")"
    ((${#info[@]} == 7)) || fail "$contract: the start-up line lacks a field: $(head -c 500 "$work/server.out")"
    url="${info[0]}"
    token="${info[1]}"
    tls=(--tls-verify true)
    case "$contract" in
        whispir)
            [[ "${info[2]}" == https://* ]] || fail "whispir: no TLS origin in the start-up line"
            url="${info[2]}/_verdict/openapi.json"
            tls=(--tls-verify "$work/whispir.pem")
            auth=(-H "Authorization: Bearer $token" -H "x-api-key: $token")
            ;;
        ringcentral)
            origin="${url%/_verdict/openapi.json}"
            token="$(rc_token "$origin" "${info[3]}" "${info[4]}" "${info[5]}" "${info[6]}")" \
                || fail "ringcentral: no access token from its token endpoint"
            auth=(-H "Authorization: Bearer $token")
            ;;
        webex-connect) auth=(-H "key: $token") ;;
        *) auth=(-H "Authorization: Bearer $token") ;;
    esac
    # Checks off for one contract: given on the command line, where `--checks all` would
    # override the config file. The reasons are in schemathesis.toml beside its project.
    excluded=()
    [[ "$contract" == */slack.toml ]] && excluded=(--exclude-checks ignored_auth,negative_data_rejection,missing_required_header)
    echo "== schemathesis: $contract ($url)"
    status=0
    # In the scratch directory: schemathesis keeps its example database and cache there.
    (cd "$work" && SCHEMATHESIS_HOOKS="$root/tests/schemathesis/hooks.py" timeout "$RUN_TIMEOUT_S" "$venv/bin/schemathesis" --config-file "$config" \
        run "$url" --checks all --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME_S" --workers 1 "${seed_args[@]}" \
        "${excluded[@]}" "${tls[@]}" "${auth[@]}" --no-color) >"$work/st.log" 2>&1 </dev/null || status=$?
    cat "$work/st.log"
    stop_server
    line="$(grep -E '^=+ .* in [0-9.]+s =+$' "$work/st.log" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')" || true
    ops="$(grep -E '^ +Tested: ' "$work/st.log" | tail -n 1 | awk '{print $2}')" || true
    cases="$(grep -A1 -E '^Test cases:' "$work/st.log" | tail -n 1 | sed 's/^ *//')" || true
    if ((status == 124)); then
        line="stopped after ${RUN_TIMEOUT_S} s"
    fi
    if ((status == 0)); then
        summaries+=("schemathesis: $contract: passed: ${ops:-?} operations; ${cases:-?}; ${line:-no summary}")
    else
        failed+=("$contract")
        summaries+=("schemathesis: $contract: FAILED (exit $status): ${ops:-?} operations; ${cases:-?}; ${line:-no summary}")
    fi
done

printf '%s\n' "${summaries[@]}"
if ((${#failed[@]} > 0)); then
    echo "schemathesis: failed: ${failed[*]}" >&2
    exit 1
fi
