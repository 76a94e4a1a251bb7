#!/usr/bin/env bash
# scripts/demo keeps running until --duration, whatever answers late: it starts everything,
# prints status lines (the first ones usually before Prometheus answers), and stops only when
# the duration is over, then stops everything it started. Regression test for the demo that
# stopped after its first status line because Prometheus had not answered yet.
#
# Usage: tests/deploy/demo_test.sh BUILD_DIR [DURATION_SECONDS]
#   BUILD_DIR holds outcomes_exporter and tools/generator/outcomes_generator (built already).
# Ends with `demo: N passed, M failed`.
set -uo pipefail

build_dir=$(cd -- "${1:?usage: demo_test.sh BUILD_DIR [DURATION_SECONDS]}" && pwd -P)
duration=${2:-60}
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)

work=$(mktemp -d)
# As root the demo's PostgreSQL runs as the postgres user, which must reach the store's folder.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Prometheus answers late, as on a loaded machine: it starts 15 s after the demo's first status
# round (which writes metrics.txt), however long the start took before that.
cat >"$work/late-prometheus" <<WRAPPER
#!/bin/sh
for _ in \$(seq 1 600); do
  [ -e "$work/demo/metrics.txt" ] && break
  sleep 1
done
sleep 15
exec prometheus "\$@"
WRAPPER
chmod +x "$work/late-prometheus"

# Every line of the demo's output with the second it was printed at. On a loaded machine the
# start (PostgreSQL, the history, four servers) takes a while: allow it 6 minutes on top.
BUILD_DIR=$build_dir DEMO_DIR="$work/demo" PROMETHEUS="$work/late-prometheus" \
  timeout --signal=INT --kill-after=30 $((duration + 360)) \
  "$repo/scripts/demo" --no-build --duration "$duration" --port "$port" --history-days 2 </dev/null 2>&1 |
  while IFS= read -r line; do printf '%(%s)T %s\n' -1 "$line"; done >"$work/output"
status=${PIPESTATUS[0]}

passed=0
failed=0
check() {  # check NAME CONDITION_STATUS [DETAIL]
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
    echo "ok: $1"
  else
    failed=$((failed + 1))
    echo "FAIL: $1${3:+ ($3)}"
  fi
}
at() {  # at PATTERN: the second the first output line matching PATTERN was printed at
  awk -v pattern="$1" '{ line = $0; sub(/^[0-9]+ /, "", line) } line ~ pattern { print $1; exit }' "$work/output"
}

check "the demo exits 0" "$([[ $status -eq 0 ]]; echo $?)" "exit status $status"
running=$(at '^Press Ctrl-C to stop')
stopping=$(at '^== stopping')
check "the demo started everything" "$([[ -n "$running" ]]; echo $?)"
check "the demo stopped by itself" "$([[ -n "$stopping" ]]; echo $?)"
if [[ -n "$running" && -n "$stopping" ]]; then
  ran=$((stopping - running))
  # One second of slack: the two times are whole seconds read at different moments.
  check "status lines for the whole --duration ($duration s)" "$([[ $ran -ge $((duration - 1)) ]]; echo $?)" "ran $ran s"
  # A late answer costs at most the curl timeouts (5 s each) of the last round.
  check "stops soon after --duration" "$([[ $ran -le $((duration + 45)) ]]; echo $?)" "ran $ran s"
fi
status_lines=$(grep -cE '^[0-9]+ [0-9:]{8}  (recommendations=|/metrics did not answer)' "$work/output")
alert_lines=$(grep -cE '^[0-9]+ +firing alerts: ' "$work/output")
late_lines=$(grep -cE '^[0-9]+ +firing alerts: unknown' "$work/output")
answered_lines=$(grep -cE '^[0-9]+ +firing alerts: [^u]' "$work/output")
# One line every 10 s; a loaded machine may make rounds slower, never fewer than two a minute.
check "status lines printed" "$([[ $status_lines -ge $((duration / 30 + 1)) ]]; echo $?)" "$status_lines lines"
check "firing alerts lines printed" "$([[ $alert_lines -ge 1 ]]; echo $?)" "$alert_lines lines"
check "went on while Prometheus did not answer" "$([[ $late_lines -ge 1 ]]; echo $?)" "$late_lines lines"
check "showed the alerts once Prometheus answered" "$([[ $answered_lines -ge 1 ]]; echo $?)" "$answered_lines lines"
# Connection refused: the sidecar the demo started is gone (its port may linger in TIME_WAIT).
check "nothing listens on the sidecar's port after the demo" \
  "$(python3 -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)' "$port" 2>/dev/null; echo $?)"

if [[ $failed -gt 0 ]]; then
  echo "--- the demo's output (second, line):"
  cat "$work/output"
  for log in "$work"/demo/*.log; do
    [[ -f "$log" ]] && { echo "--- $log (last lines)"; tail -n 20 "$log"; }
  done
fi
echo "demo: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
