#!/usr/bin/env python3
"""Long-horizon simulations of the retraining rules, written as promtool tests.

Each scenario simulates 30 days of a recommendation system, one sample every 30 minutes:
several model versions, diurnal traffic with quiet nights, Poisson arrivals, and every
recommendation's outcomes drawn one by one (accepted or rejected within the hour; purchased
hours later; returned days later; satisfaction feedback a few hours later). From these the
generator writes the counters the sidecar exports (outcomes_recommendations_total,
outcomes_events_total, outcomes_feedback_total, outcomes_feedback_score_total) and the gauges
of its analytics collectors (matured cohorts, prediction PSI), and the promtool checks of the
scenario:

  null          two stable versions: no warning or critical trigger ever, the decision is
                Continue for every version at least 95% of the time
  one per trigger, the degradation starting on day 16 at 10:00 for the recommendations made after it:
                the trigger fires within 36 hours, no trigger the degradation does not imply,
                nothing for the healthy versions, the decision leaves Continue

    python3 tests/rules/simulate.py OUTPUT-DIR

writes OUTPUT-DIR/sim_<scenario>_test.yml (the rule files referenced by absolute path).
Deterministic: the random generator of each scenario is seeded with its name.
"""
import bisect
import math
import os
import random
import sys
from dataclasses import dataclass, field

STEP = 1800  # seconds between samples and rule evaluations
DAYS = 30
STEPS = DAYS * 86400 // STEP
STEPS_PER_HOUR = 3600 // STEP
DAY = 86400 // STEP
# The step from which a scenario's degradation applies: day 16 at 10:00, when releases ship.
ONSET = 16 * DAY + 10 * STEPS_PER_HOUR
DETECTION = 36 * STEPS_PER_HOUR  # a trigger must fire within 36 hours of the onset

# The cohorts collector in these simulations: recommendations created between 8 days and
# 1 day ago (lag 1d, window 7d); it and the drift collector compute once an hour.
COHORT_LAG = DAY
COHORT_WINDOW = 7 * DAY
CHI2_95_9 = 16.919  # 95% quantile of chi-square with 9 degrees of freedom (10 PSI bins)

# Traffic of the whole system: recommendations per day, shared between the versions serving.
DAILY_RECOMMENDATIONS = 16000
# Mean delays after the recommendation (decision, purchase, feedback) or the purchase (return).
DECISION_DELAY = 1200
PURCHASE_DELAY = 6 * 3600
RETURN_DELAY = 86400
FEEDBACK_DELAY = 2 * 3600


@dataclass
class Behaviour:
    acceptance: float = 0.65  # accepted / decided
    purchase: float = 0.10  # purchased / recommendations (only accepted ones are purchased)
    returns: float = 0.05  # returned / purchased
    satisfaction: float = 4.0  # mean SATISFACTION score, 1 to 5
    feedback: float = 0.08  # share of recommendations with SATISFACTION feedback
    psi: float = 0.0  # drift of the score distribution (PSI) once fully drifted


@dataclass
class Version:
    name: str
    share: float  # of the system's traffic while serving
    start: int = 0  # first step serving
    end: int = STEPS + 1  # first step no longer serving
    healthy: Behaviour = field(default_factory=Behaviour)
    degraded: Behaviour | None = None  # for recommendations created from ONSET on


@dataclass
class Scenario:
    name: str
    description: str
    versions: list
    bad: str | None = None  # the degraded version
    own_alert: str | None = None  # the alert its degradation must raise
    expected_alerts: tuple = ()  # every (alertname, model_version) allowed to fire: exactly these


def diurnal(step):
    """Relative traffic at a step: a peak in the evening, quiet nights (1 to 6 h)."""
    hour = (step % DAY) / STEPS_PER_HOUR
    if 1 <= hour < 6:
        return 0.05
    return 1 + 0.6 * math.sin(2 * math.pi * (hour - 14) / 24)


def poisson(rng, mean):
    if mean > 30:  # normal approximation, exact enough at this size
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def score(rng, mean):
    return min(5, max(1, round(rng.gauss(mean, 0.9))))


class Simulation:
    """Counters and per-bucket outcome times of one version."""

    def __init__(self, rng, version, scale):
        self.v = version
        n = STEPS + 1
        self.recommendations = [0] * n
        self.events = {s: [0] * n for s in ("ACCEPTED", "REJECTED", "PURCHASED", "RETURNED")}
        self.feedback = [0] * n
        self.feedback_score = [0] * n
        self.purchase_times = {}  # creation step -> sorted purchase times (steps, float)
        self.drifted = [0.0] * n
        for step in range(max(1, version.start), min(version.end, n)):
            count = poisson(rng, scale * diurnal(step) * version.share)
            behaviour = version.healthy
            if version.degraded is not None and step >= ONSET:
                behaviour = version.degraded
            self.recommendations[step] += count
            if behaviour.psi:
                self.drifted[step] = behaviour.psi
            times = []
            for _ in range(count):
                created = step - 1 + rng.random()
                self._outcomes(rng, behaviour, created, times)
            self.purchase_times[step] = sorted(times)

    def _at(self, counter, when, amount=1):
        index = math.ceil(when)
        if index <= STEPS:
            counter[index] += amount

    def _outcomes(self, rng, b, created, purchase_times):
        accepted = rng.random() < b.acceptance
        self._at(self.events["ACCEPTED" if accepted else "REJECTED"],
                 created + rng.expovariate(STEP / DECISION_DELAY))
        if accepted and rng.random() < b.purchase / b.acceptance:
            bought = created + rng.expovariate(STEP / PURCHASE_DELAY)
            self._at(self.events["PURCHASED"], bought)
            purchase_times.append(bought)
            if rng.random() < b.returns:
                self._at(self.events["RETURNED"], bought + rng.expovariate(STEP / RETURN_DELAY))
        if rng.random() < b.feedback:
            when = created + rng.expovariate(STEP / FEEDBACK_DELAY)
            self._at(self.feedback, when)
            self._at(self.feedback_score, when, score(rng, b.satisfaction))

    def cumulative(self, counter):
        total, out = 0, []
        for step in range(STEPS + 1):
            total += counter[step]
            out.append(total if step >= self.v.start else None)
        return out

    def cohort(self, step):
        """(recommendations, purchased by now) of the cohort the collector sees at `step`."""
        first, last = step - COHORT_LAG - COHORT_WINDOW, step - COHORT_LAG
        recs = bought = 0
        for created in range(max(1, first + 1), last + 1):
            recs += self.recommendations[created]
            times = self.purchase_times.get(created)
            if times:
                bought += bisect.bisect_right(times, step)
        return recs, bought

    def cohort_gauges(self):
        recs, ratio = [None] * (STEPS + 1), [None] * (STEPS + 1)
        value = None
        for step in range(STEPS + 1):
            if step % STEPS_PER_HOUR == 0:  # the collector runs hourly
                n, bought = self.cohort(step)
                value = (n, bought / n) if n > 0 else None
            if value is not None and step >= self.v.start:
                recs[step], ratio[step] = value
        return recs, ratio

    def psi_gauges(self, rng):
        """PSI of the last day's scores against the week before, and its noise level."""
        psi, noise = [None] * (STEPS + 1), [None] * (STEPS + 1)
        value = None
        for step in range(STEPS + 1):
            if step % STEPS_PER_HOUR == 0:
                current = sum(self.recommendations[max(0, step - DAY):step + 1])
                reference = sum(self.recommendations[max(0, step - 8 * DAY):max(0, step - DAY)])
                value = None
                if current > 0 and reference > 0:
                    spread = 1 / current + 1 / reference
                    window = self.drifted[max(0, step - DAY):step + 1]
                    drifted = sum(window) / len(window)
                    # Sampling noise of a PSI over 10 bins is spread x chi-square(9).
                    chance = spread * sum(rng.gauss(0, 1) ** 2 for _ in range(9))
                    value = (chance + drifted, CHI2_95_9 * spread)
            if value is not None and self.v.start <= step < self.v.end + DAY:
                psi[step], noise[step] = value
        return psi, noise


def values(samples):
    return " ".join("_" if v is None else ("%d" % v if isinstance(v, int) else "%.6g" % v)
                    for v in samples)


def series(name, labels, samples):
    # The selector of the shipped rules (scripts/render-rules).
    labels = {"job": "outcomes_exporter", **labels}
    label_text = ",".join('%s="%s"' % kv for kv in labels.items())
    return "      - series: '%s{%s}'\n        values: '%s'\n" % (name, label_text, values(samples))


def first_seen(version):
    return [version.start * STEP if step >= version.start else None for step in range(STEPS + 1)]


def input_series(scenario):
    rng = random.Random(scenario.name)
    scale = DAILY_RECOMMENDATIONS / sum(diurnal(s) for s in range(DAY))
    out = []
    for v in scenario.versions:
        sim = Simulation(rng, v, scale)
        mv = {"model_version": v.name}
        out.append(series("outcomes_recommendations_total", mv, sim.cumulative(sim.recommendations)))
        for status, counter in sim.events.items():
            out.append(series("outcomes_events_total", {**mv, "status": status},
                              sim.cumulative(counter)))
        fb = {**mv, "type": "SATISFACTION"}
        out.append(series("outcomes_feedback_total", fb, sim.cumulative(sim.feedback)))
        out.append(series("outcomes_feedback_score_total", fb, sim.cumulative(sim.feedback_score)))
        recs, ratio = sim.cohort_gauges()
        out.append(series("outcomes_cohort_recommendations", mv, recs))
        out.append(series("outcomes_cohort_purchase_ratio", mv, ratio))
        out.append(series("outcomes_model_version_first_seen_timestamp_seconds", mv, first_seen(v)))
        psi, noise = sim.psi_gauges(rng)
        out.append(series("outcomes_prediction_psi", mv, psi))
        out.append(series("outcomes_prediction_psi_noise_level", mv, noise))
    return "".join(out)


def duration(steps):
    return "%dm" % (steps * STEP // 60)


def expr_test(expr, eval_steps, samples):
    text = "      - eval_time: %s\n        expr: |\n          %s\n" % (duration(eval_steps), expr)
    if not samples:
        return text + "        exp_samples: []\n"
    text += "        exp_samples:\n"
    for labels, value in samples:
        text += "          - labels: '%s'\n            value: %s\n" % (labels, value)
    return text


def checks(scenario):
    end = STEPS
    healthy = [v.name for v in scenario.versions if v.name != scenario.bad]
    out = []
    # Exactly the expected alerts ever fire (warning or critical), and the trigger
    # conditions behind them: nothing for the healthy versions, nothing not implied.
    expected = sorted(scenario.expected_alerts)
    out.append(expr_test(
        'group by (alertname, model_version) (max_over_time(ALERTS{alertstate="firing", severity=~"warning|critical"}[%s]))' % duration(end),
        end, [('{alertname="%s", model_version="%s"}' % a, 1) for a in expected]))
    triggers = sorted({(TRIGGER_OF[a], mv) for a, mv in expected})
    out.append(expr_test(
        'group by (trigger, model_version) (max_over_time(model_version:outcomes_retraining_trigger:value{priority=~"HIGH|MEDIUM"}[%s]))' % duration(end),
        end, [('{trigger="%s", model_version="%s"}' % t, 1) for t in triggers]))
    # The healthy versions are Continue at least 95% of the time they serve.
    out.append(expr_test(
        'avg_over_time((model_version:outcomes_retraining_decision:value{model_version=~"%s"} == bool 0)[%s:1h]) >= bool 0.95'
        % ("|".join(healthy), duration(end)),
        end, [('{model_version="%s"}' % name, 1) for name in sorted(healthy)]))
    if scenario.bad:
        # The degradation's own alert fires within 36 hours of the onset, and the decision
        # leaves Continue.
        out.append(expr_test(
            'group by (alertname, model_version) (max_over_time(ALERTS{alertstate="firing", alertname="%s", model_version="%s"}[%s]))'
            % (scenario.own_alert, scenario.bad, duration(DETECTION)),
            ONSET + DETECTION, [('{alertname="%s", model_version="%s"}' % (scenario.own_alert, scenario.bad), 1)]))
        out.append(expr_test(
            'max_over_time(model_version:outcomes_retraining_decision:value{model_version="%s"}[%s]) > bool 0'
            % (scenario.bad, duration(DETECTION)),
            ONSET + DETECTION, [('{model_version="%s"}' % scenario.bad, 1)]))
    else:
        # NEW_DATA_THRESHOLD holds for the busy, healthy versions without leaving Continue.
        out.append(expr_test(
            'group by (model_version) (model_version:outcomes_retraining_trigger:value{trigger="NEW_DATA_THRESHOLD"} and on (model_version) (model_version:outcomes_retraining_decision:value == 0))',
            end, [('{model_version="%s"}' % name, 1) for name in sorted(healthy)]))
    return "".join(out)


TRIGGER_OF = {
    "OutcomesPurchaseRateDropped": "PERFORMANCE_DROP",
    "OutcomesSatisfactionDropped": "SATISFACTION_DROP",
    "OutcomesReturnRateHigh": "HIGH_RETURN_RATE",
    "OutcomesAcceptanceRateLow": "LOW_ACCEPTANCE_RATE",
    "ModelDriftHigh": "MODEL_DRIFT",
}


def degraded(**change):
    return Behaviour(**change)


SCENARIOS = [
    Scenario("null", "two stable versions, no change", [Version("v1", 0.5), Version("v2", 0.5)]),
    Scenario("return_rate", "return rate 5% -> 25%",
             [Version("v1", 0.5), Version("v2", 0.5, degraded=degraded(returns=0.25))],
             bad="v2", own_alert="OutcomesReturnRateHigh",
             expected_alerts=(("OutcomesReturnRateHigh", "v2"),)),
    # Acceptance 65% -> 40% with the same purchases per acceptance: the purchase rate drops too.
    Scenario("acceptance", "acceptance 65% -> 40%",
             [Version("v1", 0.5), Version("v2", 0.5, degraded=degraded(acceptance=0.40, purchase=0.10 * 0.40 / 0.65))],
             bad="v2", own_alert="OutcomesAcceptanceRateLow",
             expected_alerts=(("OutcomesAcceptanceRateLow", "v2"), ("OutcomesPurchaseRateDropped", "v2"))),
    Scenario("purchase_rate", "purchase rate -30%",
             [Version("v1", 0.5), Version("v2", 0.5, degraded=degraded(purchase=0.07))],
             bad="v2", own_alert="OutcomesPurchaseRateDropped",
             expected_alerts=(("OutcomesPurchaseRateDropped", "v2"),)),
    Scenario("satisfaction", "satisfaction -0.5 star",
             [Version("v1", 0.5), Version("v2", 0.5, degraded=degraded(satisfaction=3.5))],
             bad="v2", own_alert="OutcomesSatisfactionDropped",
             expected_alerts=(("OutcomesSatisfactionDropped", "v2"),)),
    Scenario("drift", "prediction drift, PSI 0.4 against a noise level near 0.005",
             [Version("v1", 0.5), Version("v2", 0.5, degraded=degraded(psi=0.4))],
             bad="v2", own_alert="ModelDriftHigh", expected_alerts=(("ModelDriftHigh", "v2"),)),
    # v3 replaces v2 on day 16 with a 30% lower purchase rate; v1 serves throughout.
    Scenario("bad_release", "a new release with a 30% lower purchase rate replaces v2",
             [Version("v1", 0.5), Version("v2", 0.5, end=ONSET),
              Version("v3", 0.5, start=ONSET, healthy=Behaviour(purchase=0.07))],
             bad="v3", own_alert="OutcomesPurchaseRateDropped",
             expected_alerts=(("OutcomesPurchaseRateDropped", "v3"),)),
]


def test_file(scenario, repo):
    rules = [os.path.join(repo, p) for p in ("rules/business.yml", "rules/retraining.yml", "alerts/retraining.yml")]
    return (
        "# Generated by tests/rules/simulate.py: %s.\n" % scenario.description
        + "rule_files:\n" + "".join("  - %s\n" % r for r in rules)
        + "evaluation_interval: %s\n" % duration(1)
        + "group_eval_order:\n" + "".join("  - %s\n" % g for g in (
            "outcomes-business-1h", "outcomes-business-1d", "outcomes-business-7d",
            "outcomes-business-baseline", "outcomes-retraining", "outcomes-retraining-alerts"))
        + "tests:\n  - name: sim_%s\n    interval: %s\n    input_series:\n" % (scenario.name, duration(1))
        + input_series(scenario)
        + "    promql_expr_test:\n" + checks(scenario)
    )


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: simulate.py OUTPUT-DIR [SCENARIO...]")
    out_dir, wanted = argv[1], set(argv[2:])
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for scenario in SCENARIOS:
        if wanted and scenario.name not in wanted:
            continue
        with open(os.path.join(out_dir, "sim_%s_test.yml" % scenario.name), "w") as f:
            f.write(test_file(scenario, repo))


if __name__ == "__main__":
    main(sys.argv)
