#!/usr/bin/env bash
# Two stores on one Prometheus, with every part real on 127.0.0.1: two outcomes stores (two
# databases of one PostgreSQL), one with live traffic and one without, a sidecar on each, and
# one Prometheus scraping both (target label `store`) with the shipped rules rendered by
# scripts/render-rules --group-labels store. Every recorded series keeps its store, the
# busy store's traffic never shows up in the quiet one's series, and when one sidecar stops
# only that store's alert fires; a dashboard panel with one store chosen shows only that
# store's series. `for:` is shortened to 0s in the rendered copies (the promtool tests cover
# the rules as shipped).
# Usage: multistore_test.sh BINARY GENERATOR SOURCE_DIR
set -uo pipefail

binary=$1
generator=$2
source_dir=$3
# shellcheck source=../lib/harness.sh
source "$source_dir/tests/lib/harness.sh"
HARNESS_NAME=e2e.multistore
work=$(make_workdir outcomes-multistore)

cleanup() {
  stop_tracked
  "$source_dir/scripts/pg-sandbox" stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

for tool in prometheus promtool psql; do
  command -v "$tool" >/dev/null || { echo "multistore: $tool is missing (scripts/install-deps installs it)"; exit 1; }
done

# Two stores with the same history; live traffic reaches store a only.
"$source_dir/scripts/pg-sandbox" start "$work/pg" >"$work/pg.log" 2>&1 || { cat "$work/pg.log"; exit 1; }
dsn_a=$(cat "$work/pg/dsn")
dsn_b=${dsn_a%/outcomes}/outcomes_b
psql -X -q "$dsn_a" -c "CREATE DATABASE outcomes_b" || exit 1
for dsn in "$dsn_a" "$dsn_b"; do
  OUTCOMES_GENERATOR="$generator" "$source_dir/scripts/load-demo-data" --no-grants "$dsn" \
    --days 1 --per-day 300 >>"$work/load.log" 2>&1 || { cat "$work/load.log"; exit 1; }
done
"$generator" --dsn "$dsn_a" live --rate 20 >"$work/generator.log" 2>&1 &
track $!

# One sidecar per store.
declare -A port pid
for store in a b; do
  port[$store]=$(free_port)
  dsn_var=dsn_$store
  printf 'store:\n  dsn: "%s"\n  interval: 1s\n' "${!dsn_var}" >"$work/sidecar-$store.yml"
  "$binary" --config.file="$work/sidecar-$store.yml" \
    --web.listen-address="127.0.0.1:${port[$store]}" >"$work/exporter-$store.log" 2>&1 &
  pid[$store]=$!
  track "${pid[$store]}"
done

# One Prometheus, the rules rendered to keep `store`.
"$source_dir/scripts/render-rules" --group-labels store "$work/rendered" || exit 1
mkdir -p "$work/rules"
for file in "$work"/rendered/*/*.yml; do
  sed -E 's/^([[:space:]]*)for: .*/\1for: 0s/' "$file" >"$work/rules/$(basename "$(dirname "$file")")-$(basename "$file")"
done
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$work/rules/*.yml"]
scrape_configs:
  - job_name: outcomes_exporter
    static_configs:
      - targets: ["127.0.0.1:${port[a]}"]
        labels: {store: a}
      - targets: ["127.0.0.1:${port[b]}"]
        labels: {store: b}
EOF2
start_prometheus "$work" "$prom_port" "the Prometheus config and the rendered rules are valid"

check "Prometheus scrapes both sidecars" wait_for 60 series_present \
  'count(count by (store) (up{job="outcomes_exporter"} == 1)) == 2'
check "the recommendations of each store are recorded apart" wait_for 90 series_present \
  'count(count by (store) (model_version:outcomes_recommendations:increase1h)) == 2'
check "the busy store's traffic is recorded for store a" wait_for 60 series_present \
  'sum(model_version:outcomes_recommendations:increase1h{store="a"}) > 0'
check "and never for the quiet store b" no_series \
  'sum(model_version:outcomes_recommendations:increase1h{store="b"}) > 0'
# The SLO objectives are constants shared by every store: the only series without `store`.
check "every recorded series keeps its store" no_series \
  '{__name__=~".+:.+", store="", __name__!~"slo:(objective|error_budget):ratio|slo:time_period:days"}'

# The dashboards' store variable, as Grafana fills it in: the job variable's All is the jobs
# found (outcomes_exporter here), the cluster variable's All `.*` also matches these targets,
# which have no cluster label.
panel() {  # panel DASHBOARD "PANEL TITLE" [panel_query.py options]: the panel's query
  python3 "$source_dir/tests/dashboards/panel_query.py" "$source_dir/grafana/dashboards/outcomes-$1.json" \
    "$2" --set job=outcomes_exporter "${@:3}"
}
scrape_up_a=$(panel sidecar "Scrape up" --set store=a) || exit 1
check "the Sidecar dashboard's Scrape up panel, store a chosen, shows store a's target" \
  series_present "($scrape_up_a) and on (store) up{store=\"a\"}"
check "and no other store's" no_series "($scrape_up_a) unless on (store) up{store=\"a\"}"
check "with every store (All), it shows both targets, though they have no cluster label" \
  series_present "count($(panel sidecar "Scrape up")) == 2"
served_a=$(panel business "Recommendations served" --set store=a --set __range=2m) || exit 1
served_b=$(panel business "Recommendations served" --set store=b --set __range=2m) || exit 1
check "the Business dashboard's Recommendations served counts the busy store a's traffic" \
  wait_for 30 series_present "($served_a) > 0"
check "and none when the quiet store b is chosen" series_present "($served_b) == 0"
live_rate_a=$(panel model-health "Purchase rate: live and matured cohort" --set store=a) || exit 1
live_rate_b=$(panel model-health "Purchase rate: live and matured cohort" --set store=b) || exit 1
check "a panel on a recorded series, store a chosen, shows store a's series" \
  wait_for 60 series_present "($live_rate_a) and on (store) up{store=\"a\"}"
# Store b has no live purchase rate (no recommendation since the start), store a has one.
check "and nothing when the quiet store b is chosen, though store a has a series" \
  no_series "$live_rate_b"

kill "${pid[b]}"
check "when store b's sidecar stops, OutcomesExporterDown fires for store b" wait_for 60 series_present \
  'ALERTS{alertname="OutcomesExporterDown", alertstate="firing", store="b"}'
check "and not for store a" no_series 'ALERTS{alertname="OutcomesExporterDown", store="a"}'

if ((failed > 0)); then
  for log in exporter-a exporter-b prometheus generator; do
    echo "--- $log log (last lines) ---"
    tail -n 15 "$work/$log.log"
  done
fi
harness_finish
