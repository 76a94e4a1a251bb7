# Shared by the shell tests: named checks with a closing "NAME: N passed, M failed" line,
# free loopback ports, polling, and cleanup of the processes a test started (by PID).
# Source it, set HARNESS_NAME, start processes with `track $!`, end with `harness_finish`.

passed=0
failed=0
pids=()

check() {  # check NAME COMMAND...: one behaviour, reported by name
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAIL: $name"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() {  # wait_for SECONDS COMMAND...: polls until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.2
  done
}

track() {  # track PID: stopped by stop_tracked
  pids+=("$1")
}

stop_tracked() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  pids=()
}

# A work folder under /tmp that the postgres user can reach when the test runs as root.
make_workdir() {  # make_workdir PREFIX
  local dir
  dir=$(mktemp -d "/tmp/$1-XXXXXX")
  chmod 755 "$dir"
  echo "$dir"
}

harness_finish() {  # prints the closing line and returns the test's status
  echo "${HARNESS_NAME:-test}: $passed passed, $failed failed"
  ((failed == 0))
}
