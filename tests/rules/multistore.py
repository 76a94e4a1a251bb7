#!/usr/bin/env python3
"""Proves that the rules rendered with group labels never mix two stores.

Usage: tests/rules/multistore.py OUTDIR

Renders the shipped rules with `scripts/render-rules --group-labels store` into OUTDIR, then
rewrites every promtool test of tests/rules/ for two stores: each input series twice, with
store="s1" and store="s2" (same samples), and each expected alert and sample twice, with the
same two labels. promtool then passes only if every recording rule and alert keeps `store`
through each aggregation and join: a rule that sums the two stores doubles its value or drops
the label, one that joins them fails to match. Writes OUTDIR/*_test.yml and prints their paths
for `promtool test rules`.
"""

import pathlib
import re
import subprocess
import sys

from importlib.machinery import SourceFileLoader

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
RENDER = SourceFileLoader("render_rules", str(REPO / "scripts/render-rules")).load_module()
GLOBAL_SERIES = RENDER.global_series_of(path.read_text() for path in RENDER.shipped_files())
STORES = ("s1", "s2")
LABEL = "store"


def with_store(series, store):
    """Adds store="..." to a series selector such as 'name{a="b"}', 'name' or '{a="b"}'."""
    match = re.fullmatch(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*", series, re.S)
    if not match:
        raise ValueError(f"cannot read the series '{series}'")
    name, inner = match.group(1) or "", (match.group(2) or "").strip()
    labels = f'{LABEL}="{store}"' + (", " + inner if inner else "")
    return f"{name}{{{labels}}}"


def render_expr(expr):
    """The group-label rendering of a test's own PromQL (promql_expr_test)."""
    return "\n".join(RENDER.render_expr_line(line, RENDER.DEFAULT_SELECTOR, [LABEL], GLOBAL_SERIES)
                     for line in expr.split("\n"))


def global_only(expr):
    """Whether a test's PromQL reads only the global series (the same for every store)."""
    names = re.findall(r"[a-zA-Z_][\w]*:[\w:]+", expr)
    return bool(names) and set(names) <= GLOBAL_SERIES and not RENDER.RAW_METRIC.search(expr)


def absent_alerts():
    """Alerts with an absent(): when the series is missing everywhere no store can be named,
    so that case fires once, without the group label."""
    names = set()
    for path in RENDER.shipped_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.update(rule["alert"] for rule in group["rules"]
                         if "alert" in rule and "absent(" in rule["expr"])
    return names


ABSENT_ALERTS = absent_alerts()


def per_store(alert, alertname):
    labels = alert.get("exp_labels", {})
    if alertname in ABSENT_ALERTS and "instance" not in labels:
        return [alert]
    return [{**alert, "exp_labels": {**labels, LABEL: store}} for store in STORES]


def two_stores(test):
    test["input_series"] = [
        {**entry, "series": with_store(entry["series"], store)}
        for entry in test.get("input_series", []) for store in STORES
    ]
    for case in test.get("alert_rule_test", []):
        case["exp_alerts"] = [
            copy for alert in case.get("exp_alerts") or []
            for copy in per_store(alert, case["alertname"])
        ]
    for case in test.get("promql_expr_test", []):
        if global_only(case["expr"]):
            continue
        case["expr"] = render_expr(case["expr"])
        case["exp_samples"] = [
            {**sample, "labels": with_store(sample.get("labels", "{}"), store)}
            for sample in case.get("exp_samples") or [] for store in STORES
        ]
    return test


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = pathlib.Path(sys.argv[1]).resolve()
    subprocess.run([str(REPO / "scripts/render-rules"), "--group-labels", LABEL, str(outdir)],
                   check=True)
    for path in sorted((REPO / "tests/rules").glob("*_test.yml")):
        spec = yaml.safe_load(path.read_text())
        spec["rule_files"] = [str(outdir / pathlib.Path(f).parent.name / pathlib.Path(f).name)
                              for f in spec["rule_files"]]
        spec["tests"] = [two_stores(test) for test in spec["tests"]]
        target = outdir / path.name
        target.write_text(yaml.safe_dump(spec, sort_keys=False, width=1000))
        print(target)


if __name__ == "__main__":
    main()
