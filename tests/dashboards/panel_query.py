#!/usr/bin/env python3
"""Prints one panel query of a shipped dashboard as Grafana sends it to Prometheus: the
dashboard's variables filled in with their defaults (the All of a query variable as `.*`, the
current value of the others), or with the values given. For tests that run a panel's query
against a real Prometheus.

Usage: panel_query.py DASHBOARD.json "PANEL TITLE" [--ref-id A] [--set NAME=VALUE ...]
Exits 1 (with one line on stderr) when the dashboard has no such panel or target.
"""
import argparse
import json
import sys

import check_dashboards


def main():
    parser = argparse.ArgumentParser(description="Print a panel query with its variables set.")
    parser.add_argument("dashboard")
    parser.add_argument("title")
    parser.add_argument("--ref-id", default="A")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()

    with open(args.dashboard, encoding="utf-8") as f:
        data = json.load(f)
    values = check_dashboards.sample_values((data.get("templating") or {}).get("list") or [])
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        values[name] = value
    for panel in check_dashboards.walk_panels(data.get("panels")):
        if panel.get("title") != args.title:
            continue
        for target in panel.get("targets") or []:
            if target.get("refId") == args.ref_id and "expr" in target:
                print(check_dashboards.substitute(target["expr"], values))
                return 0
    print('panel_query: %s has no panel "%s" with a target %s'
          % (args.dashboard, args.title, args.ref_id), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
