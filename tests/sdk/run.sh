#!/usr/bin/env bash
# Run the real Webex Python SDK (webexpythonsdk) against `verdict serve webex`.
#
#   bash tests/sdk/run.sh
#
# Puts the pinned SDK in the shared venv target/sdk-venv, builds verdict, starts the
# emulator on 127.0.0.1 with a random token, runs tests/sdk/webex_sdk.py against it
# and always stops the server. Exits with the script's status (1 on a failed check,
# 2 when the set-up fails); the shared steps are in tests/sdk/common.sh.
set -euo pipefail

SDK_PACKAGE="webexpythonsdk"
SDK_VERSION="2.0.6"
PIP_TIMEOUT_S=90
START_TIMEOUT_S=20
SCRIPT_TIMEOUT_S=60

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
sdk_init
sdk_venv
sdk_build

token="sdk-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
sdk_serve webex --token "$token"

read -r base_url admin_url < <("$py" - "$work/server.out" <<'PY'
import json, sys
info = json.loads(open(sys.argv[1]).readline())
print(info["base_url"], info["admin"])
PY
) || fail "could not parse the start-up line: $(head -c 500 "$work/server.out")"
[[ -n "${base_url:-}" && -n "${admin_url:-}" ]] || fail "start-up line lacks base_url or admin"
echo "sdk: emulator at $base_url (admin $admin_url)"

sdk_run_script webex_sdk.py BASE_URL="$base_url" TOKEN="$token" ADMIN="$admin_url"
