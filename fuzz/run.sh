#!/usr/bin/env bash
# Builds every fuzz target and runs each for N seconds (default 30).
#
#   fuzz/run.sh [-t SECONDS] [-s SANITIZER] [TARGET...]
#
# The committed seed corpus (fuzz/corpus/<target>/) is only read: each run fuzzes in a
# scratch copy under a temporary directory, so new inputs never land in the repository.
# Crash inputs go to fuzz/artifacts/<target>/ (ignored). Prints executions and crashes per
# target; exits 1 if any target crashed.
#
# cargo-fuzz needs nightly compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks
# them (set here unless the caller set it).
set -uo pipefail

seconds=30
sanitizer=${FUZZ_SANITIZER:-address}
while getopts "t:s:h" opt; do
    case $opt in
        t) seconds=$OPTARG ;;
        s) sanitizer=$OPTARG ;;
        h) sed -n '2,13p' "$0"; exit 0 ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "building ${targets[*]} (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer" || exit 2

scratch=$(mktemp -d "${TMPDIR:-/tmp}/verdict-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=0
summary=()
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    log="$scratch/$target.log"
    mkdir -p "$corpus" "artifacts/$target"
    if [ -d "corpus/$target" ]; then
        cp -r "corpus/$target/." "$corpus/"
    fi
    echo "== $target: ${seconds}s"
    cargo fuzz run -s "$sanitizer" "$target" "$corpus" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    crash=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
    if [ $rc -ne 0 ]; then
        failed=1
        grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" -A2 "$log" | sed 's/^/   /'
        [ -n "$crash" ] || { echo "   (no crash input written; log follows)"; tail -20 "$log"; }
        cp "$log" "artifacts/$target/last-run.log"
        summary+=("$(printf '%-18s %12s execs  CRASH %s (log: artifacts/%s/last-run.log)' "$target" "${execs:-?}" "${crash:-?}" "$target")")
    else
        summary+=("$(printf '%-18s %12s execs  no crash' "$target" "${execs:-?}")")
    fi
done

echo
echo "== summary (${seconds}s per target, sanitizer: $sanitizer)"
printf '%s\n' "${summary[@]}"
exit $failed
