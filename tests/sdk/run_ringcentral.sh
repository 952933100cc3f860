#!/usr/bin/env bash
# Run the real RingCentral Python SDK (ringcentral) against `verdict serve ringcentral`.
#
#   bash tests/sdk/run_ringcentral.sh
#
# Puts the pinned SDK in the shared venv target/sdk-venv (next to the Webex SDK),
# builds verdict, starts the emulator on 127.0.0.1 with 2 s access tokens, runs
# tests/sdk/ringcentral_sdk.py against it and always stops the server. Exits with the
# script's status (1 on a failed check, 2 when the set-up fails); the shared steps
# are in tests/sdk/common.sh. After the build every step has a limit, at most
# PIP_TIMEOUT_S + START_TIMEOUT_S + SCRIPT_TIMEOUT_S in all.
set -euo pipefail

SDK_PACKAGE="ringcentral"
SDK_VERSION="0.9.2"
PIP_TIMEOUT_S=60
START_TIMEOUT_S=15
SCRIPT_TIMEOUT_S=40
TOKEN_TTL_S=2

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
sdk_init
sdk_venv
sdk_build

sdk_serve ringcentral --host 127.0.0.1 --token-ttl "$TOKEN_TTL_S"

# One value per line (none may hold a newline; the password may hold spaces).
mapfile -t info < <("$py" - "$work/server.out" <<'PY'
import json, sys
info = json.loads(open(sys.argv[1]).readline())
oauth = info["oauth"]
for value in (info["origin"], info["admin"], oauth["client_id"], oauth["client_secret"],
              oauth["username"], oauth["password"], oauth["token_ttl_s"]):
    value = str(value)
    if not value or "\n" in value:
        sys.exit("bad value in the start-up line")
    print(value)
PY
) || fail "could not parse the start-up line: $(head -c 500 "$work/server.out")"
((${#info[@]} == 7)) || fail "start-up line lacks origin, admin or oauth: $(head -c 500 "$work/server.out")"
origin="${info[0]}"
[[ "$origin" == http://127.0.0.1:* ]] || fail "the emulator is not on 127.0.0.1: $origin"
[[ "${info[6]}" == "$TOKEN_TTL_S" ]] || fail "the emulator reports token_ttl_s ${info[6]}, asked for $TOKEN_TTL_S"
echo "sdk: emulator at $origin (admin ${info[1]}, access tokens live ${info[6]} s)"

sdk_run_script ringcentral_sdk.py ORIGIN="$origin" ADMIN="${info[1]}" \
    RC_CLIENT_ID="${info[2]}" RC_CLIENT_SECRET="${info[3]}" RC_USERNAME="${info[4]}" \
    RC_PASSWORD="${info[5]}" RC_TOKEN_TTL="${info[6]}"
