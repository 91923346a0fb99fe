"""deploy/: the Prometheus rules, Grafana dashboard, Alertmanager example and systemd unit stay valid
and use only metrics (and labels) that pager exports.

The external checkers (promtool from Debian's `prometheus`, amtool from
`prometheus-alertmanager`, systemd-analyze) are used when they are on PATH; the
tests that need one are skipped, saying which, when it is not.
"""

from __future__ import annotations

import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import typing

import prometheus_client
import pytest
import yaml

from pager import cli, metrics

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "pager-rules.yml"
RULES_TEST = DEPLOY / "prometheus" / "pager-rules.test.yml"
SCRAPE = DEPLOY / "prometheus" / "scrape.yml"
DASHBOARD = DEPLOY / "grafana" / "pager-dashboard.json"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.example.yml"
UNIT = DEPLOY / "systemd" / "pager.service"
README = DEPLOY / "README.md"

# Labels every scraped series carries besides its own.
TARGET_LABELS = {"job", "instance"}
SEVERITIES = {"critical", "warning", "info"}

PAGER_NAME = re.compile(r"\bpager(?:_[a-zA-Z0-9_]+|:[a-zA-Z0-9_:]+)")
SELECTOR = re.compile(r"\b(pager(?:_[a-zA-Z0-9_]+|:[a-zA-Z0-9_:]+))\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH (Debian package `{package}` provides /usr/bin/{name})")
    return path


def _run(*argv: str, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{shlex.join(result.args)} failed:\n{result.stdout}\n{result.stderr}"


# --- what pager exports -------------------------------------------------------------------


def _exported() -> dict[str, set[str]]:
    """Every series name pager can expose, with its label names (histogram buckets add `le`)."""
    m = metrics.Metrics()
    labels_of: dict[str, set[str]] = {}
    for collector in vars(m).values():
        if isinstance(collector, prometheus_client.metrics.MetricWrapperBase):
            for family in collector.describe():
                labels_of[family.name] = set(collector._labelnames)
    names: dict[str, set[str]] = {}
    for family in m.registry.collect():
        labels = labels_of[family.name]
        if family.type == "counter":
            names[family.name + "_total"] = labels
        elif family.type == "histogram":
            names[family.name + "_bucket"] = labels | {"le"}
            names[family.name + "_sum"] = labels
            names[family.name + "_count"] = labels
        else:
            names[family.name] = labels
    return names


EXPORTED = _exported()


def _rules() -> list[dict[str, typing.Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _recorded() -> dict[str, set[str]]:
    """Recording rules and their labels: the labels of the pager metrics they aggregate, without `le`."""
    out: dict[str, set[str]] = {}
    for rule in _rules():
        if "record" in rule:
            sources = {n for n in PAGER_NAME.findall(rule["expr"]) if n in EXPORTED}
            out[rule["record"]] = set().union(*(EXPORTED[n] for n in sources)) - {"le"}
    return out


def _dashboard() -> dict[str, typing.Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict[str, typing.Any]) -> list[dict[str, typing.Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows hold their panels
    return out


def _dashboard_exprs() -> list[str]:
    return [t["expr"] for p in _panels(_dashboard()) for t in p.get("targets", []) if t.get("expr")]


def _rule_exprs() -> list[str]:
    return [str(rule["expr"]) for rule in _rules()]


def _readme_promql() -> list[str]:
    return re.findall(r"```promql\n(.*?)```", README.read_text(), flags=re.S)


def _concrete(expr: str) -> str:
    """A Grafana query with its variables filled in, so promtool can parse it."""
    for var, value in (
        ("$__rate_interval", "5m"),
        ("$__interval", "5m"),
        ("$__range", "1d"),
        ("$service", ".*"),
        ("$priority", "P[0-3]"),
    ):
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return expr


def _all_exprs() -> list[tuple[str, str]]:
    return (
        [("dashboard", e) for e in _dashboard_exprs()]
        + [("rules", e) for e in _rule_exprs()]
        + [("README", e) for e in _readme_promql()]
    )


# --- Prometheus rules -----------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    promtool = _tool("promtool", "prometheus")
    _ok(_run(promtool, "check", "rules", str(RULES)))


def test_promtool_rule_unit_tests() -> None:
    """The alerts fire (and stay quiet) as meant, and the recording rules compute the expected MTTA/MTTR."""
    promtool = _tool("promtool", "prometheus")
    _ok(_run(promtool, "test", "rules", RULES_TEST.name, cwd=RULES_TEST.parent))


def test_rule_unit_tests_cover_every_rule() -> None:
    doc = yaml.safe_load(RULES_TEST.read_text())
    asserted = {a["alertname"] for t in doc["tests"] for a in t.get("alert_rule_test", [])}
    asserted |= {e["expr"] for t in doc["tests"] for e in t.get("promql_expr_test", [])}
    names = {rule.get("alert") or rule["record"] for rule in _rules()}
    assert names - asserted == set(), "rules without a unit test in pager-rules.test.yml"


def test_alerts_have_severity_and_annotations() -> None:
    alerts = [rule for rule in _rules() if "alert" in rule]
    assert alerts
    for rule in alerts:
        name = rule["alert"]
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity label"
        assert rule["labels"].get("component") == "pager", f"{name}: component=pager routes it away from pager"
        annotations = rule.get("annotations", {})
        assert annotations.get("summary", "").strip(), f"{name}: summary annotation"
        assert annotations.get("description", "").strip(), f"{name}: description annotation"


def test_required_rules_present() -> None:
    rules = _rules()
    records = {r["record"] for r in rules if "record" in r}
    assert {
        "pager:mtta_seconds:avg1d",
        "pager:mtta_seconds:p90_1d",
        "pager:mttr_seconds:avg1d",
        "pager:mttr_seconds:p90_1d",
    } <= records
    exprs = {r["alert"]: str(r["expr"]) for r in rules if "alert" in r}
    assert 'up{job="pager"} == 0' in exprs["PagerInstanceDown"]
    assert 'probe_success{job="pager-readyz"} == 0' in exprs["PagerDatabaseUnreachable"]
    assert "pager_escalation_lateness_seconds_bucket" in exprs["PagerEscalationsLate"]
    assert 'outcome=~"failed|undelivered"' in exprs["PagerPagesFailing"]
    assert 'outcome="retry"' in exprs["PagerPageRetriesPilingUp"]


def test_scrape_config_is_valid() -> None:
    promtool = _tool("promtool", "prometheus")
    _ok(_run(promtool, "check", "config", SCRAPE.name, cwd=SCRAPE.parent))
    jobs = {j["job_name"] for j in yaml.safe_load(SCRAPE.read_text())["scrape_configs"]}
    assert {"pager", "pager-readyz"} <= jobs  # the jobs the alerts select


# --- every query names real metrics and labels ------------------------------------------------


def test_metric_names_are_exported_or_recorded() -> None:
    known = set(EXPORTED) | set(_recorded())
    unknown = {(where, name) for where, expr in _all_exprs() for name in PAGER_NAME.findall(expr) if name not in known}
    assert unknown == set(), f"names pager does not export and no rule records: {sorted(unknown)}"


def test_dashboard_shows_the_key_metrics() -> None:
    shown = {n for e in _dashboard_exprs() for n in PAGER_NAME.findall(e)}
    for wanted in (
        "pager_incidents_open",
        "pager_incidents_created_total",
        "pager_notifications_total",
        "pager_escalation_lateness_seconds_bucket",
        "pager_alerts_received_total",
        "pager_alerts_rejected_total",
        "pager:mtta_seconds:avg1d",
        "pager:mttr_seconds:avg1d",
    ):
        assert wanted in shown, wanted


def test_label_names_are_real() -> None:
    """Matchers and by/on clauses on pager metrics use labels those metrics have."""
    labels_of = EXPORTED | _recorded()
    problems = []
    for where, expr in _all_exprs():
        for name, inside in SELECTOR.findall(expr):
            for label in MATCHER_LABEL.findall(inside):
                if label not in labels_of.get(name, set()) | TARGET_LABELS:
                    problems.append(f"{where}: {name} has no label {label!r}")
        names = [n for n in PAGER_NAME.findall(expr) if n in labels_of]
        if not names:
            continue
        available = set().union(*(labels_of[n] for n in names)) | TARGET_LABELS
        for clause in GROUPING.findall(expr):
            for label in filter(None, (s.strip() for s in clause.split(","))):
                if label not in available:
                    problems.append(f"{where}: grouping by {label!r}, which none of {names} has: {expr!r}")
    assert problems == []


def test_dashboard_and_readme_queries_are_valid_promql(tmp_path: pathlib.Path) -> None:
    """promtool parses each query as a recording rule's expression."""
    promtool = _tool("promtool", "prometheus")
    exprs = [_concrete(e) for e in _dashboard_exprs()] + _readme_promql()
    rules = {
        "groups": [
            {"name": "queries", "rules": [{"record": f"check:query_{i}", "expr": e} for i, e in enumerate(exprs)]}
        ]
    }
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules))
    _ok(_run(promtool, "check", "rules", str(path)))


# --- Grafana dashboard -------------------------------------------------------------------------


def test_dashboard_is_importable() -> None:
    d = _dashboard()
    assert 36 <= d["schemaVersion"] <= 41
    assert d["uid"] and d["title"] and d["id"] is None
    inputs = {i["name"]: i for i in d["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["type"] == "datasource" and inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    panels = _panels(d)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        for ds in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert ds == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
    for var in d["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"]["uid"] == "${DS_PROMETHEUS}"


def test_dashboard_has_the_panels() -> None:
    titles = {p["title"] for p in _panels(_dashboard())}
    for wanted in (
        "Open incidents by priority",
        "Incidents created by priority",
        "MTTA per service (1d)",
        "MTTR per service (1d)",
        "Pages by channel and outcome",
        "Escalation lateness",
        "Alert events received",
        "Requests rejected",
    ):
        assert wanted in titles
    lateness = next(p for p in _panels(_dashboard()) if p["title"] == "Escalation lateness")
    assert {t["expr"].split(",")[0] for t in lateness["targets"]} == {
        "histogram_quantile(0.5",
        "histogram_quantile(0.99",
    }


# --- Alertmanager example ----------------------------------------------------------------------


def test_alertmanager_example_is_valid() -> None:
    amtool = _tool("amtool", "prometheus-alertmanager")
    _ok(_run(amtool, "check-config", str(ALERTMANAGER)))


def test_alertmanager_example_points_at_pager() -> None:
    doc = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {r["name"]: r for r in doc["receivers"]}
    hook = receivers["pager"]["webhook_configs"][0]
    assert hook["url"].endswith("/v1/webhooks/alertmanager")
    assert hook["http_config"]["authorization"]["credentials"]
    assert receivers["pager-as-pagerduty"]["pagerduty_configs"][0]["url"].endswith("/v2/enqueue")
    # alerts about pager never go through pager
    self_route = next(r for r in doc["route"]["routes"] if 'component="pager"' in r.get("matchers", []))
    assert self_route["receiver"] != "pager"


# --- systemd unit ------------------------------------------------------------------------------


def _unit() -> dict[str, list[str]]:
    """`Key=value` lines of the unit; repeated keys keep every value."""
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_runs_pager_as_documented() -> None:
    unit = _unit()
    assert unit["ExecStart"] == ["/opt/pager/venv/bin/pager run --config /etc/pager/pager.yaml"]
    assert unit["EnvironmentFile"] == ["/etc/pager/pager.env"]
    assert unit["Restart"] == ["always"]
    assert unit["DynamicUser"] == ["yes"] and unit["StateDirectory"] == ["pager"]
    for key in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert key in unit, key
    # the command lines are ones pager's CLI accepts
    for command in unit["ExecStart"] + unit.get("ExecStartPre", []):
        argv = shlex.split(command)
        assert argv[0] == "/opt/pager/venv/bin/pager"
        cli.parser().parse_args(argv[1:])


def test_unit_passes_systemd_analyze_verify(tmp_path: pathlib.Path) -> None:
    systemd_analyze = _tool("systemd-analyze", "systemd")
    pager = pathlib.Path(sys.executable).with_name("pager")
    if not pager.exists():
        pytest.skip(f"no pager script next to {sys.executable} to stand in for /opt/pager/venv/bin/pager")
    unit = tmp_path / "pager.service"
    unit.write_text(UNIT.read_text().replace("/opt/pager/venv/bin/pager", str(pager)))
    result = _run(systemd_analyze, "verify", str(unit))
    _ok(result)
    assert str(unit) not in result.stderr + result.stdout, result.stderr  # warnings name the file
