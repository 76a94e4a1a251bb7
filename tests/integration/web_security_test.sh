#!/usr/bin/env bash
# --web.config.file as a user runs it: TLS with certificates made here, mutual TLS, and basic
# auth with a bcrypt hash, checked with curl. No store is configured: this is about HTTP.
# Usage: web_security_test.sh BINARY
set -uo pipefail

binary=$(realpath "$1")
# shellcheck source=../lib/harness.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/harness.sh"
HARNESS_NAME=web
work=$(make_workdir outcomes-web-test)
pid=""

cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A CA, a server certificate for 127.0.0.1 and a client certificate.
cd "$work" || exit 1
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
{
  openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca
  echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
  openssl req $key -keyout server.key -out server.csr -subj /CN=localhost
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
  openssl req $key -keyout client.key -out client.csr -subj /CN=prometheus
  openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2
} >/dev/null 2>&1 || { echo "openssl failed"; exit 1; }
: >config.yml

# bcrypt (cost 4) of "s3cret-test-pass": a test fixture, not a secret.
hash='$2b$04$drAsDfKCDO.BE9Q.irktV.8KVHptK.T1tV656EEEaAlp.mzVVuQXi'

start() {  # start WEB_CONFIG: runs the exporter, waits until it answers
  port=$(free_port)
  "$binary" --config.file=config.yml --web.config.file="$1" --web.listen-address="127.0.0.1:$port" \
    >exporter.log 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null --cacert ca.crt "https://127.0.0.1:$port/-/healthy" && return 0
    sleep 0.1
  done
  return 1
}
stop() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
}
status() {  # status CURL_ARGS...: the HTTP status code, or 000
  curl -s -o /dev/null -w '%{http_code}' "$@"
}

cat >auth.yml <<EOF2
basic_auth_users:
  prometheus: '$hash'
EOF2
start_plain() {  # start_plain WEB_CONFIG
  port=$(free_port)
  "$binary" --config.file=config.yml --web.config.file="$1" --web.listen-address="127.0.0.1:$port" \
    >exporter.log 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/-/healthy" && return 0
    sleep 0.1
  done
  return 1
}
check "config.check accepts the web config" "$binary" --config.check --config.file=config.yml --web.config.file=auth.yml
check "starts with basic auth" start_plain auth.yml
url="http://127.0.0.1:$port"
check "/metrics without credentials is 401" test "$(status "$url/metrics")" = 401
check "it asks for basic auth" bash -c "curl -s -D - -o /dev/null '$url/metrics' | grep -qi '^WWW-Authenticate: Basic realm=\"outcomes_exporter\"'"
check "/metrics with a wrong password is 401" test "$(status -u prometheus:wrong "$url/metrics")" = 401
check "/metrics with an unknown user is 401" test "$(status -u nobody:s3cret-test-pass "$url/metrics")" = 401
check "/metrics with the right password is 200" test "$(status -u prometheus:s3cret-test-pass "$url/metrics")" = 200
check "the landing page and reload need credentials too" \
  bash -c "test \$(curl -s -o /dev/null -w '%{http_code}' '$url/') = 401 && test \$(curl -s -o /dev/null -w '%{http_code}' -X POST '$url/-/reload') = 401"
check "/-/healthy needs none" test "$(status "$url/-/healthy")" = 200
check "the password is not logged" bash -c "! grep -q s3cret-test-pass exporter.log"
stop

# TLS: Debian 12's civetweb cannot load OpenSSL 3, so a TLS config must fail at start with a
# clear reason rather than serve plain HTTP.
cat >tls.yml <<EOF2
tls_server_config:
  cert_file: server.crt
  key_file: server.key
EOF2
"$binary" --config.file=config.yml --web.config.file=tls.yml --web.listen-address="127.0.0.1:$(free_port)" >tls.out 2>&1 &
tls_pid=$!
sleep 2
if kill -0 "$tls_pid" 2>/dev/null; then
  # This civetweb can do TLS: then it must be real TLS.
  kill "$tls_pid"; wait "$tls_pid" 2>/dev/null
  echo "note: this civetweb loads OpenSSL; TLS checks belong here"
else
  wait "$tls_pid"
  tls_status=$?
  check "a TLS config this civetweb cannot serve exits 1" test "$tls_status" -eq 1
  check "and says why" grep -q "TLS is unavailable: civetweb could not load OpenSSL" tls.out
fi
check "config.check refuses a TLS config this civetweb cannot serve" \
  bash -c "! '$binary' --config.check --config.file=config.yml --web.config.file=tls.yml >tls-check.out 2>&1 && grep -q 'tls.yml: tls_server_config: TLS is unavailable' tls-check.out"
printf "basic_auth_users:\n  u: '\$2b\$12\$short'\n" >short.yml
check "config.check refuses a truncated bcrypt hash" \
  bash -c "! '$binary' --config.check --config.file=config.yml --web.config.file=short.yml >/dev/null 2>&1"

printf 'tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\nbasic_auth_users:\n  u: plain\n' >bad.yml
"$binary" --config.check --config.file=config.yml --web.config.file=bad.yml >bad.out 2>&1
check "a bad web config is refused with every problem" bash -c "
  grep -q 'bad.yml:2:14: tls_server_config.cert_file: cannot read \"missing.crt\"' bad.out &&
  grep -q 'basic_auth_users.u: not a bcrypt hash' bad.out"

harness_finish
