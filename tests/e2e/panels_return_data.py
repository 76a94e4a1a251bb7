#!/usr/bin/env python3
"""Runs every panel expression of the shipped Grafana dashboards, with its variables filled in
(the "All" value of query variables, the default of custom ones), against a live Prometheus
and reports the panels whose query fails or returns nothing.

Expressions that look further back than the test has history (an `offset`) can only return
data on a long-running Prometheus, and expressions that filter for problems (ending in a
comparison such as `> 0`) are rightly empty while there are none: both are checked to evaluate
without error and listed separately.

Usage: panels_return_data.py PROMETHEUS_URL [DASHBOARD.json ...]
Ends with a line "panels: N passed, M failed".
"""
import glob
import json
import os
import re
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dashboards"))
import check_dashboards  # noqa: E402  (walk_panels, sample_values, substitute)

NEEDS_HISTORY_RE = re.compile(r"\boffset\b")
# A panel that lists problems (`... > 0`, `== 1`) is rightly empty while there are none.
FILTER_RE = re.compile(r"(==|!=|>=|<=|>|<)\s*[0-9.]+\s*\)?\s*$")


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except Exception as error:  # HTTP 400 for a bad query, among others
        return None, str(error)
    if body.get("status") != "success":
        return None, body.get("error", "query failed")
    return body["data"]["result"], None


def main():
    base = sys.argv[1].rstrip("/")
    here = os.path.dirname(os.path.abspath(__file__))
    files = sys.argv[2:] or sorted(glob.glob(os.path.join(here, "..", "..", "grafana", "dashboards", "*.json")))
    passed = failed = history_only = 0
    for path in files:
        with open(path) as f:
            data = json.load(f)
        values = check_dashboards.sample_values(data.get("templating", {}).get("list", []))
        for panel in check_dashboards.walk_panels(data.get("panels")):
            for target in panel.get("targets") or []:
                if "expr" not in target:
                    continue
                expr = check_dashboards.substitute(target["expr"], values)
                where = '%s: panel "%s" %s' % (data.get("uid"), panel.get("title"), target.get("refId", ""))
                result, error = query(base, expr)
                if error:
                    failed += 1
                    print("FAIL %s: %s\n     %s" % (where, error, expr))
                elif result:
                    passed += 1
                elif NEEDS_HISTORY_RE.search(expr):
                    passed += 1
                    history_only += 1
                    print("ok   %s: no data yet (needs history older than this run)" % where)
                elif FILTER_RE.search(expr):
                    passed += 1
                    print("ok   %s: empty filter (nothing to list now)" % where)
                else:
                    failed += 1
                    print("FAIL %s: no data\n     %s" % (where, expr))
    print("(%d expressions need more history than this run to return data)" % history_only)
    print("panels: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
