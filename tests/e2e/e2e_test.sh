#!/usr/bin/env bash
# End to end, with every real part on 127.0.0.1: PostgreSQL with generated history and live
# traffic whose model version v1.2.0 starts returning 30% of its purchases, the sidecar, a real
# Prometheus loading rules/ and alerts/, and a real Alertmanager with the shipped routing
# (receivers pointed at a webhook receiver here). The HIGH_RETURN_RATE alert for v1.2.0 must
# reach the retraining webhook and the same-day investigation queue (P2, not the pager) with
# its labels and runbook link, and its decision be Retrain; the healthy version v1.1.0 must
# raise nothing and stay Continue. The rules are loaded as shipped except `for:`, shortened
# to 0s in a copy (the promtool tests cover them as shipped).
# Usage: e2e_test.sh BINARY GENERATOR SOURCE_DIR
set -uo pipefail

binary=$1
generator=$2
source_dir=$3
# shellcheck source=../lib/harness.sh
source "$source_dir/tests/lib/harness.sh"
HARNESS_NAME=e2e
work=$(make_workdir outcomes-e2e)

cleanup() {
  stop_tracked
  "$source_dir/scripts/pg-sandbox" stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

for tool in prometheus prometheus-alertmanager promtool; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is missing (scripts/install-deps installs it)"; exit 1; }
done

# The store, its history and live traffic with a degraded model version.
"$source_dir/scripts/pg-sandbox" start "$work/pg" >"$work/pg.log" 2>&1 || { cat "$work/pg.log"; exit 1; }
dsn=$(cat "$work/pg/dsn")
OUTCOMES_GENERATOR="$generator" "$source_dir/scripts/load-demo-data" --no-grants "$dsn" \
  --days 2 --per-day 500 >"$work/load.log" 2>&1 || { cat "$work/load.log"; exit 1; }
"$generator" --dsn "$dsn" live --rate 40 --degrade-version v1.2.0 --degrade-after 0s \
  --degrade-return-rate 0.3 >"$work/generator.log" 2>&1 &
track $!

# A stand-in model endpoint (and registry), so the endpoint panels and SLOs have data.
model_port=$(free_port)
python3 "$source_dir/tests/integration/fake_model_server.py" --port "$model_port" >/dev/null 2>&1 &
track $!
wait_for 10 curl -sf "http://127.0.0.1:$model_port/health"

# The sidecar, with every collector.
sidecar_port=$(free_port)
cat >"$work/outcomes_exporter.yml" <<EOF2
store:
  dsn: "$dsn"
  interval: 1s
analytics:
  cost_per_recommendation: 0.01
  ab_tests: {interval: 5s}
  drift: {interval: 5s}
  cohorts: {interval: 5s, lag: 12h, window: 1d}  # matured cohorts within the 2 days of history
  data_quality: {interval: 5s}
endpoints:
  - name: reco-api
    url: http://127.0.0.1:$model_port/health
    interval: 1s
    model_info: {model_name: /model/name, model_version: /model/version, stage: /model/stage}
    fields:
      - {metric: model_accuracy_ratio, pointer: /metrics/accuracy}
      - {metric: model_drift_score, pointer: /metrics/drift_score}
      - {metric: model_trained_timestamp_seconds, pointer: /metrics/trained_at}
registries:
  - name: mlflow
    url: http://127.0.0.1:$model_port
    models: [reco-ranker]
    interval: 5s
EOF2
# Served as a careful deployment would: HTTPS, client certificates required, basic auth.
(cd "$work" && make_test_pki) || { echo "openssl failed"; exit 1; }
cat >"$work/web.yml" <<EOF2
tls_server_config:
  cert_file: $work/server.crt
  key_file: $work/server.key
  client_ca_file: $work/ca.crt
  client_auth_type: RequireAndVerifyClientCert
basic_auth_users:
  prometheus: '$test_bcrypt_hash'
EOF2
printf 's3cret-test-pass' >"$work/scrape-password"
"$binary" --config.file="$work/outcomes_exporter.yml" --web.config.file="$work/web.yml" \
  --web.listen-address="127.0.0.1:$sidecar_port" >"$work/exporter.log" 2>&1 &
track $!

# The webhook that stands for the pager, the ticket queue and the retraining pipeline.
hook_port=$(free_port)
python3 "$source_dir/tests/e2e/webhook_receiver.py" --port "$hook_port" --out "$work/notifications.jsonl" &
track $!

# Alertmanager with the shipped routing; only the receivers' URLs and the waits change.
am_port=$(free_port)
sed -e "s#http://127.0.0.1:5001/placeholder/#http://127.0.0.1:$hook_port/#" \
    -e 's/group_wait: .*/group_wait: 1s/' -e 's/group_interval: .*/group_interval: 1s/' \
    "$source_dir/deploy/alertmanager/alertmanager.yml" >"$work/alertmanager.yml"
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
track $!

# Prometheus with the shipped rules and alerts, `for:` shortened in the copies.
mkdir -p "$work/rules"
for file in "$source_dir"/rules/*.yml "$source_dir"/alerts/*.yml; do
  sed -E 's/^([[:space:]]*)for: .*/\1for: 0s/' "$file" >"$work/rules/$(basename "$(dirname "$file")")-$(basename "$file")"
done
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$work/rules/*.yml"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$am_port"]
scrape_configs:
  - job_name: outcomes_exporter
    scheme: https
    tls_config:
      ca_file: $work/ca.crt
      cert_file: $work/client.crt
      key_file: $work/client.key
    basic_auth:
      username: prometheus
      password_file: $work/scrape-password
    static_configs:
      - targets: ["127.0.0.1:$sidecar_port"]
EOF2
start_prometheus "$work" "$prom_port" "the Prometheus config and the rule copies are valid"

check "Prometheus scrapes the sidecar over mutual TLS with basic auth" wait_for 60 series_present 'up{job="outcomes_exporter"} == 1'
check "the return rate of v1.2.0 is recorded above 15%" wait_for 150 series_present \
  'model_version:outcomes_events_returned_per_purchased:ratio1d{model_version="v1.2.0"} > 0.15'

notified() {  # notified RECEIVER_PATH: the webhook got OutcomesReturnRateHigh for v1.2.0 there
  python3 - "$work/notifications.jsonl" "$1" <<'PY'
import json, sys
path, receiver = sys.argv[1], sys.argv[2]
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    sys.exit(1)
for line in lines:
    note = json.loads(line)
    if not note["path"].endswith(receiver):
        continue
    for alert in note["payload"].get("alerts", []):
        labels = alert["labels"]
        if (labels.get("alertname") == "OutcomesReturnRateHigh"
                and labels.get("model_version") == "v1.2.0" and alert["status"] == "firing"):
            sys.exit(0)
sys.exit(1)
PY
}
check "OutcomesReturnRateHigh for v1.2.0 reaches the retraining webhook" wait_for 120 notified retraining
check "and the same-day investigation queue (P2)" wait_for 30 notified investigate
check "it does not page: a retraining trigger is not an outage" bash -c '! grep -q "\"path\": \"/oncall\".*OutcomesReturnRateHigh" "$1"' _ "$work/notifications.jsonl"

python3 - "$work/notifications.jsonl" >"$work/alert.json" <<'PY'
import json, sys
for line in open(sys.argv[1]).read().splitlines():
    note = json.loads(line)
    if not note["path"].endswith("retraining"):  # the HIGH one: the retraining webhook's
        continue
    for alert in note["payload"].get("alerts", []):
        if (alert["labels"].get("alertname") == "OutcomesReturnRateHigh"
                and alert["labels"].get("model_version") == "v1.2.0"):
            print(json.dumps(alert))
            sys.exit(0)
PY
label_is() { python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); sys.exit(0 if a["labels"].get(sys.argv[2]) == sys.argv[3] else 1)' "$work/alert.json" "$1" "$2"; }
check "it is critical" label_is severity critical
check "its priority is HIGH" label_is priority HIGH
check "its trigger is HIGH_RETURN_RATE" label_is trigger HIGH_RETURN_RATE
check "its escalation is P2" label_is escalation P2
check "the decision for v1.2.0 is Retrain" series_present \
  'model_version:outcomes_retraining_decision:value{model_version="v1.2.0"} == 2'
check "the decision for the healthy v1.1.0 is Continue" series_present \
  'model_version:outcomes_retraining_decision:value{model_version="v1.1.0"} == 0'
check "the thresholds come from the sidecar's configuration" series_present \
  'outcomes_trigger_threshold{trigger="HIGH_RETURN_RATE",priority="MEDIUM",model_version=""} == 0.15'
check "it links its runbook" python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); sys.exit(0 if a["annotations"].get("runbook_url", "").endswith("docs/runbooks/OutcomesReturnRateHigh.md") else 1)' "$work/alert.json"
check "its description states the current value" python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); sys.exit(0 if "%" in a["annotations"].get("description", "") else 1)' "$work/alert.json"

check "every dashboard panel's expression evaluates, and returns data where the run's history allows" \
  bash -c "python3 '$source_dir/tests/e2e/panels_return_data.py' '$prom' >'$work/panels.log' 2>&1"
grep -E '^(FAIL|\()|^panels:' "$work/panels.log"

no_alerts_for_healthy() {
  [[ "$(query 'ALERTS{alertstate="firing", model_version="v1.1.0"}')" -eq 0 ]] &&
    ! grep -q '"model_version": "v1.1.0"' "$work/notifications.jsonl"
}
check "the healthy version v1.1.0 raises nothing" no_alerts_for_healthy

if ((failed > 0)); then
  for log in exporter prometheus alertmanager generator; do
    echo "--- $log log (last lines) ---"
    tail -n 15 "$work/$log.log"
  done
  echo "--- notifications ---"
  cat "$work/notifications.jsonl" 2>/dev/null | head -c 3000
  echo
  echo "--- firing alerts ---"
  curl -sf --get "$prom/api/v1/query" --data-urlencode 'query=ALERTS{alertstate="firing"}' | head -c 3000
  echo
fi
harness_finish
