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
hog=""

cleanup() {
  [[ -n "$hog" ]] && kill "$hog" 2>/dev/null
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A CA, a server certificate for 127.0.0.1 and a client certificate.
cd "$work" || exit 1
make_test_pki || { echo "openssl failed"; exit 1; }
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
: >config.yml

hash=$test_bcrypt_hash

start() {  # start WEB_CONFIG SCHEME [CURL_ARGS...]: runs the exporter, waits until it answers
  local web=$1 scheme=$2
  shift 2
  port=$(free_port)
  url="$scheme://127.0.0.1:$port"
  "$binary" --config.file=config.yml --web.config.file="$web" --web.listen-address="127.0.0.1:$port" \
    >exporter.log 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "$@" "$url/-/healthy" && return 0
    sleep 0.1
  done
  return 1
}
tls_config() {  # tls_config FILE [SETTING...]: server.crt and server.key, plus settings
  local file=$1
  shift
  {
    printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'
    (($# == 0)) || printf '  %s\n' "$@"
  } >"$file"
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
check "config.check accepts the web config" "$binary" --config.check --config.file=config.yml --web.config.file=auth.yml
check "starts with basic auth" start auth.yml http
check "/metrics without credentials is 401" test "$(status "$url/metrics")" = 401
check "it asks for basic auth" bash -c "curl -s -D - -o /dev/null '$url/metrics' | grep -qi '^WWW-Authenticate: Basic realm=\"outcomes_exporter\"'"
check "/metrics with a wrong password is 401" test "$(status -u prometheus:wrong "$url/metrics")" = 401
check "/metrics with an unknown user is 401" test "$(status -u nobody:s3cret-test-pass "$url/metrics")" = 401
check "/metrics with the right password is 200" test "$(status -u prometheus:s3cret-test-pass "$url/metrics")" = 200
check "the landing page and reload need credentials too" \
  bash -c "test \$(curl -s -o /dev/null -w '%{http_code}' '$url/') = 401 && test \$(curl -s -o /dev/null -w '%{http_code}' -X POST '$url/-/reload') = 401"
check "/-/healthy needs none" test "$(status "$url/-/healthy")" = 200
check "the scheme name is case-insensitive (RFC 7235)" \
  test "$(status -H "Authorization: basic $(printf prometheus:s3cret-test-pass | base64)" "$url/metrics")" = 200
check "a password followed by a NUL byte and more is 401" \
  test "$(status -H "Authorization: Basic $(printf 'prometheus:s3cret-test-pass\0junk' | base64 -w0)" "$url/metrics")" = 401
throttled() {  # wrong passwords from this address until the answer is 429
  local attempt
  for attempt in $(seq 1 30); do
    [[ "$(status -u "prometheus:wrong-$attempt" "$url/metrics")" == 429 ]] && return 0
  done
  return 1
}
check "wrong passwords beyond the burst get 429, without a bcrypt" throttled
check "while the verified password still gets 200" test "$(status -u prometheus:s3cret-test-pass "$url/metrics")" = 200
check "the start log names the bound port and basic_auth=true" grep -q "msg=listening .*port=$port .*basic_auth=true" exporter.log
check "the password is not logged" bash -c "! grep -q s3cret-test-pass exporter.log"
stop

# TLS, with the server certificate signed by the test CA.
tls_config tls.yml
check "config.check accepts the TLS config" "$binary" --config.check --config.file=config.yml --web.config.file=tls.yml
check "starts with TLS" start tls.yml https --cacert ca.crt
check "/metrics over TLS is 200" test "$(status --cacert ca.crt "$url/metrics")" = 200
check "the served certificate is the configured one" \
  bash -c "curl -s -v -o /dev/null --cacert ca.crt '$url/-/healthy' 2>&1 | grep -q 'subject: CN=localhost'"
check "a client that does not trust the CA is refused" test "$(status "$url/metrics")" = 000
check "plain HTTP on the TLS port gets a 400 that says why" bash -c "
  test \"\$(curl -s -o plain.out -w '%{http_code}' 'http://127.0.0.1:$port/metrics')\" = 400 &&
  grep -q 'Client sent an HTTP request to an HTTPS server.' plain.out"
check "the start is logged with tls=true" grep -q 'msg=listening .*tls=true' exporter.log
# 200 clients that connect and never start their TLS handshake, more than the 64 connections
# allowed: each new connection evicts the one that has waited longest, so scrapes go on.
python3 -c '
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(200)]
time.sleep(30)' "$port" &
hog=$!
sleep 1
scrapes_served() {  # scrapes_served N CURL_ARGS...: N scrapes in a row, each answered within 3 s
  local count=$1 scrape
  shift
  for scrape in $(seq 1 "$count"); do
    [[ "$(status --max-time 3 "$@")" == 200 ]] || return 1
  done
}
check "/metrics over TLS is served while 200 idle connections are held" \
  scrapes_served 10 --cacert ca.crt "$url/metrics"
kill "$hog" 2>/dev/null
wait "$hog" 2>/dev/null
hog=""
check "TLS 1.2 is offered by default" test "$(status --cacert ca.crt --tlsv1.2 --tls-max 1.2 "$url/metrics")" = 200
check "TLS 1.1 is not" test "$(status --cacert ca.crt --tlsv1.1 --tls-max 1.1 "$url/metrics")" = 000
stop

tls_config tls13.yml "min_version: TLS13"
check "starts with min_version TLS13" start tls13.yml https --cacert ca.crt
check "min_version TLS13 refuses a TLS 1.2 client" test "$(status --cacert ca.crt --tls-max 1.2 "$url/metrics")" = 000
check "and serves a TLS 1.3 one" test "$(status --cacert ca.crt --tlsv1.3 "$url/metrics")" = 200
stop

tls_config tls12.yml "max_version: TLS12"
check "starts with max_version TLS12" start tls12.yml https --cacert ca.crt
check "max_version TLS12 refuses a TLS 1.3-only client" \
  test "$(status --cacert ca.crt --tlsv1.3 "$url/metrics")" = 000
stop

# Mutual TLS: only clients with a certificate from the client CA get in.
openssl req -x509 $key -keyout rogue.key -out rogue.crt -days 2 -subj /CN=rogue >/dev/null 2>&1
tls_config mtls.yml "client_ca_file: ca.crt" "client_auth_type: RequireAndVerifyClientCert"
client_cert=(--cacert ca.crt --cert client.crt --key client.key)
check "starts with mutual TLS" start mtls.yml https "${client_cert[@]}"
check "mTLS: no client certificate is refused" test "$(status --cacert ca.crt "$url/metrics")" = 000
check "mTLS: a certificate from another CA is refused" \
  test "$(status --cacert ca.crt --cert rogue.crt --key rogue.key "$url/metrics")" = 000
check "mTLS: the client CA's certificate is served" \
  test "$(status "${client_cert[@]}" "$url/metrics")" = 200
stop

tls_config any.yml "client_auth_type: RequireAnyClientCert"
check "starts with RequireAnyClientCert" start any.yml https "${client_cert[@]}"
check "RequireAnyClientCert: no certificate is refused" test "$(status --cacert ca.crt "$url/metrics")" = 000
check "RequireAnyClientCert: any certificate is served" \
  test "$(status --cacert ca.crt --cert rogue.crt --key rogue.key "$url/metrics")" = 200
stop

# TLS and basic auth together, as most deployments run them.
tls_config both.yml
printf "basic_auth_users:\n  prometheus: '%s'\n" "$hash" >>both.yml
check "starts with TLS and basic auth" start both.yml https --cacert ca.crt
check "TLS + auth: no credentials is 401" test "$(status --cacert ca.crt "$url/metrics")" = 401
check "TLS + auth: the right password is 200" \
  test "$(status --cacert ca.crt -u prometheus:s3cret-test-pass "$url/metrics")" = 200
check "TLS + auth: /-/healthy needs none" test "$(status --cacert ca.crt "$url/-/healthy")" = 200
stop

openssl req -x509 $key -keyout other.key -out other.crt -days 2 -subj /CN=other >/dev/null 2>&1
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n' >mismatch.yml
check "config.check refuses a key that does not match the certificate" \
  bash -c "! '$binary' --config.check --config.file=config.yml --web.config.file=mismatch.yml >mismatch.out 2>&1 &&
    grep -q 'mismatch.yml: tls_server_config.key_file \"other.key\" does not match cert_file \"server.crt\"' mismatch.out"
"$binary" --config.file=config.yml --web.config.file=mismatch.yml --web.listen-address="127.0.0.1:$(free_port)" >mismatch-start.out 2>&1
mismatch_status=$?
check "and so does a start with it, exit 1 with the reason" \
  bash -c "test $mismatch_status -eq 1 && grep -q 'does not match cert_file' mismatch-start.out"
refused() {  # refused WEB_CONFIG TEXT: config.check exits 1 and prints TEXT
  ! "$binary" --config.check --config.file=config.yml --web.config.file="$1" >refused.out 2>&1 &&
    grep -qF "$2" refused.out
}
check "a directory as web config is refused, not ignored" refused "$work" "is a directory, not a web config file"
tls_config ca-only.yml "client_ca_file: ca.crt"
check "client_ca_file without client_auth_type is refused" refused ca-only.yml \
  "client_auth_type: client CA's have been configured without a Client Auth Policy; set it (RequireAndVerifyClientCert for mutual TLS)"
openssl ec -in server.key -aes256 -passout pass:x -out encrypted.key 2>/dev/null
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: encrypted.key\n' >encrypted.yml
check "an encrypted key is refused with the reason, without asking for a pass phrase" \
  refused encrypted.yml "(the key is encrypted; give the exporter an unencrypted key"
mkdir -p elsewhere && cp server.crt server.key elsewhere/
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n' >elsewhere/web.yml
check "relative TLS paths are relative to the web config's folder" \
  bash -c "cd / && '$binary' --config.check --config.file='$work/config.yml' --web.config.file='$work/elsewhere/web.yml' >/dev/null 2>&1"
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Verify\n  min_version: TLS111\n' >weak.yml
"$binary" --config.check --config.file=config.yml --web.config.file=weak.yml >weak.out 2>&1
check "config.check lists every TLS problem" bash -c "
  grep -q 'weak.yml:5:16: tls_server_config.min_version: unknown TLS version: TLS111' weak.out &&
  grep -q 'weak.yml:4:21: tls_server_config.client_auth_type: invalid ClientAuth: Verify' weak.out"
printf "basic_auth_users:\n  u: '\$2b\$12\$short'\n" >short.yml
check "config.check refuses a truncated bcrypt hash" \
  bash -c "! '$binary' --config.check --config.file=config.yml --web.config.file=short.yml >/dev/null 2>&1"

printf 'tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\nbasic_auth_users:\n  u: plain\n' >bad.yml
"$binary" --config.check --config.file=config.yml --web.config.file=bad.yml >bad.out 2>&1
check "a bad web config is refused with every problem" bash -c "
  grep -q 'bad.yml:2:14: tls_server_config.cert_file: cannot read \"missing.crt\"' bad.out &&
  grep -q 'basic_auth_users.u: .*not a bcrypt hash' bad.out"

# A reload (SIGHUP or POST /-/reload) reads the web config file again; a broken one is refused
# and the running web config stays.
cp auth.yml live.yml
check "starts with basic auth to reload" start live.yml http
: >live.yml
check "a reload with the right password is accepted" \
  test "$(status -u prometheus:s3cret-test-pass -X POST "$url/-/reload")" = 200
check "after it, the emptied web config lets /metrics in without credentials" test "$(status "$url/metrics")" = 200
cp auth.yml live.yml
kill -HUP "$pid"
check "SIGHUP brings basic auth back" wait_for 5 test "$(status "$url/metrics")" = 401
printf "basic_auth_users:\n  prometheus: 'not-a-hash'\n" >live.yml
kill -HUP "$pid"
check "a broken web config on reload is refused" \
  wait_for 5 bash -c "curl -s -u prometheus:s3cret-test-pass '$url/metrics' | grep -qx 'outcomes_exporter_config_last_reload_successful 0'"
check "and the running one stays" test "$(status "$url/metrics")" = 401
check "the failure is logged with its reason" grep -q "live.yml.*not a bcrypt hash" exporter.log
stop

# Certificates rotated in place are picked up by new connections, without a restart; a broken
# replacement keeps the previous certificate serving.
cp server.crt live.crt && cp server.key live.key
printf 'tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n' >rotate.yml
check "starts with TLS files to rotate" start rotate.yml https --cacert ca.crt
{
  openssl req $key -keyout rotated.key -out rotated.csr -subj /CN=rotated
  openssl x509 -req -in rotated.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out rotated.crt -days 2 -extfile server.ext
} >/dev/null 2>&1
served_subject() { curl -s -v -o /dev/null --cacert ca.crt "$url/-/healthy" 2>&1 | grep -o 'subject: CN=[a-z]*'; }
cp rotated.key live.key && cp rotated.crt live.crt
check "a rotated certificate is served within seconds" wait_for 15 bash -c "$(declare -f served_subject); url=$url; served_subject | grep -q CN=rotated"
echo "not a certificate" >live.crt
sleep 6
check "a broken rotation keeps the previous certificate" bash -c "$(declare -f served_subject); url=$url; served_subject | grep -q CN=rotated"
check "and says so" grep -q "cannot reload the rotated TLS files; serving the previous ones" exporter.log
stop

# The rest of the exporter-toolkit's format, as node_exporter's users write it.
s_client() {  # s_client ARGS...: a handshake with openssl s_client, its output on stdout
  openssl s_client -connect "127.0.0.1:$port" -CAfile ca.crt "$@" </dev/null 2>&1
}
cipher_of() { s_client "$@" | sed -n 's/.*Cipher is \(.*\)$/\1/p' | head -1; }

indented() { sed 's/^/    /' "$1"; }  # a PEM file as a YAML block scalar's lines
{
  printf 'tls_server_config:\n  cert: |\n'
  indented server.crt
  printf '  key: |\n'
  indented server.key
  printf '  client_ca: |\n'
  indented ca.crt
  printf '  client_auth_type: RequireAndVerifyClientCert\n'
} >inline.yml
check "starts with inline cert, key and client_ca" start inline.yml https "${client_cert[@]}"
check "inline: the inline certificate is served" \
  bash -c "curl -s -v -o /dev/null $(printf '%q ' "${client_cert[@]}") '$url/-/healthy' 2>&1 | grep -q 'subject: CN=localhost'"
check "inline: a client certificate from the inline CA gets in" test "$(status "${client_cert[@]}" "$url/metrics")" = 200
check "inline: one from another CA does not" \
  test "$(status --cacert ca.crt --cert rogue.crt --key rogue.key "$url/metrics")" = 000
check "inline: the key is not logged" bash -c "! grep -q 'PRIVATE KEY' exporter.log"
stop

# The security defect this format's rules close: a half-written TLS section served plain HTTP.
printf 'tls_server_config:\n  cert_file: ""\n  key_file: server.key\n' >half.yml
check "cert_file \"\" with a key_file is refused, as the exporter-toolkit refuses it" \
  refused half.yml "half.yml:2:3: tls_server_config: missing one of cert or cert_file"
timeout 10 "$binary" --config.file=config.yml --web.config.file=half.yml --web.listen-address="127.0.0.1:$(free_port)" >half-start.out 2>&1
half_status=$?  # 124: it kept running
check "and the exporter does not start on plain HTTP with it" test "$half_status" -eq 1
printf 'tls_server_config:\n  key_file: server.key\n' >keyonly.yml
check "a key_file alone is refused too" refused keyonly.yml "missing one of cert or cert_file"

# Cipher suites, by their Go names; TLS 1.3 suites are not configurable.
tls_config ciphers.yml "cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]"
check "starts with cipher_suites" start ciphers.yml https --cacert ca.crt
check "cipher_suites: a listed suite is negotiated" \
  test "$(cipher_of -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)" = ECDHE-ECDSA-AES128-GCM-SHA256
check "cipher_suites: an unlisted one is refused" \
  bash -c "$(declare -f s_client cipher_of); port=$port; test \"\$(cipher_of -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)\" != ECDHE-ECDSA-CHACHA20-POLY1305"
check "prefer_server_cipher_suites (default true): the server's order wins" \
  test "$(cipher_of -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384)" = ECDHE-ECDSA-AES256-GCM-SHA384
check "TLS 1.3 keeps its suites" test "$(status --cacert ca.crt --tlsv1.3 "$url/metrics")" = 200
stop
tls_config client-order.yml "cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]" \
  "prefer_server_cipher_suites: false"
check "starts with prefer_server_cipher_suites false" start client-order.yml https --cacert ca.crt
check "prefer_server_cipher_suites false: the client's order wins" \
  test "$(cipher_of -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384)" = ECDHE-ECDSA-AES128-GCM-SHA256
stop
tls_config defaults.yml
check "starts with the default TLS policy" start defaults.yml https --cacert ca.crt
check "by default, Go's suites: ECDHE-ECDSA-CHACHA20-POLY1305 is offered" \
  test "$(cipher_of -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)" = ECDHE-ECDSA-CHACHA20-POLY1305
check "and a suite Go does not offer (CBC with SHA-384) is not" \
  bash -c "$(declare -f s_client cipher_of); port=$port; test \"\$(cipher_of -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384)\" != ECDHE-ECDSA-AES256-SHA384"
check "by default, Go's curves: X25519 is offered" bash -c "$(declare -f s_client); port=$port; s_client -tls1_3 -groups X25519 | grep -q 'Server Temp Key: X25519'"
check "and X448, which Go does not offer, is not" bash -c "$(declare -f s_client); port=$port; ! s_client -tls1_3 -groups X448 | grep -q 'Server Temp Key'"
check "ALPN offers http/1.1 to a client that asks for h2 and http/1.1" \
  bash -c "$(declare -f s_client); port=$port; s_client -alpn h2,http/1.1 | grep -q 'ALPN protocol: http/1.1'"
check "and nothing to a client that asks for h2 alone" \
  bash -c "$(declare -f s_client); port=$port; s_client -alpn h2 | grep -q 'No ALPN negotiated'"
check "curl --http2 gets HTTP/1.1" test "$(curl -s -o /dev/null -w '%{http_version}' --http2 --cacert ca.crt "$url/metrics")" = 1.1
stop

tls_config curves.yml "curve_preferences: [CurveP384]" "min_version: TLS13"
check "starts with curve_preferences" start curves.yml https --cacert ca.crt
check "curve_preferences: a listed curve is used" \
  bash -c "$(declare -f s_client); port=$port; s_client -groups P-384 | grep -q 'Server Temp Key: ECDH, secp384r1'"
check "curve_preferences: an unlisted one is refused" \
  bash -c "$(declare -f s_client); port=$port; ! s_client -groups X25519:P-256 | grep -q 'Server Temp Key'"
stop

# client_allowed_sans: the client certificate must carry one of them (DNS, IP, email, URI).
san_client() {  # san_client NAME SAN: NAME.crt/.key signed by the CA, with that SAN
  openssl req $key -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" &&
    echo "subjectAltName=$2" >"$1.ext" &&
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext"
} >/dev/null 2>&1
san_client dns DNS:scraper.example
san_client ip IP:10.0.0.7
san_client ip6 IP:2001:db8:0:0:0:0:0:1
san_client email email:ops@example.com
san_client uri URI:spiffe://example/prometheus
san_client other DNS:other.example
tls_config sans.yml "client_ca_file: ca.crt" "client_auth_type: RequireAndVerifyClientCert" \
  "client_allowed_sans: [scraper.example, 10.0.0.7, '2001:db8::1', ops@example.com, 'spiffe://example/prometheus']"
check "starts with client_allowed_sans" start sans.yml https --cacert ca.crt --cert dns.crt --key dns.key
for name in dns ip ip6 email uri; do
  check "client_allowed_sans: a ${name^^} SAN in the list gets in" \
    test "$(status --cacert ca.crt --cert $name.crt --key $name.key "$url/metrics")" = 200
done
check "client_allowed_sans: a SAN not in the list is refused" \
  test "$(status --cacert ca.crt --cert other.crt --key other.key "$url/metrics")" = 000
check "client_allowed_sans: a certificate without SANs is refused" \
  test "$(status "${client_cert[@]}" "$url/metrics")" = 000
stop
tls_config sans-nocert.yml "client_auth_type: RequestClientCert" "client_allowed_sans: [scraper.example]"
check "client_allowed_sans with a client certificate that may be absent is refused" refused sans-nocert.yml \
  "client_allowed_sans: requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert"

# http_server_config.headers: the exporter-toolkit's five headers, on every response.
cat >headers.yml <<EOF2
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  prometheus: '$hash'
EOF2
check "starts with headers" start headers.yml http
curl -s -D headers.out -o /dev/null -u prometheus:s3cret-test-pass "$url/metrics"
check "headers: the configured headers are on /metrics" bash -c "
  grep -qi '^X-Frame-Options: deny' headers.out && grep -qi '^X-Content-Type-Options: nosniff' headers.out &&
  grep -qi '^Strict-Transport-Security: max-age=31536000' headers.out"
check "headers: a blank value sends nothing" bash -c "! grep -qi '^Content-Security-Policy' headers.out"
check "headers: also on a 401 and on /-/healthy" bash -c "
  curl -s -D - -o /dev/null '$url/metrics' | grep -qi '^X-Frame-Options: deny' &&
  curl -s -D - -o /dev/null '$url/-/healthy' | grep -qi '^X-Frame-Options: deny'"
stop
printf 'http_server_config:\n  headers:\n    Server: outcomes\n' >bad-header.yml
check "a header outside the toolkit's list is refused with its message" refused bad-header.yml \
  'http_server_config.headers.Server: HTTP header "Server" can not be configured'
printf 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n' >bad-value.yml
check "a value outside the listed ones is refused with its message" refused bad-value.yml \
  'invalid value for X-Frame-Options. Expected one of: ["deny" "sameorigin"], but got: "allow"'

# rate_limit: one token bucket for the whole server, as the exporter-toolkit's.
printf 'rate_limit:\n  interval: 1m\n  burst: 3\n' >limit.yml
check "starts with rate_limit" start limit.yml http
# start() waited on /-/healthy, which takes no token.
codes=$(for _ in 1 2 3; do status "$url/metrics"; echo; done | tr '\n' ' ')
check "rate_limit: the burst is served" test "$codes" = "200 200 200 "
check "rate_limit: beyond it, 429 Too Many Requests" bash -c "
  test \"\$(curl -s -o limited.out -w '%{http_code}' '$url/metrics')\" = 429 && grep -qx 'Too Many Requests' limited.out"
check "rate_limit: the bucket is global, another client address gets 429 too" \
  test "$(status --interface 127.0.0.2 "$url/metrics")" = 429
check "rate_limit: /-/healthy is not limited" test "$(status "$url/-/healthy")" = 200
stop
printf 'rate_limit:\n  interval: 500ms\n  burst: 1\n' >refill.yml
check "starts with a rate_limit of 1 per 500ms" start refill.yml http
check "rate_limit: one request, then 429" test "$(status "$url/metrics") $(status "$url/metrics")" = "200 429"
sleep 0.6
check "rate_limit: a token is back after the interval" test "$(status "$url/metrics")" = 200
stop
# The exporter-toolkit's web_config_rate_limiter_one_second.yaml: burst 0, every request 429.
printf 'rate_limit:\n  interval: "1s"\n  burst: 0\n' >burst0.yml
check "starts with rate_limit burst 0, as the exporter-toolkit does" start burst0.yml http
codes=$(for _ in 1 2 3; do status "$url/metrics"; echo; done | tr '\n' ' ')
check "rate_limit burst 0: every request is 429" test "$codes" = "429 429 429 "
sleep 1.1
check "rate_limit burst 0: also after the interval" test "$(status "$url/metrics")" = 429
stop

# What the exporter-toolkit accepts and its own tests check, beyond the above.
tls_config tls12.yml
check "starts with the default TLS versions" start tls12.yml https --cacert ca.crt
check "a TLS 1.1 client is refused by the default policy" \
  bash -c "$(declare -f s_client); port=$port; s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0 | grep -q 'Cipher is (NONE)'"
stop
tls_config tls10.yml "min_version: TLS10"
check "starts with min_version TLS10" start tls10.yml https --cacert ca.crt
check "min_version TLS10: a TLS 1.0 client gets in" \
  bash -c "$(declare -f s_client); port=$port; s_client -tls1 -cipher DEFAULT@SECLEVEL=0 | grep -q 'Protocol  *: TLSv1\$'"
check "min_version TLS10: TLS 1.3 still works" test "$(status --cacert ca.crt --tlsv1.3 "$url/metrics")" = 200
stop

# The toolkit's web_config_noAuth.good.yml: VerifyClientCertIfGiven without a client CA, so
# client certificates are verified against the system's trust store.
tls_config ifgiven.yml "client_auth_type: VerifyClientCertIfGiven"
check "starts with VerifyClientCertIfGiven and no client CA" start ifgiven.yml https --cacert ca.crt
check "no client CA: a client without a certificate gets in" test "$(status --cacert ca.crt "$url/metrics")" = 200
check "no client CA: a certificate the system does not trust is refused" \
  test "$(status "${client_cert[@]}" "$url/metrics")" = 000
stop
tls_config blocking.yml "client_auth_type: RequireAndVerifyClientCert"
start blocking.yml https --cacert ca.crt  # no client gets in to answer
check "starts with RequireAndVerifyClientCert and no client CA" grep -q 'msg=listening .*tls=true' exporter.log
check "no client CA: RequireAndVerifyClientCert refuses a client without a certificate" \
  test "$(status --cacert ca.crt "$url/metrics")" = 000
stop

# cert_file and cert both: the file wins, as in the exporter-toolkit.
tls_config both.yml "cert: not a certificate"
check "starts with cert_file and a broken inline cert" start both.yml https --cacert ca.crt
check "the cert_file is served" test "$(status --cacert ca.crt "$url/metrics")" = 200
stop

# Only TLS 1.3 suites: TLS 1.2 has none, as in Go (which needs http2 off for such a list).
tls_config tls13-suites.yml "cipher_suites: [TLS_AES_128_GCM_SHA256]"
printf 'http_server_config:\n  http2: false\n' >>tls13-suites.yml
check "starts with TLS 1.3 cipher_suites only" start tls13-suites.yml https --cacert ca.crt
check "TLS 1.3 only suites: a TLS 1.2 client is refused" \
  bash -c "$(declare -f s_client); port=$port; s_client -tls1_2 | grep -q 'Cipher is (NONE)'"
check "TLS 1.3 only suites: TLS 1.3 works" test "$(status --cacert ca.crt --tlsv1.3 "$url/metrics")" = 200
stop
tls_config no-h2-suite.yml "cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]" "max_version: TLS12"
check "a cipher list without HTTP/2's suite is refused while http2 is on, as the toolkit does" \
  refused no-h2-suite.yml "TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher"

# An empty client_allowed_sans refuses every client.
tls_config no-sans.yml "client_ca_file: ca.crt" "client_auth_type: RequireAndVerifyClientCert" "client_allowed_sans: []"
start no-sans.yml https "${client_cert[@]}"  # no client gets in to answer
check "starts with an empty client_allowed_sans" grep -q 'msg=listening .*tls=true' exporter.log
check "an empty client_allowed_sans refuses a client certificate" test "$(status "${client_cert[@]}" "$url/metrics")" = 000
stop

# The toolkit's web_config_users.good.yml hashes ($2y$, cost 10 and more).
tls_config toolkit-users.yml
# shellcheck disable=SC2016 # literal bcrypt hashes
printf 'basic_auth_users:\n  carol: %s\n  dave: %s\n' \
  '$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu' \
  '$2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq' >>toolkit-users.yml
check "starts with the toolkit's users" start toolkit-users.yml https --cacert ca.crt
check "toolkit users: dave with dave123 is 200" test "$(status --cacert ca.crt -u dave:dave123 "$url/metrics")" = 200
check "toolkit users: carol with carol123 is 200" test "$(status --cacert ca.crt -u carol:carol123 "$url/metrics")" = 200
check "toolkit users: dave with a bad password is 401" test "$(status --cacert ca.crt -u dave:bad "$url/metrics")" = 401
check "toolkit users: an unknown user is 401" test "$(status --cacert ca.crt -u nonexistent:nonexistent "$url/metrics")" = 401
stop

harness_finish
