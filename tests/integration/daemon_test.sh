#!/usr/bin/env bash
# The daemon as a user runs it, against a real PostgreSQL: flags, config checks, /metrics that
# promtool accepts (label values with quotes, backslashes, newlines, UTF-8), reloads by SIGHUP
# and HTTP (a broken config keeps the running one), a store outage, secrets kept out of logs and
# pages, and a prompt stop on SIGTERM.
# Usage: daemon_test.sh BINARY SOURCE_DIR
set -uo pipefail

binary=$1
source_dir=$2
# shellcheck source=../lib/harness.sh
source "$source_dir/tests/lib/harness.sh"
HARNESS_NAME=daemon
work=$(make_workdir outcomes-daemon-test)
pg_dir="$work/pg"
exporter_pid=""

cleanup() {
  if [[ -n "$exporter_pid" ]] && kill -0 "$exporter_pid" 2>/dev/null; then
    kill "$exporter_pid" 2>/dev/null
    wait "$exporter_pid" 2>/dev/null
  fi
  "$source_dir/scripts/pg-sandbox" stop "$pg_dir" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

metric_value() {  # metric_value 'name{labels}' -> value of that exact series
  curl -sf "$base/metrics" | awk -v series="$1" '$1 == series { print $2 }'
}

series_is() {  # series_is 'name{labels}' VALUE: scrapes anew on every call
  [[ "$(metric_value "$1")" == "$2" ]]
}

"$source_dir/scripts/pg-sandbox" start "$pg_dir" >"$work/pg.log" 2>&1 || { cat "$work/pg.log"; exit 1; }
plain_dsn=$(cat "$pg_dir/dsn")
port=${plain_dsn##*:}
port=${port%%/*}
psql -q "$plain_dsn" -f "$source_dir/deploy/sql/schema.sql" >/dev/null || exit 1
psql -q "$plain_dsn" >/dev/null <<'SQL'
INSERT INTO recommendations (customer_id, product_id, model_version, ab_test_id, variant, score, price)
VALUES ('c1', 'p1', 'v"quoted"', 'ab\slash', E'line\nbreak', 0.5, 10),
       ('c2', 'p2', 'modèle-ü-🚀', 'a=b,c{d}', 'B', 0.4, 20),
       ('c3', 'p3', 'v1', NULL, NULL, 0.3, 30);
INSERT INTO outcome_events (recommendation_id, status, reason, revenue)
VALUES (1, 'PURCHASED', 'SATISFIED', 10), (2, 'ACCEPTED', NULL, 0), (3, 'RETURNED', 'QUALITY_ISSUE', 30);
INSERT INTO feedback (recommendation_id, feedback_type, score, comment)
VALUES (1, 'SATISFACTION', 5, 'great'), (2, 'QUALITY', 2, 'meh');
SQL

# The sandbox trusts local connections, so this password is never checked: it only proves that
# the daemon keeps it out of logs and pages.
secret="Sup3rSecretPassw0rd"
secret_dsn="postgresql://postgres:${secret}@127.0.0.1:${port}/outcomes"
config="$work/outcomes_exporter.yml"
cat >"$config" <<EOF2
store:
  dsn: "\${TEST_DSN}"
  interval: 200ms
  reconcile_interval: 2s
  max_backoff: 500ms
  connect_timeout: 1s
EOF2
export TEST_DSN="$secret_dsn"

# --config.check
check "config.check accepts a valid file" \
  bash -c "'$binary' --config.check --config.file='$config' | grep -q 'configuration is valid'"
printf 'store:\n  dsn: x\n  interval: 5\n  colour: red\n' >"$work/bad.yml"
"$binary" --config.check --config.file="$work/bad.yml" >"$work/check.out" 2>&1
check "config.check exits 1 on a bad file" test $? -eq 1
check "config.check lists every problem with file:line:col" \
  grep -qx "$work/bad.yml:3:13: store.interval: invalid duration \"5\": missing or unknown unit (use ms, s, m, h, d, w, y)" "$work/check.out"
check "config.check reports the unknown key" grep -qx "$work/bad.yml:4:3: store.colour: unknown key" "$work/check.out"
printf 'endpoints:\n  - name: a\n    url: https://127.0.0.1:1/\n    tls: {ca_file: %s/missing.pem}\n' "$work" >"$work/bad-tls.yml"
"$binary" --config.check --config.file="$work/bad-tls.yml" >"$work/check-tls.out" 2>&1
check "config.check finds an unreadable TLS file" \
  grep -qx "$work/bad-tls.yml: endpoint a: tls.ca_file \"$work/missing.pem\": cannot read" "$work/check-tls.out"
printf 'endpoints:\n  - name: model\n    url: http://127.0.0.1:99999999999999999999/health\n' >"$work/bad-port.yml"
"$binary" --config.check --config.file="$work/bad-port.yml" >"$work/check-port.out" 2>&1
check "config.check refuses a port past 65535 with file:line:col" \
  grep -qx "$work/bad-port.yml:3:10: endpoints\[0\].url: URL port \"99999999999999999999\" is not a number from 1 to 65535" "$work/check-port.out"
"$binary" --config.file="$work/bad.yml" --web.listen-address=127.0.0.1:0 >"$work/bad-start.out" 2>&1
check "a bad config at start exits non-zero" test $? -eq 1
"$binary" --no-such-flag >/dev/null 2>&1
check "an unknown flag exits 2" test $? -eq 2
check "--version names the product" bash -c "'$binary' --version | grep -q '^outcomes_exporter, version '"

# Start the daemon, with a web config that asks for nothing (plain HTTP), read on every reload.
web_config="$work/web.yml"
echo '# plain HTTP, no authentication' >"$web_config"
listen_port=$(free_port)
base="http://127.0.0.1:$listen_port"
"$binary" --config.file="$config" --web.listen-address="127.0.0.1:$listen_port" \
  --web.config.file="$web_config" --log.level=debug >"$work/exporter.log" 2>&1 &
exporter_pid=$!
check "becomes ready" wait_for 15 curl -sf "$base/-/ready"
check "/-/healthy answers 200" curl -sf "$base/-/healthy"

curl -sf "$base/metrics" >"$work/metrics.txt"
check "promtool check metrics reports nothing" bash -c "promtool check metrics <'$work/metrics.txt' >'$work/promtool.out' 2>&1 && ! [ -s '$work/promtool.out' ]"
[[ -s "$work/promtool.out" ]] && cat "$work/promtool.out"
check "label values are escaped" grep -qF 'outcomes_recommendations_total{model_version="v\"quoted\"",ab_test="ab\\slash",variant="line\nbreak"} 1' "$work/metrics.txt"
check "UTF-8 label values pass through" grep -qF 'model_version="modèle-ü-🚀",ab_test="a=b,c{d}",variant="B"' "$work/metrics.txt"
check "absent labels are empty strings" grep -qF 'outcomes_recommendations_total{model_version="v1",ab_test="",variant=""} 1' "$work/metrics.txt"
check "revenue of returns is counted" grep -qF 'outcomes_revenue_total{model_version="v1",ab_test="",variant="",status="RETURNED"} 30' "$work/metrics.txt"
check "every family has HELP" bash -c "[ \$(grep -c '^# HELP' '$work/metrics.txt') -eq \$(grep -c '^# TYPE' '$work/metrics.txt') ]"
check "process metrics are exported" grep -q '^process_resident_memory_bytes ' "$work/metrics.txt"
check "build info is exported" grep -q '^outcomes_exporter_build_info{version=' "$work/metrics.txt"
check "landing page lists the store collector" bash -c "curl -sf '$base/' | grep -q '<td>store</td>'"
check "unknown paths are 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$base/nope")" = 404
check "GET /-/reload is refused" test "$(curl -s -o /dev/null -w '%{http_code}' "$base/-/reload")" = 405

# New rows show up within a few intervals.
psql -q "$plain_dsn" -c "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) VALUES ('c4', 'p4', 'v1', 0.1, 5)"
check "new rows are counted" wait_for 5 series_is 'outcomes_recommendations_total{model_version="v1",ab_test="",variant=""}' 2

# A broken config on SIGHUP keeps the running one.
cp "$config" "$work/good.yml"
printf 'store:\n  dsn: x\n  interval: never\n' >"$config"
kill -HUP "$exporter_pid"
check "a bad SIGHUP reload sets reload_successful 0" \
  wait_for 5 series_is outcomes_exporter_config_last_reload_successful 0
check "still serving after a bad reload" series_is outcomes_store_up 1
psql -q "$plain_dsn" -c "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) VALUES ('c5', 'p5', 'v1', 0.1, 5)"
check "the old config keeps collecting" wait_for 5 series_is 'outcomes_recommendations_total{model_version="v1",ab_test="",variant=""}' 3
check "a bad HTTP reload answers 500" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/-/reload")" = 500
sed 's/interval: 200ms/interval: 300ms/' "$work/good.yml" >"$config"
check "a good HTTP reload answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/-/reload")" = 200
check "reload_successful is 1 again" series_is outcomes_exporter_config_last_reload_successful 1
check "counters survive the reload" wait_for 5 series_is 'outcomes_recommendations_total{model_version="v1",ab_test="",variant=""}' 3

# Reloads that used to end the process with an exception: a URL port past 65535 (std::stoul
# threw) and a web config path too long for the file system (std::filesystem threw).
cp "$config" "$work/running.yml"
{ cat "$work/running.yml"; cat "$work/bad-port.yml"; } >"$config"
kill -HUP "$exporter_pid"
check "a SIGHUP with a port past 65535 sets reload_successful 0" \
  wait_for 5 series_is outcomes_exporter_config_last_reload_successful 0
check "the process survives that SIGHUP" kill -0 "$exporter_pid"
check "a POST /-/reload with that port answers 500" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/-/reload")" = 500
check "the process survives that POST" kill -0 "$exporter_pid"
check "the old config is kept: no endpoint collector" \
  bash -c "! curl -sf '$base/metrics' | grep -q 'collector=\"endpoint/model\"'"
check "the old config keeps collecting" series_is outcomes_store_up 1
cp "$work/running.yml" "$config"
check "a good reload after it answers 200" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/-/reload")" = 200
printf 'tls_server_config:\n  cert_file: %s/%0300d.crt\n  key_file: x.key\n' "$work" 0 >"$web_config"
kill -HUP "$exporter_pid"
check "a SIGHUP with an unreachable web config path sets reload_successful 0" \
  wait_for 5 series_is outcomes_exporter_config_last_reload_successful 0
check "the process survives that SIGHUP too" kill -0 "$exporter_pid"
echo '# plain HTTP, no authentication' >"$web_config"
check "reloading the fixed web config answers 200" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/-/reload")" = 200

# Store outage: /metrics keeps answering with the last counters.
"$source_dir/scripts/pg-sandbox" stop "$pg_dir" >/dev/null 2>&1
check "store_up drops to 0 during an outage" wait_for 10 series_is outcomes_store_up 0
check "counters are still served during the outage" \
  series_is 'outcomes_recommendations_total{model_version="v1",ab_test="",variant=""}' 3
check "collector_success is 0 during the outage" \
  series_is 'outcomes_exporter_collector_success{collector="store"}' 0
"$source_dir/scripts/pg-sandbox" start "$pg_dir" "$port" >/dev/null 2>&1
psql -q "$plain_dsn" -c "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) VALUES ('c6', 'p6', 'v1', 0.1, 5)"
check "store_up returns to 1 after the outage" wait_for 15 series_is outcomes_store_up 1
check "counters are exact after the outage" wait_for 5 series_is 'outcomes_recommendations_total{model_version="v1",ab_test="",variant=""}' 4
# A line when the error changes (refused, then "the database system is starting up" while it
# comes back, depending on timing), never one per retry of the same error.
failed_lines=$(grep 'msg="collection failed"' "$work/exporter.log" | sed 's/^.*collector=/collector=/' || true)
check "one log line for the outage, not one per retry" \
  test -n "$failed_lines" -a "$(printf '%s\n' "$failed_lines" | sort | uniq -d | wc -l)" -eq 0

# Secrets never leave the process.
curl -sf "$base/" >"$work/landing.html"
curl -sf "$base/metrics" >"$work/metrics2.txt"
check "the password is not in the logs" bash -c "! grep -qF '$secret' '$work/exporter.log'"
check "the password is not on the landing page or /metrics" \
  bash -c "! grep -qF '$secret' '$work/landing.html' '$work/metrics2.txt'"

# SIGTERM stops within 5 seconds.
started=$(date +%s%N)
kill -TERM "$exporter_pid"
wait "$exporter_pid"
status=$?
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
exporter_pid=""
check "SIGTERM exits 0" test "$status" -eq 0
check "SIGTERM stops within 5s (took ${elapsed_ms}ms)" test "$elapsed_ms" -lt 5000

if ((failed > 0)); then
  echo "--- exporter log ---"
  cat "$work/exporter.log"
fi
harness_finish
