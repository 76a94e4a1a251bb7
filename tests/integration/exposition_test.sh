#!/usr/bin/env bash
# Every collector at once, against a real PostgreSQL with generated history, a stand-in model
# endpoint and its registry: the /metrics page must pass `promtool check metrics` with nothing
# reported, and every metric named by the shipped dashboards, rules and alerts must be exported
# by it or recorded by a rule. Two endpoints export the same families, which must appear once;
# the gzip answer must read the same.
# Usage: exposition_test.sh BINARY GENERATOR SOURCE_DIR
set -uo pipefail

binary=$1
generator=$2
source_dir=$3
# shellcheck source=../lib/harness.sh
source "$source_dir/tests/lib/harness.sh"
HARNESS_NAME=exposition
work=$(make_workdir outcomes-exposition-test)

cleanup() {
  stop_tracked
  "$source_dir/scripts/pg-sandbox" stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

"$source_dir/scripts/pg-sandbox" start "$work/pg" >"$work/pg.log" 2>&1 || { cat "$work/pg.log"; exit 1; }
dsn=$(cat "$work/pg/dsn")
OUTCOMES_GENERATOR="$generator" "$source_dir/scripts/load-demo-data" --no-grants "$dsn" \
  --days 10 --per-day 500 >"$work/load.log" 2>&1 || { cat "$work/load.log"; exit 1; }

model_port=$(free_port)
python3 "$source_dir/tests/integration/fake_model_server.py" --port "$model_port" >/dev/null 2>&1 &
track $!
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$model_port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
cat >"$work/config.yml" <<EOF2
store:
  dsn: "$dsn"
  interval: 1s
analytics:
  cost_per_recommendation: 0.01
  ab_tests: {interval: 1s}
  drift: {interval: 1s}
  cohorts: {interval: 1s}
  data_quality: {interval: 1s}
store_health: {interval: 1s}
queries:
  - name: shop_recommendations_by_product_prefix
    sql: SELECT left(product_id, 2) AS prefix, count(*) AS value FROM recommendations GROUP BY 1
    labels: [prefix]
    values: [value]
endpoints:
  - name: reco-api
    url: http://127.0.0.1:$model_port/health
    interval: 1s
    model_info: {model_name: /model/name, model_version: /model/version, stage: /model/stage}
    fields:
      - {metric: model_accuracy_ratio, pointer: /metrics/accuracy}
      - {metric: model_drift_score, pointer: /metrics/drift_score}
      - {metric: model_trained_timestamp_seconds, pointer: /metrics/trained_at}
  - name: reco-api-canary
    url: http://127.0.0.1:$model_port/health
    interval: 1s
    model_info: {model_name: /model/name, model_version: /model/version, stage: /model/stage}
registries:
  - name: mlflow
    url: http://127.0.0.1:$model_port
    models: [reco-ranker]
    interval: 1s
EOF2
port=$(free_port)
"$binary" --config.file="$work/config.yml" --web.listen-address="127.0.0.1:$port" \
  >"$work/exporter.log" 2>&1 &
track $!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
# Outcomes written after the start, which data_quality judges (it starts at each table's top).
psql -q -v ON_ERROR_STOP=1 "$dsn" >>"$work/load.log" 2>&1 <<'SQL' || { cat "$work/load.log"; exit 1; }
INSERT INTO outcome_events (recommendation_id, status)
SELECT id, 'ACCEPTED' FROM recommendations ORDER BY id DESC LIMIT 20;
SQL
sleep 2  # a second cycle of every collector
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
curl -sf -H 'Accept-Encoding: gzip' -D "$work/gzip.headers" "http://127.0.0.1:$port/metrics" \
  >"$work/metrics.gz"

check "every collector succeeded" \
  bash -c "! grep -E '^outcomes_exporter_collector_success\\{.*\\} 0' '$work/metrics.txt'"
check "the collectors are store, analytics, query, endpoint, registry, thresholds, data_quality and store_health" \
  test "$(grep -c '^outcomes_exporter_collector_success{' "$work/metrics.txt")" -eq 11
check "promtool check metrics reports nothing" \
  bash -c "promtool check metrics <'$work/metrics.txt' >'$work/promtool.out' 2>&1 && ! [ -s '$work/promtool.out' ]"
[[ -s "$work/promtool.out" ]] && cat "$work/promtool.out"
check "every family has one TYPE line, also those both endpoints export" \
  bash -c "[ -z \"\$(grep '^# TYPE ' '$work/metrics.txt' | cut -d' ' -f3 | sort | uniq -d)\" ] &&
           [ \"\$(grep -c '^model_endpoint_up{' '$work/metrics.txt')\" -eq 2 ]"
check "with Accept-Encoding: gzip the answer is gzip, varies on Accept-Encoding" \
  bash -c "grep -qi '^Content-Encoding: gzip' '$work/gzip.headers' &&
           grep -qi '^Vary: Accept-Encoding' '$work/gzip.headers'"
check "the gzip answer decompresses to an exposition promtool accepts, with the same families" \
  bash -c "gzip -dc '$work/metrics.gz' >'$work/metrics.gunzip.txt' &&
           promtool check metrics <'$work/metrics.gunzip.txt' >'$work/promtool.gz.out' 2>&1 &&
           ! [ -s '$work/promtool.gz.out' ] &&
           diff <(grep '^# ' '$work/metrics.txt') <(grep '^# ' '$work/metrics.gunzip.txt')"
check "dashboards, rules and alerts name only exported or recorded metrics" \
  "$source_dir/tests/dashboards/run.sh" "$work/metrics.txt"

if ((failed > 0)); then
  echo "--- exporter log ---"
  cat "$work/exporter.log"
  grep '^outcomes_exporter_collector' "$work/metrics.txt"
fi
harness_finish
