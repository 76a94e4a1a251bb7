#!/usr/bin/env python3
"""Tests of check_dashboards.py, run as users run it (its command line), on small dashboards
written here: what it accepts and the one-line problem it reports for each mistake about the
sidecars a dashboard shows (the `job`, `cluster` and `store` variables), and that promtool
parses every panel's query. Needs python3 and promtool (Debian package prometheus).

Usage: test_check_dashboards.py [unittest options]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_dashboards.py")
EXPOSITION = """\
# TYPE outcomes_exporter_build_info gauge
outcomes_exporter_build_info{version="1",revision="x"} 1
# TYPE outcomes_recommendations_total counter
outcomes_recommendations_total{model_version="v1"} 3
"""
RULES = """\
groups:
  - name: business
    rules:
      - record: model_version:outcomes_recommendations:increase1h
        expr: sum by (model_version) (increase(outcomes_recommendations_total{job="outcomes_exporter"}[1h]))
"""
SCOPE = 'job=~"$job",cluster=~"$cluster",store=~"$store"'
RECORDED_SCOPE = 'cluster=~"$cluster",store=~"$store"'


def query_variable(name, query, all_value):
    var = {"name": name, "type": "query", "multi": True, "includeAll": True,
           "datasource": {"type": "prometheus", "uid": "${datasource}"},
           "query": {"query": query}, "definition": query}
    if all_value is not None:
        var["allValue"] = all_value
    return var


def dashboard(*exprs):
    """A dashboard with the three scope variables and one panel per expression."""
    panels = [{"id": n + 1, "type": "stat", "title": "panel %d" % (n + 1),
               "datasource": {"type": "prometheus", "uid": "${datasource}"},
               "targets": [{"refId": "A", "expr": expr}]} for n, expr in enumerate(exprs)]
    return {"uid": "test", "title": "Test", "panels": panels, "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus"},
        query_variable("job", "label_values(outcomes_exporter_build_info, job)", None),
        query_variable("cluster", 'label_values(outcomes_exporter_build_info{job=~"$job"}, '
                       'cluster)', ".*"),
        query_variable("store", 'label_values(outcomes_exporter_build_info{job=~"$job",'
                       'cluster=~"$cluster"}, store)', ".*"),
    ]}}


class CheckDashboardsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="check-dashboards-test.")
        for folder in ("dashboards", "rules"):
            os.mkdir(os.path.join(self.tmp, folder))
        self.write("metrics.txt", EXPOSITION)
        self.write("rules/business.yml", RULES)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, name, text):
        with open(os.path.join(self.tmp, name), "w") as f:
            f.write(text)

    def check(self, data):
        """(exit status, output) of the checker on the one dashboard `data`."""
        self.write("dashboards/test.json", json.dumps(data))
        run = subprocess.run(
            [sys.executable, CHECKER, "--repo", self.tmp,
             "--exposition", os.path.join(self.tmp, "metrics.txt"),
             "--dashboards", os.path.join(self.tmp, "dashboards"),
             "--rules-dir", os.path.join(self.tmp, "rules")],
            capture_output=True, text=True)
        return run.returncode, run.stdout + run.stderr

    def test_a_dashboard_whose_selectors_all_filter_the_scope_passes(self):
        status, out = self.check(dashboard(
            "sum(increase(outcomes_recommendations_total{%s}[1h]))" % SCOPE,
            "sum(model_version:outcomes_recommendations:increase1h{%s})" % RECORDED_SCOPE,
            'ALERTS{%s,alertstate="firing"}' % RECORDED_SCOPE))
        self.assertEqual(status, 0, out)
        self.assertIn("dashboards: 1 passed, 0 failed", out)

    def test_a_panel_selector_without_the_store_filter_fails(self):
        status, out = self.check(dashboard(
            'sum(increase(outcomes_recommendations_total{job=~"$job",cluster=~"$cluster"}[1h]))'))
        self.assertEqual(status, 1, out)
        self.assertIn('panel "panel 1" target A: outcomes_recommendations_total does not filter '
                      'the sidecars shown: add store=~"$store"', out)

    def test_a_bare_metric_name_needs_all_three_filters(self):
        status, out = self.check(dashboard("outcomes_exporter_build_info"))
        self.assertEqual(status, 1, out)
        self.assertIn('outcomes_exporter_build_info does not filter the sidecars shown: add '
                      'job=~"$job", cluster=~"$cluster", store=~"$store"', out)

    def test_an_equality_matcher_does_not_count_as_a_filter(self):
        # store="$store" matches neither several stores nor All's `.*`.
        status, out = self.check(dashboard(
            'outcomes_exporter_build_info{job=~"$job",cluster=~"$cluster",store="$store"}'))
        self.assertEqual(status, 1, out)
        self.assertIn('add store=~"$store"', out)

    def test_a_recorded_series_needs_cluster_and_store_but_not_job(self):
        status, out = self.check(dashboard(
            'sum(model_version:outcomes_recommendations:increase1h{cluster=~"$cluster"})'))
        self.assertEqual(status, 1, out)
        self.assertIn('model_version:outcomes_recommendations:increase1h does not filter the '
                      'sidecars shown: add store=~"$store"', out)
        self.assertNotIn('add job', out)

    def test_a_query_variable_filters_on_the_scope(self):
        data = dashboard()
        data["templating"]["list"].append(query_variable(
            "model_version", "label_values(outcomes_recommendations_total, model_version)", ".*"))
        status, out = self.check(data)
        self.assertEqual(status, 1, out)
        self.assertIn('variable "model_version": outcomes_recommendations_total does not filter '
                      'the sidecars shown: add job=~"$job", cluster=~"$cluster", '
                      'store=~"$store"', out)

    def test_a_store_variable_whose_all_is_not_any_value_fails(self):
        # Without allValue Grafana's All lists the values found, which never matches a target
        # without a store label: a single-store Prometheus would show nothing.
        data = dashboard()
        del data["templating"]["list"][3]["allValue"]
        status, out = self.check(data)
        self.assertEqual(status, 1, out)
        self.assertIn('variable "store": All is None, not ".*": a Prometheus whose targets have '
                      'no store label would show nothing', out)

    def test_a_dashboard_without_the_cluster_variable_fails(self):
        data = dashboard()
        del data["templating"]["list"][2]
        status, out = self.check(data)
        self.assertEqual(status, 1, out)
        self.assertIn('templating: no "cluster" variable', out)

    def test_a_panel_query_promtool_cannot_parse_fails(self):
        status, out = self.check(dashboard(
            "sum(rate(outcomes_recommendations_total{%s}[1h])" % SCOPE))
        self.assertEqual(status, 1, out)
        self.assertRegex(out, r'panel "panel 1" target A: .*unclosed left parenthesis')


if __name__ == "__main__":
    if not shutil.which("promtool"):
        print("test_check_dashboards: promtool not found (install the Debian package prometheus)")
        sys.exit(1)
    unittest.main()
