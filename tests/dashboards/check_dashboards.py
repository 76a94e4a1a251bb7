#!/usr/bin/env python3
"""Checks the shipped Grafana dashboards, and every metric named in them and in the rules.

Usage: check_dashboards.py --exposition FILE [options]

  --exposition FILE   a /metrics page of the sidecar (text format): its `# TYPE` lines (and
                      sample lines) are the metric names the sidecar exports; a histogram
                      family counts for its _bucket, _sum and _count series
  --repo DIR          repository root (default: two levels above this script)
  --dashboards DIR    dashboards to check (default: grafana/dashboards)
  --rules-dir DIR     folder of Prometheus rule files, repeatable (default: rules and alerts)
  --allow NAME        a further metric name to accept, repeatable
  --no-pyyaml         read rule files with the line-based fallback even if PyYAML is present
  --no-promtool       do not parse the expressions with promtool (used when on the PATH)

For every grafana/dashboards/*.json it checks:
  - the file is JSON with a unique `uid` and a non-empty, unique `title`;
  - a `datasource` template variable of type datasource for Prometheus;
  - every panel target and query variable uses that variable as its data source;
  - panel ids are unique;
  - every `$variable` an expression uses is defined on the dashboard (or is a Grafana one);
  - where the dashboard has a variable filled by `label_values(METRIC, LABEL)`, every selector of
    a metric that carries LABEL filters on it with the variable (`LABEL=~"$variable"`);
  - the sidecars shown: query variables `job`, `cluster` and `store` (multi-value, with All;
    the All of `cluster` and `store` is `.*`, which also matches a series without the label, so
    one store per Prometheus without those labels shows everything); every selector of a metric
    in a panel target filters on the three (`job=~"$job", cluster=~"$cluster",
    store=~"$store"`), of a recorded series or ALERTS on `cluster` and `store` (a rule's
    aggregation drops `job`; scripts/render-rules --group-labels keeps the other two); every
    other query variable filters on the three, `cluster` on `job`, `store` on both;
  - every metric name in every expression (panel targets and query variables) is exported by
    the sidecar, on the allow-list, or recorded by a rule in the rule folders;
  - with promtool on the PATH, every expression parses as PromQL (variables replaced by samples).
For the rule files (files with `groups:` in the rule folders) it checks that every metric name in
every `expr` is exported, allowed or recorded.

Prints one line per problem, then `rules: N passed, M failed` (when there are rule files) and
`dashboards: N passed, M failed`. Exits 1 when anything failed, 2 on a usage error.
Needs only the Python standard library.
"""
import argparse
import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

# Metric names that need configuration (or Prometheus) to exist, so a test exposition may lack
# them. Each maps to the labels its series carry, as far as the sidecar knows them.
ALLOWED = {
    # Endpoint fields: the name is the user's choice (`fields[].metric`); these are the names
    # the docs, the example configuration and the dashboards use.
    "model_accuracy_ratio": {"endpoint"},
    "model_drift_score": {"endpoint"},
    "model_trained_timestamp_seconds": {"endpoint"},
    # Exported only when a `registries` section is configured.
    "model_registry_up": {"registry"},
    "model_registry_version_info": {"registry", "model_name", "model_version", "stage"},
    # Exported only for https endpoints.
    "model_endpoint_tls_cert_expiry_timestamp_seconds": {"endpoint"},
    # Exported only for model versions whose `retraining.model_versions` entry sets
    # training_data_end.
    "outcomes_model_version_training_end_timestamp_seconds": {"model_version"},
    # Series Prometheus itself writes for every scrape target and for alerts.
    "up": set(),
    "scrape_duration_seconds": set(),
    "scrape_samples_scraped": set(),
    "scrape_samples_post_metric_relabeling": set(),
    "scrape_series_added": set(),
    "ALERTS": set(),
    "ALERTS_FOR_STATE": set(),
}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance"}
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added"}
# The variables that choose the sidecars a dashboard shows, in the order they filter each
# other, each named after the target label it fills from.
SCOPE_VARIABLES = ("job", "cluster", "store")
# Target labels a Prometheus with one store need not set: their All must be `.*`, which matches
# a series without the label, where the list of values found (Grafana's All without an
# allValue) matches none of them.
OPTIONAL_SCOPE_LABELS = ("cluster", "store")
# Series written by Prometheus' rule evaluation: no `job` after the rules' aggregations.
RULE_SERIES = {"ALERTS", "ALERTS_FOR_STATE"}

FUNCTIONS = {
    # aggregation operators
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "limitk", "limit_ratio",
    # functions
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "double_exponential_smoothing", "exp", "floor", "histogram_avg",
    "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
    "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "info",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
    "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets",
    "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc",
    "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
    "time", "timestamp", "vector", "year",
    # @ modifier
    "start", "end",
}
# Followed by a parenthesised list of label names, which are not metrics.
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = LABEL_LIST_KEYWORDS | {"and", "or", "unless", "atan2", "offset", "bool", "inf", "nan"}
GRAFANA_VARIABLES = {
    "__interval", "__interval_ms", "__rate_interval", "__rate_interval_ms", "__range",
    "__range_s", "__range_ms", "__from", "__to", "__dashboard", "__name", "__org", "__user",
    "__all", "timeFilter", "__timeFilter",
}
DATASOURCE_REFS = {"${datasource}", "$datasource", "[[datasource]]"}

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\])
  | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:[a-zA-Z]+\d*)*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<punct>[{}\[\](),])
  | (?P<op>[^\s\w{}\[\](),"'`$\#]+)
""", re.VERBOSE)
VAR_REF_RE = re.compile(r"\$\{(\w+)(?:[:.][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")


def tokenize(expr):
    """PromQL (with Grafana variables) as a list of (kind, text); raises ValueError."""
    tokens, pos = [], 0
    while pos < len(expr):
        m = TOKEN_RE.match(expr, pos)
        if not m:
            raise ValueError("cannot read the expression at %r" % expr[pos:pos + 20])
        if m.lastgroup not in ("ws", "comment"):
            tokens.append((m.lastgroup, m.group()))
        pos = m.end()
    return tokens


def parse_matchers(tokens):
    """[(label, op, value)] from the tokens between { and }."""
    out, i = [], 0
    while i < len(tokens):
        if (i + 2 < len(tokens) and tokens[i][0] in ("ident", "string")
                and tokens[i + 1][0] == "op" and tokens[i + 2][0] == "string"):
            out.append((tokens[i][1].strip("\"'`"), tokens[i + 1][1], tokens[i + 2][1][1:-1]))
            i += 3
        else:
            i += 1
    return out


def analyse(expr):
    """Metric selectors and unknown functions of a PromQL expression.

    Returns (selectors, problems): selectors is a list of (metric, matchers); problems a list of
    strings. Strings, label matchers, label lists of by/without/on/ignoring/group_left/
    group_right, numbers, durations in [] and Grafana variables are not metric names.
    """
    tokens = tokenize(expr)
    selectors, problems = [], []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else (None, None)
        if kind == "punct" and text == "[":
            depth = 0
            while i < len(tokens):  # durations, subquery steps, variables
                if tokens[i] == ("punct", "["):
                    depth += 1
                elif tokens[i] == ("punct", "]"):
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
        elif kind == "punct" and text == "{":  # a selector without a metric name
            end = closing(tokens, i, "{", "}")
            matchers = parse_matchers(tokens[i + 1:end])
            names = [v for label, op, v in matchers if label == "__name__" and op == "="]
            selectors.append((names[0] if names else None, matchers))
            i = end
        elif kind == "ident":
            if text in LABEL_LIST_KEYWORDS and nxt == ("punct", "("):
                i = closing(tokens, i + 1, "(", ")")
            elif text.lower() in KEYWORDS:  # also before a parenthesis: a or (b)
                pass
            elif nxt == ("punct", "(") or nxt[1] in ("by", "without"):
                # A function call, or an aggregation with its clause first: sum by (x) (...)
                if text not in FUNCTIONS:
                    problems.append('unknown function "%s"' % text)
            else:
                matchers = []
                if nxt == ("punct", "{"):
                    end = closing(tokens, i + 1, "{", "}")
                    matchers = parse_matchers(tokens[i + 2:end])
                    i = end
                selectors.append((text, matchers))
        i += 1
    return selectors, problems


def closing(tokens, start, opening, close):
    depth = 0
    for j in range(start, len(tokens)):
        if tokens[j] == ("punct", opening):
            depth += 1
        elif tokens[j] == ("punct", close):
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced %s%s" % (opening, close))


# ------------------------------------------------------------------ exposition


def read_exposition(path):
    """{metric name: set of label names} exported, from # TYPE lines and samples."""
    names = {}
    sample_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s")
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) < 4:
                    continue
                name, kind = parts[2], parts[3]
                if kind == "histogram":
                    series = [name + "_bucket", name + "_sum", name + "_count"]
                elif kind == "summary":
                    series = [name, name + "_sum", name + "_count"]
                elif kind == "counter" and not name.endswith("_total"):
                    series = [name, name + "_total"]  # OpenMetrics names the family without it
                else:
                    series = [name]
                for s in series:
                    names.setdefault(s, set())
            elif line.strip() and not line.startswith("#"):
                m = sample_re.match(line)
                if m:
                    labels = names.setdefault(m.group(1), set())
                    labels.update(label_re.findall(m.group(2) or ""))
    return names


# ------------------------------------------------------------------ rule files


def read_rule_files(folders, use_pyyaml):
    """[(path, [(where, expr)], recorded names)] for the files with `groups:`."""
    try:
        if not use_pyyaml:
            raise ImportError
        import yaml  # noqa: F401 (optional)
        reader = read_rules_pyyaml
    except ImportError:
        reader = read_rules_lines
    out = []
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "*.yml"))
                           + glob.glob(os.path.join(folder, "*.yaml"))):
            result = reader(path)
            if result is not None:
                out.append((path,) + result)
    return out


def read_rules_pyyaml(path):
    import yaml
    with open(path, encoding="utf-8") as f:
        try:
            doc = yaml.safe_load(f)
        except yaml.YAMLError as e:
            return [], set(), ["not valid YAML: %s" % str(e).replace("\n", " ")]
    if not isinstance(doc, dict) or "groups" not in doc:
        return None
    exprs, recorded = [], set()
    for group in doc.get("groups") or []:
        for rule in (group or {}).get("rules") or []:
            name = rule.get("record") or rule.get("alert") or "?"
            kind = "record" if "record" in rule else "alert"
            if "record" in rule:
                recorded.add(str(rule["record"]))
            if "expr" in rule:
                exprs.append(('%s "%s"' % (kind, name), str(rule["expr"])))
    return exprs, recorded, []


def unquote_yaml(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\(.)', r'\1', value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return re.sub(r"\s+#.*$", "", value)  # a plain scalar may end with a comment


def read_rules_lines(path):
    """Line-based reading of `record:`, `alert:` and `expr:` (plain, quoted or block scalars)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if not any(re.match(r"groups\s*:", line) for line in lines):
        return None
    key_re = re.compile(r"^(\s*(?:-\s+)?)(record|alert|expr)\s*:\s?(.*)$")
    exprs, recorded, name = [], set(), ("rule", "?")
    i = 0
    while i < len(lines):
        m = key_re.match(lines[i])
        i += 1
        if not m:
            continue
        column, key, value = len(m.group(1)), m.group(2), m.group(3).rstrip()
        if key in ("record", "alert"):
            name = (key, unquote_yaml(value))
            if key == "record":
                recorded.add(name[1])
            continue
        parts = []
        block = re.match(r"^[|>][-+0-9]*\s*(#.*)?$", value)
        if not block:
            parts.append(value)
        # Continuation: following lines indented more than the key (or blank).
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > column):
            parts.append(lines[i] if block else lines[i].strip())
            i += 1
        text = textwrap.dedent("\n".join(parts)).strip() if block else " ".join(parts).strip()
        exprs.append(('%s "%s"' % name, text if block else unquote_yaml(text)))
    return exprs, recorded, []


# ------------------------------------------------------------------ dashboards


def walk_panels(panels):
    for panel in panels or []:
        yield panel
        yield from walk_panels(panel.get("panels"))


def datasource_ref(ds):
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds


def variable_query(var):
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or ""


def expressions_of_variable(query):
    """PromQL inside a Prometheus variable query (label_values, query_result)."""
    m = re.match(r"^\s*label_values\s*\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*$", query, re.S)
    if m:
        return [m.group(1)], m.group(2)
    m = re.match(r"^\s*query_result\s*\((.*)\)\s*$", query, re.S)
    if m:
        return [m.group(1)], None
    return [], None  # label_values(label), label_names(), metrics(regex)


def sample_values(variables):
    """A value for each variable, to parse expressions: current value or a regex."""
    out = {name: "1m" for name in ("__interval", "__rate_interval")}
    out.update({"__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
                "__interval_ms": "60000", "__rate_interval_ms": "60000"})
    for var in variables:
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if current else None
        if var.get("type") in ("interval", "custom", "constant", "textbox") and current \
                and current != "$__all":
            out[var["name"]] = str(current)
        else:
            out[var["name"]] = ".*"
    return out


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group())
    return VAR_REF_RE.sub(repl, expr)


def uses_variable(value, var):
    """Whether a matcher value refers to the Grafana variable `var`."""
    return re.search(r"\$\{%s(?:[:}])|\$%s\b|\[\[%s\]\]" % (var, var, var), value) is not None


def scope_variable_problems(variables):
    """Problems with the `job`, `cluster` and `store` variables of a dashboard."""
    problems = []
    by_name = {v.get("name"): v for v in variables}
    for name in SCOPE_VARIABLES:
        where = 'variable "%s"' % name
        var = by_name.get(name)
        if var is None:
            problems.append(("templating", 'no "%s" variable (label_values(outcomes_exporter_'
                                           'build_info, %s), multi-value with All)' % (name, name)))
            continue
        _, label = expressions_of_variable(variable_query(var))
        if var.get("type") != "query" or label != name:
            problems.append((where, "is not a query variable on label_values(..., %s)" % name))
        if not var.get("multi") or not var.get("includeAll"):
            problems.append((where, "is not multi-value with All"))
        if name in OPTIONAL_SCOPE_LABELS and var.get("allValue") != ".*":
            problems.append((where, 'All is %r, not ".*": a Prometheus whose targets have no '
                                    '%s label would show nothing' % (var.get("allValue"), name)))
    return problems


def missing_scope(matchers, required):
    """The scope variables of `required` that no `LABEL=~"$variable"` matcher applies."""
    return [var for var in required
            if not any(l == var and op == "=~" and uses_variable(v, var) for l, op, v in matchers)]


def scope_hint(missing):
    return ", ".join('%s=~"$%s"' % (var, var) for var in missing)


class Checker:
    def __init__(self, exported, recorded, allowed):
        self.exported = exported
        self.recorded = recorded
        self.allowed = allowed
        self.known = set(exported) | set(recorded) | set(allowed)

    def labels_of(self, metric):
        """Labels a metric's series carry, or None when unknown (recorded by a rule, ALERTS)."""
        if metric in self.exported or metric in SCRAPE_SERIES:
            return set(self.exported.get(metric, set())) | set(self.allowed.get(metric, set())) \
                | TARGET_LABELS
        if metric in self.allowed and self.allowed[metric]:
            return set(self.allowed[metric]) | TARGET_LABELS
        return None

    def scope_of(self, metric, required):
        """The scope variables of `required` a selector of `metric` must filter on."""
        if metric in RULE_SERIES or (metric in self.recorded and metric not in self.exported):
            return [var for var in required if var != "job"]
        return list(required)

    def check_names(self, expr):
        """Problems with the metric names and functions of an expression; and its selectors."""
        try:
            selectors, problems = analyse(expr)
        except ValueError as e:
            return [str(e)], []
        for metric, _ in selectors:
            if metric is None:
                problems.append("a selector without a metric name")
            elif metric not in self.known:
                hint = difflib.get_close_matches(metric, sorted(self.known), 1, 0.8)
                problems.append('unknown metric "%s" (not exported by the sidecar, not recorded '
                                'by a rule)%s' % (metric, ' - did you mean "%s"?' % hint[0]
                                                  if hint else ""))
        return problems, selectors


def check_dashboard(path, data, checker, uids, titles):
    problems = []  # (where, message)
    uid, title = data.get("uid"), data.get("title")
    if not isinstance(uid, str) or not uid:
        problems.append(("dashboard", "no uid"))
    elif uid in uids:
        problems.append(("dashboard", 'uid "%s" also used by %s' % (uid, uids[uid])))
    else:
        uids[uid] = os.path.basename(path)
    if not isinstance(title, str) or not title.strip():
        problems.append(("dashboard", "no title"))
    elif title in titles:
        problems.append(("dashboard", 'title "%s" also used by %s' % (title, titles[title])))
    else:
        titles[title] = os.path.basename(path)

    variables = (data.get("templating") or {}).get("list") or []
    names = {v.get("name") for v in variables}
    ds_vars = [v for v in variables if v.get("name") == "datasource"]
    if not ds_vars:
        problems.append(("templating", 'no "datasource" variable'))
    elif ds_vars[0].get("type") != "datasource" or ds_vars[0].get("query") != "prometheus":
        problems.append(("templating", '"datasource" variable is not of type datasource with '
                                       'query prometheus'))
    problems += scope_variable_problems(variables)

    # Variables filled with label_values(METRIC, LABEL) filter that label.
    label_of_var = {}
    expressions = []  # (where, expr, is_panel_target, scope variables it must filter on)
    for var in variables:
        if var.get("type") != "query":
            continue
        where = 'variable "%s"' % var.get("name")
        if datasource_ref(var.get("datasource")) not in DATASOURCE_REFS:
            problems.append((where, "data source is %r, not ${datasource}"
                             % datasource_ref(var.get("datasource"))))
        exprs, label = expressions_of_variable(variable_query(var))
        if label and var["name"] not in SCOPE_VARIABLES:
            label_of_var[var["name"]] = label
        name = var.get("name")
        scope = SCOPE_VARIABLES[:SCOPE_VARIABLES.index(name)] if name in SCOPE_VARIABLES \
            else SCOPE_VARIABLES
        expressions += [(where, e, False, scope) for e in exprs]

    panel_ids = set()
    for panel in walk_panels(data.get("panels")):
        where = 'panel "%s"' % panel.get("title", "?")
        if panel.get("type") != "row":
            if panel.get("id") in panel_ids:
                problems.append((where, "panel id %s is used twice" % panel.get("id")))
            panel_ids.add(panel.get("id"))
        panel_ds = panel.get("datasource")
        if panel.get("targets") and datasource_ref(panel_ds) not in DATASOURCE_REFS | {None}:
            problems.append((where, "data source is %r, not ${datasource}"
                             % datasource_ref(panel_ds)))
        for t in panel.get("targets") or []:
            twhere = "%s target %s" % (where, t.get("refId", "?"))
            ds = datasource_ref(t.get("datasource") or panel_ds)
            if ds not in DATASOURCE_REFS:
                problems.append((twhere, "data source is %r, not ${datasource}" % ds))
            if "expr" not in t:
                problems.append((twhere, "no expr"))
                continue
            expressions.append((twhere, t["expr"], True, SCOPE_VARIABLES))

    for where, expr, is_target, scope in expressions:
        for ref in VAR_REF_RE.finditer(expr):
            name = ref.group(1) or ref.group(2) or ref.group(3)
            if name not in names and name not in GRAFANA_VARIABLES and not name.isdigit():
                problems.append((where, 'undefined variable "$%s"' % name))
        name_problems, selectors = checker.check_names(expr)
        problems += [(where, p) for p in name_problems]
        for metric, matchers in selectors:
            if metric is None or metric not in checker.known:
                continue  # reported above
            missing = missing_scope(matchers, checker.scope_of(metric, scope))
            if missing:
                problems.append((where, "%s does not filter the sidecars shown: add %s"
                                 % (metric, scope_hint(missing))))
        if not is_target:
            continue
        for metric, matchers in selectors:
            carried = checker.labels_of(metric) if metric else None
            if carried is None:
                continue
            for var, label in sorted(label_of_var.items()):
                if label not in carried:
                    continue
                if not any(l == label and op in ("=", "=~") and uses_variable(v, var)
                           for l, op, v in matchers):
                    problems.append((where, '%s is not filtered by the variable: add %s=~"$%s"'
                                     % (metric, label, var)))
    return problems, [(w, e, sample_values(variables)) for w, e, _, _ in expressions]


def promtool_problems(promtool, items):
    """Parses each (where, expr, values) with promtool; returns {index: message}."""
    rules = [{"record": "check:expr_%d" % n, "expr": substitute(expr, values)}
             for n, (_, expr, values) in enumerate(items)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "expressions.yml")
        with open(path, "w") as f:  # JSON is YAML
            json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, f)
        run = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    out = {}
    for line in (run.stdout + run.stderr).splitlines():
        m = re.search(r'"check:expr_(\d+)": (.*)$', line)
        if m:
            out[int(m.group(1))] = m.group(2)
    if run.returncode != 0 and not out:
        out[-1] = "promtool failed: %s" % (run.stdout + run.stderr).strip().replace("\n", " ")
    return out


def unique(items):
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description="Check the Grafana dashboards and the metric names in dashboards and rules.")
    parser.add_argument("--exposition", required=True, help="a /metrics page of the sidecar")
    parser.add_argument("--repo", default=os.path.dirname(os.path.dirname(here)))
    parser.add_argument("--dashboards")
    parser.add_argument("--rules-dir", action="append")
    parser.add_argument("--allow", action="append", default=[])
    parser.add_argument("--no-pyyaml", action="store_true")
    parser.add_argument("--no-promtool", action="store_true")
    args = parser.parse_args()

    dashboards_dir = args.dashboards or os.path.join(args.repo, "grafana", "dashboards")
    rules_dirs = args.rules_dir or [os.path.join(args.repo, "rules"),
                                    os.path.join(args.repo, "alerts")]
    try:
        exported = read_exposition(args.exposition)
    except OSError as e:
        print("check_dashboards: cannot read the exposition: %s" % e, file=sys.stderr)
        return 2
    if not exported:
        print("check_dashboards: %s holds no metric" % args.exposition, file=sys.stderr)
        return 2

    rule_files = read_rule_files(rules_dirs, not args.no_pyyaml)
    recorded = set()
    for _, _, names, _ in rule_files:
        recorded |= names
    allowed = dict(ALLOWED)
    allowed.update({name: set() for name in args.allow})
    checker = Checker(exported, recorded, allowed)

    def rel(path):  # paths inside the repository relative to it, others as given
        inside = os.path.abspath(path).startswith(os.path.abspath(args.repo) + os.sep)
        return os.path.relpath(path, args.repo) if inside else path

    rules_failed = 0
    for path, exprs, _, errors in rule_files:
        problems = [("file", e) for e in errors]
        for where, expr in exprs:
            names_problems, _ = checker.check_names(expr)
            problems += [(where, p) for p in names_problems]
        for where, message in unique(problems):
            print("%s: %s: %s" % (rel(path), where, message))
        rules_failed += bool(problems)

    paths = sorted(glob.glob(os.path.join(dashboards_dir, "*.json")))
    uids, titles, failed = {}, {}, 0
    promtool = None if args.no_promtool else shutil.which("promtool")
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            problems, items = check_dashboard(path, data, checker, uids, titles)
        except (OSError, ValueError) as e:
            problems, items = [("file", "not readable JSON: %s" % e)], []
        if promtool and items:
            for n, message in sorted(promtool_problems(promtool, items).items()):
                problems.append((items[n][0] if n >= 0 else "promtool", message))
        for where, message in unique(problems):
            print("%s: %s: %s" % (rel(path), where, message))
        failed += bool(problems)

    if not paths:
        print("%s: no dashboard found" % rel(dashboards_dir))
        failed = 1
    if rule_files:
        print("rules: %d passed, %d failed" % (len(rule_files) - rules_failed, rules_failed))
    print("dashboards: %d passed, %d failed" % (len(paths) - failed if paths else 0, failed))
    return 1 if failed or rules_failed else 0


if __name__ == "__main__":
    sys.exit(main())
