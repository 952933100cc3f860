# shellcheck shell=bash
# Shared steps of the SDK runners (tests/sdk/run*.sh). Source it; do not run it.
#
# The runner sets these, then calls sdk_init, sdk_venv, sdk_build, sdk_serve and
# sdk_run_script in that order:
#   SDK_PACKAGE       pip package to pin (its import name must be the same)
#   SDK_VERSION       the pinned version
#   PIP_TIMEOUT_S     limit for pip install
#   START_TIMEOUT_S   limit for the emulator's start-up line
#   SCRIPT_TIMEOUT_S  limit for the Python script
# Exit status: the Python script's (1 on a failed check), 2 when the set-up fails,
# 130 on SIGINT, 143 on SIGTERM. The server is stopped in every case.
#
# Globals set here: root, venv, py, work (its server.out and server.err hold the
# emulator's output), bin, server_pid, script_pid.

# Checks the settings, moves to the repository root, makes the scratch directory
# and installs the traps.
sdk_init() {
    : "${SDK_PACKAGE:?}" "${SDK_VERSION:?}" "${PIP_TIMEOUT_S:?}" "${START_TIMEOUT_S:?}" "${SCRIPT_TIMEOUT_S:?}"
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    cd "$root" || fail "cannot enter $root"
    venv="$root/target/sdk-venv"
    py="$venv/bin/python"
    work="$(mktemp -d)"
    server_pid=""
    script_pid=""
    trap sdk_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# EXIT trap: stops the script and the server, removes the scratch directory and
# keeps the exit status.
sdk_stop() {
    local status=$?
    if [[ -n "$script_pid" ]] && kill -0 "$script_pid" 2>/dev/null; then
        kill -TERM "$script_pid" 2>/dev/null || true
        wait "$script_pid" 2>/dev/null || true
    fi
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        # Up to 5 s for a clean stop, then SIGKILL.
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

# A set-up failure: message on stderr, exit 2.
fail() {
    echo "sdk: $*" >&2
    exit 2
}

# True when the venv imports the package at the pinned version.
sdk_installed() {
    [[ -x "$py" ]] && "$py" - "$SDK_PACKAGE" "$SDK_VERSION" 2>/dev/null <<'EOF'
import importlib, importlib.metadata, sys
importlib.import_module(sys.argv[1])  # listed is not enough; it has to import
sys.exit(importlib.metadata.version(sys.argv[1]) != sys.argv[2])
EOF
}

# The pinned SDK in target/sdk-venv. The venv is shared by the runners, so it is
# made only when missing or broken and the package goes in beside the others.
sdk_venv() {
    if sdk_installed; then
        echo "sdk: reusing $venv ($SDK_PACKAGE $SDK_VERSION)"
        return 0
    fi
    echo "sdk: installing $SDK_PACKAGE $SDK_VERSION into $venv"
    if ! [[ -x "$py" ]] || ! "$py" -c 'import sys' 2>/dev/null; then
        python3 -m venv --clear "$venv" || fail "python3 -m venv failed"
    fi
    timeout "$PIP_TIMEOUT_S" "$py" -m pip install --quiet --disable-pip-version-check \
        "$SDK_PACKAGE==$SDK_VERSION" || fail "pip install $SDK_PACKAGE==$SDK_VERSION failed"
    sdk_installed || fail "$SDK_PACKAGE $SDK_VERSION does not import after installing"
}

# Builds the verdict binary and sets bin.
sdk_build() {
    cargo build --locked --quiet -p verdict-cli || fail "cargo build -p verdict-cli failed"
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/verdict"
    [[ -x "$bin" ]] || fail "$bin not found after the build"
}

# sdk_serve CONTRACT [ARG...]: starts `verdict serve CONTRACT ARG... --port 0 --json`
# in the background and waits up to START_TIMEOUT_S for its start-up line (one JSON
# object and a newline) in $work/server.out.
sdk_serve() {
    local what="verdict serve $1" deadline
    "$bin" serve "$@" --port 0 --json >"$work/server.out" 2>"$work/server.err" </dev/null &
    server_pid=$!
    deadline=$((SECONDS + START_TIMEOUT_S))
    until [[ -s "$work/server.out" ]] && [[ "$(tail -c 1 "$work/server.out" | od -An -c | tr -d ' ')" == '\n' ]]; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            cat "$work/server.err" >&2 || true
            server_pid=""
            fail "$what exited before printing its start-up line"
        fi
        if ((SECONDS >= deadline)); then
            cat "$work/server.err" >&2 || true
            fail "$what did not print its start-up line within ${START_TIMEOUT_S} s"
        fi
        sleep 0.1
    done
}

# sdk_run_script SCRIPT [NAME=VALUE...]: runs tests/sdk/SCRIPT with those variables
# added to its environment, within SCRIPT_TIMEOUT_S, and exits with its status. It
# runs in the background so that SIGINT or SIGTERM stops it and the server at once.
sdk_run_script() {
    local script="$1" status=0
    shift
    env "$@" PYTHONUNBUFFERED=1 \
        timeout "$SCRIPT_TIMEOUT_S" "$py" "$root/tests/sdk/$script" </dev/null &
    script_pid=$!
    wait "$script_pid" || status=$?
    script_pid=""
    if ((status == 124)); then
        echo "sdk: $script did not finish within ${SCRIPT_TIMEOUT_S} s" >&2
    fi
    if ((status != 0)) && [[ -s "$work/server.err" ]]; then
        echo "sdk: server stderr:" >&2
        tail -n 40 "$work/server.err" >&2
    fi
    exit "$status"
}
