#!/usr/bin/env bash
# Throughput and latency of `verdict serve` (webex, ringcentral, webex-connect) under wrk,
# against a minimal hyper server.
#
# Eight cases, each measured after a warm-up with the same load:
#   baseline     the `baseline` binary of verdict-bench: 200 and a 60-byte JSON body
#   get          verdict serve webex: GET /v1/rooms/{id} of a room created at start (200)
#   404          verdict serve webex: GET /v1/rooms/nope (404)
#   429          verdict serve webex: GET /v1/rooms/{id} with X-Verdict-Fault: status=429; retry-after=1
#   rc-token     verdict serve ringcentral: POST /restapi/oauth/token, password grant (200)
#   rc-batch     verdict serve ringcentral: GET /restapi/v1.0/account/~/extension/ID1,ID2 of two
#                extensions created at start (207 multipart/mixed)
#   wxc-valid    verdict serve webex-connect: POST /resources/v1/messaging, one SMS to one
#                msisdn (200, code 7501), the requests taking turns over --wxc-keys service keys
#   wxc-invalid  the same without "destination" (400, code 7003), with the one key --token
# wrk runs with 2 threads and 64 connections (keep-alive) for a fixed time; the scripts in
# bench/wrk/ set each case's method, headers and body and print the numbers. The emulators'
# quota is raised so that no case is rate limited. Webex Connect also allows 1000 transactions
# per service key in 60 s (its contract's [emulator.transactions], code 7020, not changed by
# --quota); keys added through the admin API (POST /_verdict/tokens) each have their own, so
# the valid-message case spreads its requests over enough of them that none reaches the
# limit (see bench/README.md).
#
# The speed of a shared virtual machine drifts (by a third within tens of seconds), so every
# case is measured between two measurements of the baseline, in --rounds rounds (default 3)
# of 15 measurements each:
#   baseline, get, baseline, 404, baseline, 429, ..., baseline, wxc-invalid, baseline
# A case's ratio in a round is its requests/s over the mean of the baseline's just before and
# just after it. Each case's request is checked once with curl before the first round.
#
# Prints a table (per case: the median over the rounds of requests/s and p50, the worst p99,
# the median ratio to the baseline and the smallest and largest ratio of the rounds; whether
# the targets hold: median ratio at least 0.70, worst p99 under 10 ms) and ends with one JSON
# line {"bench":"emulator",...}. A second table gives the CPU each case used (medians of the
# server's per request; cores busy for the server, wrk and anything else) and the script warns
# when other processes were busy enough to spoil the numbers. Targets are reported, never
# asserted: the script exits 0 unless the benchmark itself fails (2), e.g. a server does not
# start or a case answers with an unexpected status.
#
# Builds what it needs in release mode, installs wrk with apt-get when it is missing, starts
# the four servers on 127.0.0.1 and always stops them (trap EXIT). With the defaults the
# measuring takes about 3 minutes (3 rounds of 15 measurements of 1 s warm-up + 3 s: 180 s,
# plus a few seconds for the starts and checks; plus the build when it is not up to date).

set -euo pipefail
export LC_ALL=C
# The wrk scripts read these; each case sets its own.
unset BENCH_TOKEN BENCH_FAULT BENCH_BASIC BENCH_USERNAME BENCH_PASSWORD BENCH_BODY BENCH_KEY BENCH_KEYS BENCH_KEY_PREFIX

usage() {
  cat <<'USAGE'
emulator.sh: requests/s and latency of `verdict serve` (webex, ringcentral, webex-connect)
against a minimal hyper server

usage: bench/emulator.sh [--duration S] [--warmup S] [--rounds N] [--connections N]
                         [--threads N] [--wxc-keys N] [--no-build]

  --duration S     seconds of measurement per case and round (default 3)
  --warmup S       seconds of warm-up before each measurement, not measured; 0 skips it
                   (default 1)
  --rounds N       rounds of measurements (default 3); each round measures baseline, get,
                   baseline, 404, baseline, ..., wxc-invalid, baseline (15 measurements), and
                   a case's ratio in a round is against the mean of the two baselines next to
                   it; the report gives medians over the rounds
  --connections N  wrk connections (default 64)
  --threads N      wrk threads (default 2)
  --wxc-keys N     Webex Connect service keys the valid-message case takes turns over, each
                   allowed 1000 messages in 60 s (default: 150 per second that case can be
                   loaded within 60 s over the rounds, see the script: 1200 with the defaults)
  --no-build       use the binaries already in target/release
USAGE
}

duration=3
warmup=1
rounds=3
connections=64
threads=2
build=1
wxc_keys=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --duration) duration="${2:-}"; shift 2 || shift ;;
    --warmup) warmup="${2:-}"; shift 2 || shift ;;
    --rounds) rounds="${2:-}"; shift 2 || shift ;;
    --connections) connections="${2:-}"; shift 2 || shift ;;
    --threads) threads="${2:-}"; shift 2 || shift ;;
    --wxc-keys) wxc_keys="${2:-}"; shift 2 || shift ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --warmup=*) warmup="${1#*=}"; shift ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --connections=*) connections="${1#*=}"; shift ;;
    --threads=*) threads="${1#*=}"; shift ;;
    --wxc-keys=*) wxc_keys="${1#*=}"; shift ;;
    --no-build) build=0; shift ;;
    *) echo "emulator.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
# Webex Connect allows 1000 transactions per key in any 60 s. 150 keys per second of load allow
# 150 000 accepted messages/s (2.5 times the most this machine reached), so the default is 150 per
# second that the valid-message case can be loaded within one 60 s window. It is loaded for
# L = warmup + duration s once per round, and a round is 15 measurements of L s each, so its
# loads start at least 15 L s apart: a 60 s window holds at most 60 / (15 L) + 1 of them
# (integer division), never more than the number of rounds, and at most 60 s of load in all.
# With the defaults (L = 4 s, 3 rounds): 2 loads, 8 s, 1200 keys; one round gives what a single
# load needs (150 L keys, 60 s at most, as before rounds).
if [[ -z "$wxc_keys" && "$duration" =~ ^[0-9]+$ && "$warmup" =~ ^[0-9]+$ && "$rounds" =~ ^[0-9]+$ ]] &&
  ((duration + warmup > 0 && rounds > 0)); then
  load=$((duration + warmup))
  loads=$((60 / (15 * load) + 1))
  ((loads < rounds)) || loads=$rounds
  wxc_keys=$((150 * (load * loads < 60 ? load * loads : 60)))
fi
for pair in "duration:$duration:1" "warmup:$warmup:0" "rounds:$rounds:1" "connections:$connections:1" "threads:$threads:1" "wxc-keys:$wxc_keys:1"; do
  IFS=: read -r name value min <<<"$pair"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < min)); then
    echo "emulator.sh: --$name must be a whole number of at least $min (got '$value')" >&2
    exit 2
  fi
done
if ((connections < threads)); then
  echo "emulator.sh: --connections must be at least --threads" >&2
  exit 2
fi

fail() {
  echo "emulator.sh: $*" >&2
  exit 2
}

# The targets (reported, not asserted).
min_ratio=0.70
max_p99_ms=10

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${CARGO_TARGET_DIR:-$root/target}/release"
token="bench-token"

# --- tools and binaries ---------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "emulator.sh: installing wrk (Debian package)" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; } ||
    fail "cannot install wrk (apt-get install -y wrk, as root)"
fi
command -v curl >/dev/null 2>&1 || fail "curl is needed to create the room and check each case"
command -v base64 >/dev/null 2>&1 || fail "base64 (coreutils) is needed for RingCentral's client credentials"
if ((build)); then
  echo "emulator.sh: building (release)" >&2
  cargo build --release -p verdict-cli --locked --quiet
  cargo build --release -p verdict-bench --bin baseline --locked --quiet
fi
[[ -x "$bin/verdict" && -x "$bin/baseline" ]] || fail "no $bin/verdict or $bin/baseline (run without --no-build)"

# --- servers --------------------------------------------------------------------------------
tmp="$(mktemp -d)"
pids=()
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits (10 s at most) for the first line of a server's stdout and prints it.
first_line() {
  local pid="$1" out="$2" i
  for ((i = 0; i < 100; i++)); do
    if [[ -s "$out" ]] && IFS= read -r line <"$out"; then
      printf '%s\n' "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# A string field of a one-line JSON object.
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"; }

"$bin/baseline" --port 0 >"$tmp/baseline.out" 2>"$tmp/baseline.err" &
pids+=($!)
line="$(first_line "${pids[-1]}" "$tmp/baseline.out")" || fail "the baseline server did not start: $(cat "$tmp/baseline.err")"
baseline_origin="$(json_field baseline "$line")"
baseline_pid="${pids[-1]}"

# Starts `verdict serve CONTRACT` on a free port of 127.0.0.1 and sets $line to the JSON line
# it prints once listening.
start_emulator() {
  "$bin/verdict" serve "$1" --port 0 --token "$token" --json --quota 100000000/1 \
    >"$tmp/$1.out" 2>"$tmp/$1.err" &
  pids+=($!)
  line="$(first_line "${pids[-1]}" "$tmp/$1.out")" || fail "verdict serve $1 did not start: $(cat "$tmp/$1.err")"
}
start_emulator webex
webex_pid="${pids[-1]}"
base_url="$(json_field base_url "$line")"
start_emulator ringcentral
rc_pid="${pids[-1]}"
rc_origin="$(json_field origin "$line")"
rc_client_id="$(json_field client_id "$line")"
rc_client_secret="$(json_field client_secret "$line")"
rc_username="$(json_field username "$line")"
rc_password="$(json_field password "$line")"
[[ -n "$rc_client_id" && -n "$rc_client_secret" && -n "$rc_username" && -n "$rc_password" ]] ||
  fail "no oauth credentials in the line of verdict serve ringcentral: $line"
rc_basic="$(printf '%s:%s' "$rc_client_id" "$rc_client_secret" | base64 | tr -d '\n')"
start_emulator webex-connect
wxc_pid="${pids[-1]}"
wxc_origin="$(json_field origin "$line")"
for origin in "$baseline_origin" "$base_url" "$rc_origin" "$wxc_origin"; do
  [[ "$origin" == http://127.0.0.1:* ]] ||
    fail "unexpected addresses: baseline '$baseline_origin', webex '$base_url', ringcentral '$rc_origin', webex-connect '$wxc_origin'"
done

# Sends one request with curl; sets $body and $status.
request() {
  local out
  out="$(curl -sS --max-time 5 -w '\n%{http_code}' "$@")" || fail "curl $* failed"
  body="${out%$'\n'*}"
  status="${out##*$'\n'}"
}

request -X POST "$base_url/rooms" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"title":"x"}'
room_id="$(json_field id "$body")"
[[ -n "$room_id" ]] || fail "creating a room answered $status: $body"

ext_ids=()
for number in 101 102; do
  request -X POST "$rc_origin/restapi/v1.0/account/~/extension" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"extensionNumber\": \"$number\"}"
  id="$(json_field id "$body")"
  [[ "$status" == 200 && -n "$id" ]] || fail "creating RingCentral extension $number answered $status: $body"
  ext_ids+=("$id")
done

# Webex Connect allows 1000 transactions per service key in 60 s (code 7020), and one
# accepted message to one address is one; --quota does not change that. Each key added
# through the admin API has a limit of its own, so the valid-message case takes turns over
# $wxc_keys keys (one curl, one connection).
wxc_key_prefix="bench-key-"
for ((k = 1; k <= wxc_keys; k++)); do
  if ((k > 1)); then echo next; fi
  printf 'url = "%s/_verdict/tokens"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "$wxc_origin"
  printf 'data = "{\\"token\\":\\"%s%d\\"}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$wxc_key_prefix" "$k"
done >"$tmp/keys.curl"
created="$(curl -sS --max-time 60 -K "$tmp/keys.curl" | grep -c '^201$')" || true
[[ "$created" == "$wxc_keys" ]] || fail "adding $wxc_keys Webex Connect keys: only $created answered 201"

# --- cases ----------------------------------------------------------------------------------
fault_429='status=429; retry-after=1'
wxc_valid_body='{"deliverychannel": "sms", "destination": [{"msisdn": ["15550100000"]}], "channels": {"sms": {"type": "1", "text": "hello"}}}'
wxc_invalid_body='{"deliverychannel": "sms", "channels": {"sms": {"type": "1", "text": "hello"}}}'
names=(baseline get 404 429 rc-token rc-batch wxc-valid wxc-invalid)
servers=(baseline webex webex webex ringcentral ringcentral webex-connect webex-connect)
labels=("baseline (hyper, 200)" "webex GET room (200)" "webex GET missing (404)" "webex GET + fault (429)"
  "ringcentral token (200)" "ringcentral batch GET (207)" "webex-connect valid (7501)" "webex-connect invalid (7003)")
urls=("$baseline_origin/v1/rooms/bench" "$base_url/rooms/$room_id" "$base_url/rooms/nope" "$base_url/rooms/$room_id"
  "$rc_origin/restapi/oauth/token" "$rc_origin/restapi/v1.0/account/~/extension/${ext_ids[0]},${ext_ids[1]}"
  "$wxc_origin/resources/v1/messaging" "$wxc_origin/resources/v1/messaging")
statuses=(200 200 404 429 200 207 200 400)
scripts=(emulator.lua emulator.lua emulator.lua emulator.lua
  ringcentral-token.lua ringcentral-batch.lua webex-connect-message.lua webex-connect-message.lua)
# What the answer that curl gets before the case must hold (a fixed string; empty: anything).
expect=("" "" "" "" '"token_type":"bearer"' '{"response":[{"status":200},{"status":200}]}'
  '"code":"7501"' '"code":"7003"')
server_pids=("$baseline_pid" "$webex_pid" "$webex_pid" "$webex_pid" "$rc_pid" "$rc_pid" "$wxc_pid" "$wxc_pid")

# Sets wrk_env (the environment of the case's wrk script) and curl_args (the same request
# for curl) for case $1.
case_request() {
  wrk_env=()
  curl_args=()
  case "$1" in
    baseline) ;;
    get | 404 | rc-batch)
      wrk_env=(BENCH_TOKEN="$token")
      curl_args=(-H "Authorization: Bearer $token")
      ;;
    429)
      wrk_env=(BENCH_TOKEN="$token" BENCH_FAULT="$fault_429")
      curl_args=(-H "Authorization: Bearer $token" -H "X-Verdict-Fault: $fault_429")
      ;;
    rc-token)
      wrk_env=(BENCH_BASIC="$rc_basic" BENCH_USERNAME="$rc_username" BENCH_PASSWORD="$rc_password")
      curl_args=(-X POST -H "Authorization: Basic $rc_basic" -H 'Content-Type: application/x-www-form-urlencoded'
        --data grant_type=password --data-urlencode "username=$rc_username" --data-urlencode "password=$rc_password")
      ;;
    wxc-valid)
      wrk_env=(BENCH_BODY="$wxc_valid_body" BENCH_KEYS="$wxc_keys" BENCH_KEY_PREFIX="$wxc_key_prefix")
      curl_args=(-X POST -H "key: ${wxc_key_prefix}1" -H 'Content-Type: application/json' --data "$wxc_valid_body")
      ;;
    wxc-invalid)
      wrk_env=(BENCH_BODY="$wxc_invalid_body" BENCH_KEY="$token")
      curl_args=(-X POST -H "key: $token" -H 'Content-Type: application/json' --data "$wxc_invalid_body")
      ;;
    *) fail "no case $1" ;;
  esac
}

cores="$(nproc)"
clk_tck="$(getconf CLK_TCK)"
TIMEFORMAT='%3U %3S'
# CPU ticks (user + system) of a process, all its threads together.
process_ticks() {
  local stat
  stat="$(<"/proc/$1/stat")"
  stat="${stat##*) }" # past "pid (name) ": field 1 is the state, 12 utime, 13 stime
  # shellcheck disable=SC2086
  set -- $stat
  echo $((${12} + ${13}))
}
# CPU ticks the whole machine spent busy (user, nice, system, irq, softirq).
machine_ticks() {
  local _cpu user nice system _idle _iowait irq softirq _rest
  read -r _cpu user nice system _idle _iowait irq softirq _rest </proc/stat
  echo $((user + nice + system + irq + softirq))
}
echo "emulator.sh: wrk -t $threads -c $connections, ${warmup} s warm-up + ${duration} s per measurement," \
  "$rounds rounds of 15 measurements; $cores cores, shared by wrk and the server under test" >&2

# Each case's request once with curl, before the first round: its status, and what the body
# must hold.
for i in "${!names[@]}"; do
  name="${names[$i]}"
  case_request "$name"
  got="$(curl -s -o "$tmp/$name.check" -w '%{http_code}' --max-time 5 "${curl_args[@]}" "${urls[$i]}")" || true
  [[ "$got" == "${statuses[$i]}" ]] ||
    fail "case $name: expected ${statuses[$i]}, got $got from ${urls[$i]}: $(head -c 300 "$tmp/$name.check")"
  if [[ -n "${expect[$i]}" ]] && ! grep -qF -- "${expect[$i]}" "$tmp/$name.check"; then
    fail "case $name: the answer lacks ${expect[$i]}: $(head -c 300 "$tmp/$name.check")"
  fi
done

# wrk with case $1's script and environment (case_request) for $2 seconds.
run() {
  env "${wrk_env[@]}" wrk -t "$threads" -c "$connections" -d "${2}s" --latency \
    -s "$root/bench/wrk/${scripts[$1]}" "${urls[$1]}"
}

declare -A result
# Measures case $1 (an index of names) once, after its warm-up, and keeps the numbers as
# result[$2.*], $2 naming the measurement (round and case); fails on unexpected statuses.
measure() {
  local i="$1" tag="$2" name="${names[$1]}" kv out requests non2xx expected_non2xx hint
  local server_before machine_before start_ns wall_ns server_ticks busy_ticks wrk_user wrk_sys
  case_request "$name"
  if ((warmup > 0)); then run "$i" "$warmup" >"$tmp/$tag.warmup" 2>&1 || fail "wrk failed: $(cat "$tmp/$tag.warmup")"; fi
  # CPU time over the measurement: the server's, wrk's and the whole machine's.
  server_before="$(process_ticks "${server_pids[$i]}")"
  machine_before="$(machine_ticks)"
  start_ns="$(date +%s%N)"
  { time run "$i" "$duration" >"$tmp/$tag.wrk" 2>&1; } 2>"$tmp/$tag.time" || fail "wrk failed: $(cat "$tmp/$tag.wrk")"
  wall_ns=$(($(date +%s%N) - start_ns))
  server_ticks=$(($(process_ticks "${server_pids[$i]}") - server_before))
  busy_ticks=$(($(machine_ticks) - machine_before))
  out="$(grep '^wrk-result ' "$tmp/$tag.wrk")" || fail "no result from wrk: $(cat "$tmp/$tag.wrk")"
  for kv in ${out#wrk-result }; do result["$tag.${kv%%=*}"]="${kv#*=}"; done
  requests="${result[$tag.requests]}"
  ((requests > 0)) || fail "case $name ($tag): no request completed"
  read -r wrk_user wrk_sys <"$tmp/$tag.time"
  read -r result["$tag.server_cores"] result["$tag.wrk_cores"] result["$tag.other_cores"] result["$tag.server_us_per_request"] < <(
    awk -v st="$server_ticks" -v mt="$busy_ticks" -v hz="$clk_tck" -v wall="$wall_ns" -v wu="$wrk_user" -v ws="$wrk_sys" \
      -v n="$requests" 'BEGIN {
        s = wall / 1e9; server = st / hz / s; w = (wu + ws) / s; other = mt / hz / s - server - w
        printf "%.2f %.2f %.2f %.1f\n", server, w, (other < 0 ? 0 : other), st / hz * 1e6 / n }'
  )

  non2xx="${result[$tag.non_2xx_3xx]}"
  if ((statuses[i] < 400)); then expected_non2xx=0; else expected_non2xx="$requests"; fi
  if ((non2xx != expected_non2xx)); then
    hint=""
    [[ "$name" == wxc-valid ]] && hint=" (7020, the transaction limit of a key? try a larger --wxc-keys)"
    fail "case $name ($tag): $non2xx of $requests answers were not 2xx/3xx (expected $expected_non2xx)$hint"
  fi
  result["$tag.socket_errors"]=$((result[$tag.connect] + result[$tag.read] + result[$tag.write] + result[$tag.timeout]))
  read -r result["$tag.rps"] result["$tag.p50_ms"] result["$tag.p99_ms"] result["$tag.max_ms"] < <(
    awk -v n="$requests" -v us="${result[$tag.duration_us]}" -v p50="${result[$tag.p50_us]}" -v p99="${result[$tag.p99_us]}" \
      -v max="${result[$tag.max_us]}" 'BEGIN { printf "%.1f %.3f %.3f %.3f\n", n / (us / 1e6), p50 / 1000, p99 / 1000, max / 1000 }'
  )
}

# Round r: baseline (tag rR.b0), then each case (rR.NAME) followed by the baseline again
# (rR.bJ, J the case's index), so that every case has a baseline just before and just after.
for ((r = 1; r <= rounds; r++)); do
  measure 0 "r$r.b0"
  echo "emulator.sh: round $r/$rounds: baseline ${result[r$r.b0.rps]} req/s" >&2
  for ((j = 1; j < ${#names[@]}; j++)); do
    name="${names[$j]}"
    measure "$j" "r$r.$name"
    measure 0 "r$r.b$j"
    ratio="$(awk -v a="${result[r$r.$name.rps]}" -v b1="${result[r$r.b$((j - 1)).rps]}" -v b2="${result[r$r.b$j.rps]}" \
      'BEGIN { printf "%.3f", a / ((b1 + b2) / 2) }')"
    result["$name.ratios"]+="${result[$name.ratios]:+ }$ratio"
    echo "emulator.sh: round $r/$rounds: $name ${result[r$r.$name.rps]} req/s, $ratio of the baseline around it;" \
      "baseline ${result[r$r.b$j.rps]} req/s" >&2
  done
done

# --- report ---------------------------------------------------------------------------------
# The median (the mean of the two middle values for an even count), smallest, largest and sum
# of the numbers $2..., each printed with the printf format $1.
summary() {
  awk -v fmt="$1" 'BEGIN {
    n = ARGC - 1
    for (i = 1; i <= n; i++) { v[i] = ARGV[i] + 0; sum += v[i] }
    for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
    med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf fmt " " fmt " " fmt " " fmt "\n", med, v[1], v[n], sum }' "${@:2}"
}
# Sets tags to the measurements of case $1 (an index of names): one per round for a case, all
# of the baseline's for the baseline.
case_tags() {
  local r k
  tags=()
  for ((r = 1; r <= rounds; r++)); do
    if (($1 == 0)); then
      for ((k = 0; k < ${#names[@]}; k++)); do tags+=("r$r.b$k"); done
    else
      tags+=("r$r.${names[$1]}")
    fi
  done
}
# summary (format $2) of field $1 over the measurements in tags.
field_summary() {
  local t values=()
  for t in "${tags[@]}"; do values+=("${result[$t.$1]}"); done
  summary "$2" "${values[@]}"
}

yes_no() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo no; fi; }
met() { [[ "$1" == yes ]] && echo met || echo "NOT met"; }
tf() { [[ "$1" == yes ]] && echo true || echo false; }
all_ratio=yes
all_p99=yes
max_other=0
for i in "${!names[@]}"; do
  name="${names[$i]}"
  case_tags "$i"
  read -r result["$name.rps"] base_min base_max _ < <(field_summary rps %.1f)
  [[ "$name" == baseline ]] && base_rps_range="$base_min-$base_max"
  read -r result["$name.p50_ms"] _ _ _ < <(field_summary p50_ms %.3f)
  read -r _ _ result["$name.p99_ms"] _ < <(field_summary p99_ms %.3f)
  read -r _ _ result["$name.max_ms"] _ < <(field_summary max_ms %.3f)
  read -r result["$name.requests"] _ _ _ < <(field_summary requests %.0f)
  read -r _ _ _ result["$name.socket_errors"] < <(field_summary socket_errors %.0f)
  read -r _ _ other _ < <(field_summary other_cores %.2f)
  max_other="$(awk -v a="$max_other" -v b="$other" 'BEGIN { print (b > a ? b : a) }')"
  for field in server_cores wrk_cores other_cores; do
    read -r result["$name.$field"] _ _ _ < <(field_summary "$field" %.2f)
  done
  read -r result["$name.server_us_per_request"] _ _ _ < <(field_summary server_us_per_request %.1f)
  if [[ "$name" == baseline ]]; then
    # The baseline against itself: 1 in every round.
    result["$name.ratios"]=""
    for ((r = 1; r <= rounds; r++)); do result["$name.ratios"]+="${result[$name.ratios]:+ }1.000"; done
  fi
  # shellcheck disable=SC2086 # the ratios are words
  read -r result["$name.ratio"] result["$name.ratio_min"] result["$name.ratio_max"] _ < <(summary %.3f ${result[$name.ratios]})
done

echo
echo "verdict serve (webex, ringcentral, webex-connect) vs a minimal hyper server: wrk -t $threads -c $connections, ${duration} s per measurement after ${warmup} s warm-up"
echo "($cores cores, shared by wrk and the server under test; $rounds rounds, each case between two baseline measurements;"
echo " targets: median ratio >= $min_ratio, worst p99 < ${max_p99_ms} ms)"
echo "requests/s, p50: medians over the rounds (the baseline's over its $((${#names[@]} * rounds)) measurements); p99: the worst round;"
echo "ratio: median over the rounds of requests/s / the mean of the baselines just before and after; range: smallest-largest"
echo
printf '%-28s %11s %8s %8s %7s %12s %12s %12s\n' "case" "requests/s" "p50 ms" "p99 ms" "ratio" "ratio range" "rps >= 70 %" "p99 < 10 ms"
json_cases=""
for i in "${!names[@]}"; do
  name="${names[$i]}"
  rps="${result[$name.rps]}"
  p99="${result[$name.p99_ms]}"
  ratio="${result[$name.ratio]}"
  p99_ok="$(yes_no "$p99 < $max_p99_ms")"
  [[ "$p99_ok" == yes ]] || all_p99=no
  if [[ "$name" == baseline ]]; then
    ratio_ok="-"
    range="-"
  else
    ratio_ok="$(yes_no "$ratio >= $min_ratio")"
    [[ "$ratio_ok" == yes ]] || all_ratio=no
    range="${result[$name.ratio_min]}-${result[$name.ratio_max]}"
  fi
  [[ "$name" == get ]] && get_ratio="$ratio" get_ratio_met="$ratio_ok"
  printf '%-28s %11s %8s %8s %7s %12s %12s %12s\n' "${labels[$i]}" "$rps" "${result[$name.p50_ms]}" "$p99" \
    "$ratio" "$range" "$ratio_ok" "$p99_ok"
  ratios="${result[$name.ratios]}"
  json_cases+="$(printf '%s{"case":"%s","server":"%s","status":%s,"requests":%s,"requests_per_s":%s,"p50_ms":%s,"p99_ms":%s,"max_ms":%s,"ratio_to_baseline":%s,"ratio_min":%s,"ratio_max":%s,"ratios":[%s],"socket_errors":%s,"server_cpu_us_per_request":%s,"server_cores":%s,"wrk_cores":%s,"other_cores":%s}' \
    "${json_cases:+,}" "$name" "${servers[$i]}" "${statuses[$i]}" "${result[$name.requests]}" "$rps" "${result[$name.p50_ms]}" "$p99" \
    "${result[$name.max_ms]}" "$ratio" "${result[$name.ratio_min]}" "${result[$name.ratio_max]}" "${ratios// /,}" \
    "${result[$name.socket_errors]}" "${result[$name.server_us_per_request]}" "${result[$name.server_cores]}" \
    "${result[$name.wrk_cores]}" "${result[$name.other_cores]}")"
done
echo
echo "baseline requests/s over its $((${#names[@]} * rounds)) measurements: $base_rps_range (smallest-largest: how much the machine's speed moved)"
echo
echo "CPU during each case (medians over its measurements of the cores busy on average; \"other\" is everything but the"
echo "server and wrk; socket errors: all its measurements together):"
printf '%-28s %16s %13s %10s %10s %14s\n' "case" "server us/req" "server cores" "wrk cores" "other" "socket errors"
for i in "${!names[@]}"; do
  name="${names[$i]}"
  printf '%-28s %16s %13s %10s %10s %14s\n' "${labels[$i]}" "${result[$name.server_us_per_request]}" \
    "${result[$name.server_cores]}" "${result[$name.wrk_cores]}" "${result[$name.other_cores]}" "${result[$name.socket_errors]}"
done
quiet="$(yes_no "$max_other < 0.2")"
echo
echo "GET of a room: $get_ratio of the baseline's requests/s (median of $rounds rounds, ${result[get.ratio_min]}-${result[get.ratio_max]}; target >= $min_ratio): $(met "$get_ratio_met")"
echo "every emulator case (webex 404 and 429, ringcentral, webex-connect) too: $(met "$all_ratio")"
echo "p99 < ${max_p99_ms} ms in every case and round: $(met "$all_p99")"
if [[ "$quiet" == no ]]; then
  echo "WARNING: other processes kept up to $max_other cores busy during a measurement; run again on a quiet machine"
fi
printf '{"bench":"emulator","wrk_threads":%s,"connections":%s,"duration_s":%s,"warmup_s":%s,"rounds":%s,"cores":%s,"quiet":%s,"wxc_keys":%s,"cases":[%s],"targets":{"min_ratio":%s,"max_p99_ms":%s,"get_ratio":%s,"get_ratio_met":%s,"all_ratio_met":%s,"p99_met":%s}}\n' \
  "$threads" "$connections" "$duration" "$warmup" "$rounds" "$cores" "$(tf "$quiet")" "$wxc_keys" "$json_cases" "$min_ratio" "$max_p99_ms" \
  "$get_ratio" "$(tf "$get_ratio_met")" "$(tf "$all_ratio")" "$(tf "$all_p99")"
