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

# start_prometheus WORK PORT CHECK_NAME: checks WORK/prometheus.yml with promtool (as the check
# CHECK_NAME), starts Prometheus on 127.0.0.1:PORT with its data in WORK/tsdb (tracked), and sets
# `prom`, the URL that query, series_present and no_series ask.
start_prometheus() {
  local work=$1 port=$2
  check "$3" bash -c "promtool check config '$work/prometheus.yml' >/dev/null"
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
  track $!
  prom="http://127.0.0.1:$port"
}

query() {  # query PROMQL -> number of series in the result
  curl -sf --get "$prom/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["result"]))'
}
series_present() { [[ "$(query "$1")" -gt 0 ]]; }
no_series() { [[ "$(query "$1")" -eq 0 ]]; }

harness_finish() {  # prints the closing line and returns the test's status
  echo "${HARNESS_NAME:-test}: $passed passed, $failed failed"
  ((failed == 0))
}

# A throwaway PKI in the current directory: ca.crt/.key, server.crt/.key for 127.0.0.1 and
# localhost, client.crt/.key (CN=prometheus), all signed by the CA and valid for two days.
make_test_pki() {
  local key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  {
    # shellcheck disable=SC2086 # $key is several options
    openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca &&
      echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext &&
      openssl req $key -keyout server.key -out server.csr -subj /CN=localhost &&
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext &&
      openssl req $key -keyout client.key -out client.csr -subj /CN=prometheus &&
      openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2
  } >/dev/null 2>&1
}

# bcrypt (cost 4) of "s3cret-test-pass": a test fixture, not a secret.
# shellcheck disable=SC2016,SC2034 # a literal hash, used by the tests that source this file
test_bcrypt_hash='$2b$04$drAsDfKCDO.BE9Q.irktV.8KVHptK.T1tV656EEEaAlp.mzVVuQXi'
