#!/usr/bin/env bash
# Checks the shipped Prometheus rules and Alertmanager configuration, with the real tools:
#
#   promtool check rules        every rules/*.yml and alerts/*.yml
#   promtool test rules         every tests/rules/*_test.yml
#   several stores              scripts/render-rules --check; the rules rendered with other
#                               selectors and group labels load; every test above, made
#                               for two stores by tests/rules/multistore.py, passes
#   simulations                 the 30-day promtool tests tests/rules/simulate.py writes
#                               (null workload, one scenario per trigger), two at a time
#   alerts                      every alert has docs/runbooks/<AlertName>.md, its
#                               runbook_url points there, docs/ALERTS.md lists it,
#                               and a test case of tests/rules/ expects it to fire
#   amtool check-config         deploy/alertmanager/alertmanager.yml
#   amtool config routes test   the routing cases below, and every alert rule of
#                               alerts/*.yml reaches the receivers its labels promise
#   inhibition                  the inhibit rules, against a real Alertmanager started
#                               on 127.0.0.1 for the duration of the run
#
# Prints one line per check and ends with "rules: N passed, M failed"; exits 1 if any
# check failed (a missing tool is a failure, not a skip). Needs promtool (Debian package
# prometheus), amtool and prometheus-alertmanager (package prometheus-alertmanager),
# curl and python3; scripts/install-deps installs them. Runs from any directory.
set -uo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." || exit 1

alertmanager_config=deploy/alertmanager/alertmanager.yml
runbook_base=https://github.com/outcomes-exporter/outcomes_exporter/blob/main/docs/runbooks/

passed=0
failed=0
pass() { echo "ok    $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*"; failed=$((failed + 1)); }
# check DESCRIPTION COMMAND...: runs COMMAND, shows its output only when it fails.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass "$what"
  else
    fail "$what"
    indent <<<"$out"
  fi
}
have() { command -v "$1" >/dev/null 2>&1; }
indent() { local l; while IFS= read -r l; do echo "        $l"; done; }

# Temporary state, removed on exit: the Alertmanager of the inhibition checks, the
# simulations' and the rendered rules' directories.
am_pid=
am_dir=
sim_dir=
multistore_dir=
cleanup() {
  [[ -n $am_pid ]] && kill "$am_pid" 2>/dev/null && wait "$am_pid" 2>/dev/null
  [[ -n $am_dir ]] && rm -rf "$am_dir"
  [[ -n $sim_dir ]] && rm -rf "$sim_dir"
  [[ -n $multistore_dir ]] && rm -rf "$multistore_dir"
}
trap cleanup EXIT

shopt -s nullglob
rule_files=(rules/*.yml alerts/*.yml)
test_files=(tests/rules/*_test.yml)

# ------------------------------------------------------------------ promtool
if have promtool; then
  for f in "${rule_files[@]}"; do
    check "promtool check rules $f" promtool check rules "$f"
  done
  for f in "${test_files[@]}"; do
    check "promtool test rules $f" promtool test rules "$f"
  done
else
  fail "promtool not found: install the Debian package prometheus (scripts/install-deps does)"
fi

# ------------------------------------------------------------------ several stores
# scripts/render-rules: the shipped files follow its conventions; rendered with another
# selector and group labels they still load; and rendered with group label `store`, every
# test above passes for two stores at once (tests/rules/multistore.py), which fails if a
# rule or an annotation mixes them.
render_checks() {
  check "render-rules --check (selectors and aggregations of the shipped files)" scripts/render-rules --check
  multistore_dir=$(mktemp -d)
  local other=$multistore_dir/other f
  if scripts/render-rules --selector 'job="outcomes",env="prod"' --group-labels cluster,store "$other"; then
    for f in "$other"/rules/*.yml "$other"/alerts/*.yml; do
      check "promtool check rules (selector job=\"outcomes\", groups cluster,store) ${f#"$other"/}" promtool check rules "$f"
    done
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash
    check "render-rules: no default selector left after --selector" \
      bash -c '! grep -rl "job=\"outcomes_exporter\"" "$1"' _ "$other"
  else
    fail "render-rules --selector ... --group-labels cluster,store failed"
  fi
  if ! out=$(python3 tests/rules/multistore.py "$multistore_dir/two" 2>&1); then
    fail "tests/rules/multistore.py failed"
    indent <<<"$out"
    return
  fi
  for f in $out; do
    check "two stores: promtool test rules $(basename "$f")" promtool test rules "$f"
  done
}
if have promtool && have python3; then
  render_checks
else
  fail "several stores: need promtool and python3"
fi

# ------------------------------------------------------------------ simulations
# Generated into a temporary directory (about 0.5 MB per scenario), run two at a time: each
# evaluates the rules 1440 times over 30 simulated days.
simulation_checks() {
  sim_dir=$(mktemp -d)
  if ! out=$(python3 tests/rules/simulate.py "$sim_dir" 2>&1); then
    fail "simulations: tests/rules/simulate.py failed"
    indent <<<"$out"
    return
  fi
  (cd "$sim_dir" && printf '%s\n' sim_*_test.yml |
    xargs -P2 -I{} sh -c 'promtool test rules {} >{}.log 2>&1; echo $? >{}.rc')
  local f name
  for f in "$sim_dir"/sim_*_test.yml; do
    name=$(basename "$f" _test.yml)
    if [[ $(cat "$f.rc" 2>/dev/null) == 0 ]]; then
      pass "simulation ${name#sim_} (30 days)"
    else
      fail "simulation ${name#sim_} (30 days)"
      indent <"$f.log"
    fi
  done
}
if have promtool && have python3; then
  simulation_checks
else
  fail "simulations: need promtool and python3"
fi

# ------------------------------------------------------------------ alert inventory
# One line per alerting rule: name, severity, priority, trigger, escalation, runbook_url
# ("-" when absent). The alert files are written one key per line, which this relies on.
alert_rules() {
  awk '
    function flush() {
      if (name != "") print name, sev, prio, trig, esc, url
      name = ""; sev = "-"; prio = "-"; trig = "-"; esc = "-"; url = "-"
    }
    BEGIN { name = "" }
    /^[[:space:]]*- (alert|record):/ { flush(); if ($2 == "alert:") name = $3; next }
    name != "" && /^[[:space:]]+severity:/ { sev = $2 }
    name != "" && /^[[:space:]]+priority:/ { prio = $2 }
    name != "" && /^[[:space:]]+trigger:/ { trig = $2 }
    name != "" && /^[[:space:]]+escalation:/ { esc = $2 }
    name != "" && /^[[:space:]]+runbook_url:/ { url = $2 }
    END { flush() }
  ' "$@"
}
mapfile -t alerts < <(alert_rules alerts/*.yml)
mapfile -t alert_names < <(printf '%s\n' "${alerts[@]}" | awk '{print $1}' | sort -u)

# Every alert: a known severity, a runbook that its runbook_url points to, an entry in
# the catalogue, and a test case in which it fires; and no runbook without its alert.
docs_ok() {
  local problems=() name sev prio trig esc url
  for line in "${alerts[@]}"; do
    read -r name sev prio trig esc url <<<"$line"
    [[ $url == "$runbook_base$name.md" ]] || problems+=("$name: runbook_url is $url")
    [[ $sev =~ ^(critical|warning|info)$ ]] || problems+=("$name: severity is $sev")
    [[ $esc =~ ^(P1|P2|P3)$ || $sev == info ]] || problems+=("$name: escalation is $esc")
    [[ $trig != MODEL_DRIFT || $esc == P3 ]] || problems+=("$name: drift must not page (escalation $esc)")
  done
  for name in "${alert_names[@]}"; do
    [[ -f docs/runbooks/$name.md ]] || problems+=("$name: no docs/runbooks/$name.md")
    grep -qx "### $name" docs/ALERTS.md 2>/dev/null ||
      problems+=("$name: no '### $name' section in docs/ALERTS.md")
  done
  for f in docs/runbooks/*.md; do
    name=$(basename "$f" .md)
    printf '%s\n' "${alert_names[@]}" | grep -qx "$name" || problems+=("$f: no alert of that name")
  done
  ((${#problems[@]} == 0)) || { printf '%s\n' "${problems[@]}" | sort -u; return 1; }
}
tests_ok() {
  local problems=() name
  for name in "${alert_names[@]}"; do
    cat "${test_files[@]}" /dev/null | grep -A1 -x "[[:space:]]*alertname: $name" | grep -q 'exp_alerts:' ||
      problems+=("$name: no test case in tests/rules/ expects it to fire")
  done
  ((${#problems[@]} == 0)) || { printf '%s\n' "${problems[@]}"; return 1; }
}
if ((${#alerts[@]} > 0)); then
  check "alerts: ${#alert_names[@]} alerts, each with its runbook and catalogue entry" docs_ok
  check "alerts: each of the ${#alert_names[@]} alerts has a test case where it fires" tests_ok
else
  fail "alerts: no alerting rule found in alerts/*.yml"
fi

# ------------------------------------------------------------------ amtool
route_test() { # EXPECTED-RECEIVERS LABEL=VALUE...
  local expected=$1
  shift
  amtool config routes test --config.file="$alertmanager_config" \
    --verify.receivers="$expected" "$@"
}

# Cases that prove the routing tree: EXPECTED-RECEIVERS|LABELS.
route_cases=(
  "oncall|alertname=ModelEndpointDown severity=critical escalation=P1 endpoint=reco-api"
  "oncall|alertname=ModelEndpointAvailabilityErrorBudgetBurn severity=critical escalation=P1 endpoint=reco-api long_window=1h"
  "retraining,investigate|alertname=OutcomesPurchaseRateDropped severity=critical escalation=P2 priority=HIGH trigger=PERFORMANCE_DROP model_version=v7"
  "investigate|alertname=OutcomesPurchaseRateDropped severity=warning escalation=P2 priority=MEDIUM trigger=PERFORMANCE_DROP model_version=v7"
  "retraining,ticket|alertname=ModelDriftHigh severity=critical escalation=P3 priority=HIGH trigger=MODEL_DRIFT model_version=v7 endpoint=reco-api"
  "ticket|alertname=ModelDriftHigh severity=warning escalation=P3 priority=MEDIUM trigger=MODEL_DRIFT model_version=v7"
  "ticket|alertname=OutcomesDataStale severity=warning escalation=P3"
  "null|alertname=OutcomesNewDataThresholdReached severity=info priority=LOW trigger=NEW_DATA_THRESHOLD model_version=v7"
  "oncall|alertname=LocalAlert severity=critical"
  "ticket|alertname=AlertWithoutSeverity"
)

# The receivers an alert rule's labels should reach.
expected_receivers() { # SEVERITY PRIORITY TRIGGER ESCALATION
  local receivers=()
  [[ $2 == HIGH && $3 != - ]] && receivers+=(retraining)
  case $4 in
    P1) receivers+=(oncall) ;;
    P2) receivers+=(investigate) ;;
    P3) receivers+=(ticket) ;;
    *)
  case $1 in
    critical) receivers+=(oncall) ;;
    warning) receivers+=(ticket) ;;
    info) receivers+=(null) ;;
    *) receivers+=(ticket) ;;
  esac ;;
  esac
  local IFS=,
  echo "${receivers[*]}"
}

if have amtool; then
  check "amtool check-config $alertmanager_config" amtool check-config "$alertmanager_config"
  for c in "${route_cases[@]}"; do
    expected=${c%%|*}
    read -r -a labels <<<"${c#*|}"
    check "route ${labels[*]} -> $expected" route_test "$expected" "${labels[@]}"
  done
  # Every alert rule (once per distinct set of routing labels).
  while read -r name sev prio trig esc; do
    labels=("alertname=$name")
    [[ $sev != - ]] && labels+=("severity=$sev")
    [[ $prio != - ]] && labels+=("priority=$prio")
    [[ $trig != - ]] && labels+=("trigger=$trig")
    [[ $esc != - ]] && labels+=("escalation=$esc")
    expected=$(expected_receivers "$sev" "$prio" "$trig" "$esc")
    check "route of rule ${labels[*]} -> $expected" route_test "$expected" "${labels[@]}" model_version=v1
  done < <(printf '%s\n' "${alerts[@]}" | awk '{print $1, $2, $3, $4, $5}' | awk '!seen[$0]++')
else
  fail "amtool not found: install the Debian package prometheus-alertmanager (scripts/install-deps does)"
fi

# ------------------------------------------------------------------ inhibition
# A real Alertmanager with the shipped configuration, on a free loopback port, its
# storage in a temporary directory. Its notifications go to the placeholder webhooks,
# where nothing listens: they fail and are only logged.

# state ALERTMANAGER-URL LABEL=VALUE...: "active", "suppressed" or "missing" for the
# alert whose labels include all of the given ones.
alert_state() {
  local url=$1
  shift
  curl -fsS "$url/api/v2/alerts" | python3 -c '
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[1:])
states = [a["status"]["state"] for a in json.load(sys.stdin)
          if all(a["labels"].get(k) == v for k, v in want.items())]
print(states[0] if len(states) == 1 else "missing" if not states else "ambiguous")
' "$@"
}

# expect_state URL STATE LABEL=VALUE...: waits up to 5 s for the alert to reach STATE
# (the inhibitor sees new alerts asynchronously).
expect_state() {
  local url=$1 want=$2 got
  shift 2
  for _ in $(seq 50); do
    got=$(alert_state "$url" "$@") || got="query failed"
    [[ $got == "$want" ]] && return 0
    sleep 0.1
  done
  echo "expected $want, got $got: $*"
  return 1
}

post() { # URL LABEL=VALUE...
  local url=$1
  shift
  amtool alert add --alertmanager.url="$url" "$@" >/dev/null
}

inhibition_checks() {
  local port url
  am_dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  url=http://127.0.0.1:$port
  prometheus-alertmanager --config.file="$alertmanager_config" --storage.path="$am_dir" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
    --log.level=error >"$am_dir/log" 2>&1 &
  am_pid=$!
  local ready=
  for _ in $(seq 100); do
    curl -fsS "$url/-/ready" >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.1
  done
  if [[ -z $ready ]]; then
    fail "inhibition: Alertmanager did not start on $url"
    indent <"$am_dir/log"
    return
  fi

  # Critical mutes the same alert's warning for the same model version only.
  post "$url" alertname=OutcomesReturnRateHigh severity=critical priority=HIGH trigger=HIGH_RETURN_RATE model_version=v1
  post "$url" alertname=OutcomesReturnRateHigh severity=warning priority=MEDIUM trigger=HIGH_RETURN_RATE model_version=v1
  post "$url" alertname=OutcomesReturnRateHigh severity=warning priority=MEDIUM trigger=HIGH_RETURN_RATE model_version=v2
  check "inhibition: a critical alert mutes its own warning" \
    expect_state "$url" suppressed alertname=OutcomesReturnRateHigh severity=warning model_version=v1
  check "inhibition: ... not the same alert's warning for another model version" \
    expect_state "$url" active alertname=OutcomesReturnRateHigh severity=warning model_version=v2
  check "inhibition: ... nor itself" \
    expect_state "$url" active alertname=OutcomesReturnRateHigh severity=critical model_version=v1

  # An endpoint that is down mutes its own burn-rate alerts, not another endpoint's.
  post "$url" alertname=ModelEndpointDown severity=critical endpoint=reco-api
  post "$url" alertname=ModelEndpointAvailabilityErrorBudgetBurn severity=critical endpoint=reco-api long_window=1h short_window=5m slo=model-endpoint-availability
  post "$url" alertname=ModelEndpointAvailabilityErrorBudgetBurn severity=critical endpoint=ranker long_window=1h short_window=5m slo=model-endpoint-availability
  check "inhibition: ModelEndpointDown mutes the endpoint's error-budget burn" \
    expect_state "$url" suppressed alertname=ModelEndpointAvailabilityErrorBudgetBurn endpoint=reco-api
  check "inhibition: ... not another endpoint's" \
    expect_state "$url" active alertname=ModelEndpointAvailabilityErrorBudgetBurn endpoint=ranker

  # A failing endpoint collector leaves the business triggers alone; a store outage
  # mutes them, but not the endpoint-based triggers.
  post "$url" alertname=OutcomesAcceptanceRateLow severity=critical priority=HIGH trigger=LOW_ACCEPTANCE_RATE model_version=v3
  post "$url" alertname=ModelDriftHigh severity=critical priority=HIGH trigger=MODEL_DRIFT model_version=v3 endpoint=reco-api
  post "$url" alertname=OutcomesExporterCollectorFailing severity=warning collector=endpoint/reco-api
  check "inhibition: a failing endpoint collector does not mute the business triggers" \
    expect_state "$url" active alertname=OutcomesAcceptanceRateLow model_version=v3
  post "$url" alertname=OutcomesStoreDown severity=critical instance=a:9477
  check "inhibition: OutcomesStoreDown mutes the business triggers" \
    expect_state "$url" suppressed alertname=OutcomesAcceptanceRateLow model_version=v3
  check "inhibition: ... not the endpoint-based ones" \
    expect_state "$url" active alertname=ModelDriftHigh model_version=v3
}

if have prometheus-alertmanager && have amtool && have curl && have python3; then
  inhibition_checks
else
  fail "inhibition: needs prometheus-alertmanager and amtool (Debian package prometheus-alertmanager), curl and python3"
fi

echo "rules: $passed passed, $failed failed"
((failed == 0))
