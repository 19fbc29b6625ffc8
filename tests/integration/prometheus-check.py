#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
"""Helpers of tests/integration/policyd-prometheus (standard library only).

  documented POLICY_MD           the Metrics table of docs/policy.md, one
                                 "NAME LABEL,LABEL" line per series
  families EXPOSITION            the metric families (# TYPE lines) of a
                                 text exposition, one per line
  dashboard JSON EXPOSITION URL  every query of a Grafana dashboard: the
                                 metrics it names are in EXPOSITION, and the
                                 Prometheus at URL evaluates it
  testfile TEST_YML EXPOSITION   every input series of a promtool test file
                                 names a metric of EXPOSITION with its labels

Each check prints what it looked at and exits 1 with the reason on failure.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

# Series that come from node_exporter and Prometheus, not from the daemon,
# with the labels they carry besides instance and job.
FOREIGN = {"up": set(), "node_textfile_mtime_seconds": {"file"},
           "node_textfile_scrape_error": set()}
TARGET_LABELS = {"instance", "job"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
                "bool", "and", "or", "unless", "offset", "inf", "nan"}


def die(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def documented(path):
    """Rows like | `kvmmt_a_total`, `..._b_total` | vm, pid | meaning |."""
    out = []
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`kvmmt_"):
            continue
        labels = ",".join(l.strip() for l in cells[1].split(",") if l.strip())
        prev = None
        for name in re.findall(r"`([^`]+)`", cells[0]):
            if name.startswith("..._"):
                # "..._allowed_total" after "x_blocked_total": same number
                # of trailing words replaced.
                tail = name[4:].split("_")
                name = "_".join(prev.split("_")[:-len(tail)] + tail)
            out.append(f"{name} {labels}")
            prev = name
    if not out:
        die(f"no metrics table in {path}")
    print("\n".join(out))


def exposition_labels(path):
    """{family: set of label names} from a text exposition."""
    fams = {}
    for line in open(path):
        m = re.match(r"# TYPE (\S+) ", line)
        if m:
            fams.setdefault(m.group(1), set())
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ", line)
        if m and not line.startswith("#"):
            fams.setdefault(m.group(1), set()).update(
                re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
    return fams


def families(path):
    print("\n".join(sorted(exposition_labels(path))))


def metric_names(expr):
    """The metric names a PromQL expression selects (not functions, label
    names, keywords, strings or durations)."""
    e = re.sub(r'"(\\.|[^"\\])*"', '""', expr)     # strings
    e = re.sub(r"\{[^}]*\}", "", e)                 # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               r"\1", e)                            # label lists
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        tok, rest = m.group(0), e[m.end():].lstrip()
        if tok.lower() in PROMQL_WORDS or rest.startswith("(") or \
                re.match(r"(by|without)\b", rest):        # sum by (x) (...)
            continue
        if re.match(r"\d", e[m.start() - 1:m.start()] or " "):
            continue                                # 5m, 1e3
        names.add(tok)
    return names


def substitute(expr):
    """Grafana's variables, as a dashboard at "last hour" would expand them."""
    for var, val in (("$__rate_interval", "1m"), ("$__interval", "15s"),
                     ("$__range", "1h"), ("${instance:regex}", ".*"),
                     ("$instance", ".*")):
        expr = expr.replace(var, val)
    return expr


def panels(dash):
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def dashboard(path, expo, url):
    dash = json.load(open(path))
    fams = exposition_labels(expo)
    queries = []
    for p in panels(dash):
        for t in p.get("targets", []):
            if "expr" in t:
                queries.append((p.get("title", "?"), t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            m = re.match(r"label_values\((.*),\s*\w+\)$", q)
            queries.append(("variable " + v["name"], m.group(1) if m else q))
    if not queries:
        die(f"{path}: no queries")
    empty = 0
    for title, expr in queries:
        names = metric_names(expr)
        if not names:
            die(f"{path}: panel {title!r}: no metric in {expr!r}")
        for n in names:
            if n not in fams:
                die(f"{path}: panel {title!r}: {n} is not in the daemon's exposition")
        q = urllib.parse.urlencode({"query": substitute(expr)})
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
                res = json.load(r)
        except Exception as err:                     # HTTP 400: a bad query
            die(f"{path}: panel {title!r}: Prometheus refuses {expr!r}: {err}")
        if res.get("status") != "success":
            die(f"{path}: panel {title!r}: {res}")
        empty += not res["data"]["result"]
    print(f"{len(queries)} dashboard queries on {len(set(t for t, _ in queries))} "
          f"panels and variables: metrics exported, Prometheus evaluates them "
          f"({len(queries) - empty} with data now)")


def testfile(path, expo):
    fams = exposition_labels(expo)
    n = 0
    for m in re.finditer(r"series:\s*'([^{']+)(\{[^']*\})?'", open(path).read()):
        name, labels = m.group(1), set(re.findall(r"(\w+)=", m.group(2) or ""))
        want = FOREIGN.get(name, fams.get(name))
        if want is None:
            die(f"{path}: input series {name} is not exported")
        if labels - TARGET_LABELS != want:
            die(f"{path}: {name} has labels {sorted(labels)}, "
                f"the real ones are {sorted(want | TARGET_LABELS)}")
        n += 1
    if not n:
        die(f"{path}: no input series")
    print(f"{n} input series of {path.split('/')[-1]}: names and labels as exported")


if __name__ == "__main__":
    cmds = {"documented": documented, "families": families,
            "dashboard": dashboard, "testfile": testfile}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
