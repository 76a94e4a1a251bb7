#!/usr/bin/env python3
"""Checks the deployment files against each other and against what the project ships.

  - deploy/kubernetes/base/prometheusrules.yaml is what deploy/kubernetes/generate.py makes of
    rules/ and alerts/ today (no drift), and each PrometheusRule's spec is its rule file;
  - the kustomize base: every resource and generated file exists, the secret example stays out,
    every container runs non-root with a read-only root file system, no privilege escalation,
    every capability dropped, seccomp RuntimeDefault, requests and limits; the exporter's
    containers probe /-/healthy and /-/ready; the store collector is a single Recreate replica
    with the DSN from a Secret; the monitors select what exists and set the job the alerts
    expect; the two configurations hold what each Deployment is for;
  - with `kustomize` or `kubectl` on the PATH, `kustomize build` of the base, and of the HTTPS
    overlay: web.yml's files are where the overlay mounts them, the key readable by the
    exporter's group, probes that mutual TLS allows, the ServiceMonitor on https with a client
    certificate and the CA of the mounted Secret;
  - deploy/docker-compose.yml: a health check on every long-running service, depends_on with
    conditions, declared named volumes, bind mounts that exist, no secret written in the file
    and every variable in deploy/.env.example, the shipped rules, alerts, routing and
    dashboards mounted where the configurations look for them, and the compose Grafana data
    source equal to the shipped one but for its url;
  - with promtool on the PATH, `promtool check config` of the compose Prometheus configuration;
  - Debian 12's `docker-compose config` (Compose 1.29, package docker-compose) of the compose
    file with deploy/.env.example filled as docs/DEPLOYMENT.md says;
  - with --exporter BINARY, `--config.check` of every exporter configuration under deploy/.

Prints ok/FAIL per check and ends with `deploy: N passed, M failed`; exits 1 on any failure.
Python 3 and PyYAML (Debian package python3-yaml); without PyYAML only the drift check runs
and the missing module counts as a failure.

Usage: tests/deploy/check_deploy.py [--exporter BINARY] [--repo DIR]
"""
import argparse
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # reported as a failed check below
    yaml = None


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        """problems: a list of strings (empty = pass), or a bool."""
        if problems is True:
            problems = []
        elif problems is False:
            problems = ["failed"]
        if problems:
            self.failed += 1
            print(f"FAIL: {name}")
            for problem in problems:
                print(f"    {problem}")
        else:
            self.passed += 1
            print(f"ok: {name}")

    def skip(self, what):
        print(f"skip: {what}")


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


# ------------------------------------------------------------------------------------------
# PrometheusRules

def check_prometheusrules(c, repo):
    result = subprocess.run(
        [sys.executable, str(repo / "deploy/kubernetes/generate.py"), "--check", "--repo", str(repo)],
        capture_output=True, text=True)
    c.check("deploy/kubernetes/base/prometheusrules.yaml is generated from rules/ and alerts/ "
            "(deploy/kubernetes/generate.py --check)",
            [] if result.returncode == 0 else (result.stdout + result.stderr).splitlines()[-40:])
    if yaml is None:
        return
    sources = sorted((repo / "rules").glob("*.yml")) + sorted((repo / "alerts").glob("*.yml"))
    docs = load_all(repo / "deploy/kubernetes/base/prometheusrules.yaml")
    problems = []
    if len(docs) != len(sources):
        problems.append(f"{len(docs)} PrometheusRules for {len(sources)} rule files")
    for doc, source in zip(docs, sources):
        relative = source.relative_to(repo).as_posix()
        if doc.get("kind") != "PrometheusRule" or doc.get("apiVersion") != "monitoring.coreos.com/v1":
            problems.append(f"{relative}: not a monitoring.coreos.com/v1 PrometheusRule")
        if doc.get("spec") != load(source):
            problems.append(f"{relative}: the PrometheusRule's spec differs from the file")
    names = [d.get("metadata", {}).get("name") for d in docs]
    if len(set(names)) != len(names):
        problems.append(f"duplicate PrometheusRule names: {names}")
    c.check(f"each PrometheusRule's spec is its rule file ({len(sources)} files)", problems)


# ------------------------------------------------------------------------------------------
# Kubernetes

EXPORTER_IMAGE = "ghcr.io/outcomes-exporter/outcomes_exporter"


def container_security_problems(where, pod_spec, container):
    problems = []
    pod_sc = pod_spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def effective(key):
        return sc[key] if key in sc else pod_sc.get(key)

    if effective("runAsNonRoot") is not True:
        problems.append(f"{where}: runAsNonRoot is not true")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{where}: capabilities.drop does not hold ALL")
    if sc.get("capabilities", {}).get("add"):
        problems.append(f"{where}: adds capabilities")
    if (effective("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: seccompProfile is not RuntimeDefault")
    if sc.get("privileged"):
        problems.append(f"{where}: privileged")
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in (resources.get(kind) or {}):
                problems.append(f"{where}: no {kind}.{resource}")
    image = container.get("image", "")
    if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
        problems.append(f"{where}: image {image!r} has no fixed tag")
    return problems


def probe_problems(where, container, kind, path):
    probe = container.get(kind) or {}
    get = probe.get("httpGet") or {}
    if get.get("path") != path:
        return [f"{where}: {kind} is not an httpGet of {path}"]
    ports = {p.get("name") for p in container.get("ports", [])} | {
        p.get("containerPort") for p in container.get("ports", [])}
    if get.get("port") not in ports:
        return [f"{where}: {kind} port {get.get('port')!r} is not a port of the container"]
    return []


def check_kubernetes(c, repo, exporter):
    base = repo / "deploy/kubernetes/base"
    kustomization = load(base / "kustomization.yaml")
    problems = []
    resources = kustomization.get("resources") or []
    for resource in resources:
        if not (base / resource).is_file():
            problems.append(f"resource {resource} does not exist")
    generated = {}
    for generator in kustomization.get("configMapGenerator") or []:
        for file in generator.get("files") or []:
            path = file.split("=", 1)[-1]
            if not (base / path).is_file():
                problems.append(f"configMapGenerator {generator['name']}: {path} does not exist")
            generated[generator["name"]] = (base / path, pathlib.Path(path).name)
    if any("secret" in r.lower() for r in resources) or kustomization.get("secretGenerator"):
        problems.append("a secret is part of the base (ship only secret.example.yaml, outside it)")
    c.check("kustomization.yaml: resources and generated files exist, no Secret", problems)

    objects = []
    for resource in resources:
        if (base / resource).is_file():
            objects += [(resource, o) for o in load_all(base / resource)]
    kinds = {}
    for resource, o in objects:
        kinds.setdefault(o.get("kind"), []).append((resource, o))
    c.check("no Secret among the base's resources", [
        f"{r}: Secret {o['metadata']['name']}" for r, o in kinds.get("Secret", [])])

    # Every workload's posture.
    problems = []
    exporter_containers = []
    for resource, deployment in kinds.get("Deployment", []):
        pod = deployment["spec"]["template"]["spec"]
        name = deployment["metadata"]["name"]
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{resource}: automountServiceAccountToken is not false")
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            where = f"{resource} {name}/{container['name']}"
            problems += container_security_problems(where, pod, container)
            if container.get("image", "").startswith(EXPORTER_IMAGE + ":"):
                exporter_containers.append((resource, deployment, container))
    c.check("every container: non-root, read-only root, no escalation, capabilities dropped, "
            "seccomp RuntimeDefault, requests and limits, pinned image", problems)

    problems = []
    for resource, deployment, container in exporter_containers:
        pod = deployment["spec"]["template"]["spec"]
        where = f"{resource} {deployment['metadata']['name']}/{container['name']}"
        problems += probe_problems(where, container, "livenessProbe", "/-/healthy")
        problems += probe_problems(where, container, "readinessProbe", "/-/ready")
        args = container.get("args") or []
        config_arg = next((a for a in args if a.startswith("--config.file=")), None)
        if config_arg is None:
            problems.append(f"{where}: no --config.file")
            continue
        config_path = pathlib.PurePosixPath(config_arg.split("=", 1)[1])
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mount = next((m for m in mounts.values()
                      if pathlib.PurePosixPath(m["mountPath"]) == config_path.parent), None)
        if mount is None:
            problems.append(f"{where}: nothing is mounted at {config_path.parent}")
            continue
        config_map = (volumes.get(mount["name"], {}).get("configMap") or {}).get("name")
        if config_map not in generated:
            problems.append(f"{where}: volume {mount['name']} is not a generated ConfigMap")
        elif generated[config_map][1] != config_path.name:
            problems.append(f"{where}: {config_map} holds {generated[config_map][1]}, "
                            f"--config.file reads {config_path.name}")
    c.check(f"exporter containers ({len(exporter_containers)}): probes /-/healthy and /-/ready, "
            "--config.file is the mounted generated ConfigMap", problems
            if exporter_containers else ["no container runs the exporter image"])

    deployments = {o["metadata"]["name"]: (r, o) for r, o in kinds.get("Deployment", [])}
    store = deployments.get("outcomes-exporter-store")
    problems = []
    if store is None:
        problems.append("no Deployment outcomes-exporter-store")
    else:
        spec = store[1]["spec"]
        if spec.get("replicas") != 1:
            problems.append("replicas is not 1 (two collectors would export the totals twice)")
        if (spec.get("strategy") or {}).get("type") != "Recreate":
            problems.append("strategy is not Recreate (a rollout would run two collectors)")
        container = next(c for c in spec["template"]["spec"]["containers"]
                         if c["name"] == "outcomes-exporter")
        env = {e["name"]: e for e in container.get("env", [])}
        dsn = env.get("OUTCOMES_DSN", {})
        ref = (dsn.get("valueFrom") or {}).get("secretKeyRef") or {}
        if "value" in dsn or not ref:
            problems.append("OUTCOMES_DSN is not taken from a Secret (secretKeyRef)")
        example = load(repo / "deploy/kubernetes/secret.example.yaml")
        if ref and (ref.get("name") != example["metadata"]["name"]
                    or ref.get("key") not in (example.get("stringData") or {})):
            problems.append(f"secretKeyRef {ref} does not match deploy/kubernetes/secret.example.yaml")
        if "REPLACE_ME" not in str(example.get("stringData")):
            problems.append("secret.example.yaml must hold a placeholder (REPLACE_ME), not data")
        for e in container.get("env", []):
            if "value" in e and re.search(r"password|dsn|secret|token", e["name"], re.I):
                problems.append(f"env {e['name']} has a literal value")
    c.check("store collector: one Recreate replica, DSN from the Secret of secret.example.yaml",
            problems)

    # The two configurations.
    problems = []
    store_config = load(generated.get("outcomes-exporter-store-config", (base / "missing", ""))[0]) \
        if "outcomes-exporter-store-config" in generated else None
    if not store_config or set(store_config) != {"store", "analytics"}:
        problems.append("the store collector's configuration is not exactly store + analytics")
    elif store_config["store"].get("dsn") != "${OUTCOMES_DSN}":
        problems.append("the store collector's store.dsn is not ${OUTCOMES_DSN}")
    sidecar_config = load(generated["reco-api-outcomes-exporter-config"][0]) \
        if "reco-api-outcomes-exporter-config" in generated else None
    if not sidecar_config or set(sidecar_config) != {"endpoints"}:
        problems.append("the model-serving sidecar's configuration is not endpoints only")
    else:
        for endpoint in sidecar_config["endpoints"]:
            if not re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\])[:/]", endpoint.get("url", "")):
                problems.append(f"endpoint {endpoint.get('name')} is not probed on localhost")
    c.check("configurations: store collector = store + analytics, sidecar = localhost endpoints",
            problems)

    # Monitors select what exists and set the job the alerts expect.
    problems = []
    services = [o for _, o in kinds.get("Service", [])]
    for _, monitor in kinds.get("ServiceMonitor", []):
        name = monitor["metadata"]["name"]
        selector = monitor["spec"]["selector"].get("matchLabels", {})
        matched = [s for s in services
                   if selector and selector.items() <= s["metadata"].get("labels", {}).items()]
        if not matched:
            problems.append(f"ServiceMonitor {name} selects no Service of the base")
        for endpoint in monitor["spec"]["endpoints"]:
            if not any(endpoint.get("port") in {p.get("name") for p in s["spec"]["ports"]}
                       for s in matched):
                problems.append(f"ServiceMonitor {name}: no selected Service has port {endpoint.get('port')!r}")
            problems += job_problems(f"ServiceMonitor {name}", endpoint)
    pods = [o["spec"]["template"] for _, o in kinds.get("Deployment", [])]
    for _, monitor in kinds.get("PodMonitor", []):
        name = monitor["metadata"]["name"]
        selector = monitor["spec"]["selector"].get("matchLabels", {})
        matched = [p for p in pods
                   if selector and selector.items() <= p["metadata"].get("labels", {}).items()]
        if not matched:
            problems.append(f"PodMonitor {name} selects no pod of the base")
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            ports = {port.get("name") for p in matched for ctr in p["spec"]["containers"]
                     for port in ctr.get("ports", [])}
            if endpoint.get("port") not in ports:
                problems.append(f"PodMonitor {name}: no selected container has port {endpoint.get('port')!r}")
            problems += job_problems(f"PodMonitor {name}", endpoint)
    if not kinds.get("ServiceMonitor") or not kinds.get("PodMonitor"):
        problems.append("expected a ServiceMonitor (store collector) and a PodMonitor (sidecars)")
    c.check("ServiceMonitor and PodMonitor select existing ports and set job=\"outcomes_exporter\"",
            problems)

    check_kustomize_build(c, repo)
    check_https_overlay(c, repo)
    check_exporter_configs(c, repo, exporter, [path for path, _ in generated.values()])


def job_problems(where, endpoint):
    for rule in endpoint.get("relabelings") or []:
        if rule.get("targetLabel") == "job" and rule.get("replacement") == "outcomes_exporter" \
                and rule.get("action", "replace").lower() == "replace" and not rule.get("sourceLabels"):
            return []
    return [f"{where}: no relabeling sets job=\"outcomes_exporter\" (OutcomesExporterDown needs it)"]


def check_kustomize_build(c, repo):
    command = kustomize_command()
    if command is None:
        c.skip("kustomize build (neither kustomize nor kubectl is installed)")
        return
    result = subprocess.run(command + [str(repo / "deploy/kubernetes/base")],
                            capture_output=True, text=True)
    problems = result.stderr.strip().splitlines()[-20:] if result.returncode != 0 else []
    if not problems:
        built = [d for d in yaml.safe_load_all(result.stdout) if d]
        kinds = sorted({d["kind"] for d in built})
        wanted = ["ConfigMap", "Deployment", "PodMonitor", "PrometheusRule", "Service", "ServiceMonitor"]
        if kinds != wanted:
            problems.append(f"kinds {kinds}, expected {wanted}")
        config_maps = {d["metadata"]["name"] for d in built if d["kind"] == "ConfigMap"}
        for d in built:
            if d["kind"] != "Deployment":
                continue
            for volume in d["spec"]["template"]["spec"].get("volumes", []):
                name = (volume.get("configMap") or {}).get("name")
                if name and name not in config_maps:
                    problems.append(f"{d['metadata']['name']}: volume refers to ConfigMap {name}, not built")
                if name and not re.search(r"-[a-z0-9]{10}$", name):
                    problems.append(f"{d['metadata']['name']}: ConfigMap {name} has no hash suffix")
        sources = sorted((repo / "rules").glob("*.yml")) + sorted((repo / "alerts").glob("*.yml"))
        specs = sorted((yaml.safe_dump(d["spec"]) for d in built if d["kind"] == "PrometheusRule"))
        if specs != sorted(yaml.safe_dump(load(s)) for s in sources):
            problems.append("the built PrometheusRules' specs differ from rules/ and alerts/")
    c.check(f"{' '.join(command)} deploy/kubernetes/base", problems)


def kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def check_https_overlay(c, repo):
    """The HTTPS overlay: the web config and certificate paths land where they are mounted,
    the key is readable by the exporter's group, probes fit mutual TLS, and Prometheus scrapes
    https with the CA of the mounted Secret."""
    command = kustomize_command()
    overlay = repo / "deploy/kubernetes/overlays/https"
    if command is None:
        c.skip("kustomize build of the HTTPS overlay (neither kustomize nor kubectl is installed)")
        return
    result = subprocess.run(command + [str(overlay)], capture_output=True, text=True)
    if result.returncode != 0:
        c.check(f"{' '.join(command)} deploy/kubernetes/overlays/https",
                result.stderr.strip().splitlines()[-20:])
        return
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    web = load(overlay / "web.yml")
    tls = web["tls_server_config"]
    deployment = next(d for d in built if d["kind"] == "Deployment"
                      and d["metadata"]["name"] == "outcomes-exporter-store")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: volumes.get(m["name"], {}) for m in container.get("volumeMounts", [])}
    problems = []
    web_args = [a.split("=", 1)[1] for a in container["args"] if a.startswith("--web.config.file=")]
    if len(web_args) != 1:
        problems.append("the store container has no --web.config.file argument")
    else:
        source = mounts.get(os.path.dirname(web_args[0]), {}).get("configMap", {})
        if not source.get("name", "").startswith("outcomes-exporter-store-web-config"):
            problems.append(f"{web_args[0]}: its folder is not the web config ConfigMap's mount")
    secret_names = set()
    for key in ("cert_file", "key_file", "client_ca_file"):
        secret = mounts.get(os.path.dirname(tls[key]), {}).get("secret", {})
        if not secret:
            problems.append(f"web.yml {key} {tls[key]}: its folder is not a mounted Secret")
        secret_names.add(secret.get("secretName"))
    if (pod.get("securityContext") or {}).get("fsGroup") != 65532:
        problems.append("no fsGroup 65532: the exporter (uid 65532) could not read a 0440 key")
    if tls.get("client_auth_type") == "RequireAndVerifyClientCert":
        for probe in ("livenessProbe", "readinessProbe"):
            if "httpGet" in container.get(probe, {}):
                problems.append(f"{probe}: the kubelet has no client certificate for httpGet")
    monitor = next(d for d in built if d["kind"] == "ServiceMonitor")
    endpoint = monitor["spec"]["endpoints"][0]
    if endpoint.get("scheme") != "https":
        problems.append("the ServiceMonitor does not scrape https")
    ca_secret = (((endpoint.get("tlsConfig") or {}).get("ca") or {}).get("secret") or {}).get("name")
    if ca_secret not in secret_names:
        problems.append(f"the ServiceMonitor trusts the CA of {ca_secret!r}, not of the mounted Secret")
    if "keySecret" not in (endpoint.get("tlsConfig") or {}):
        problems.append("the ServiceMonitor sends no client certificate, which the web config requires")
    c.check("the HTTPS overlay mounts what web.yml names and scrapes with mutual TLS", problems)


def check_exporter_configs(c, repo, exporter, extra):
    if not exporter:
        c.skip("exporter --config.check of the deploy configurations (no --exporter BINARY)")
        return
    configs = [repo / "deploy/compose/outcomes_exporter.yml"] + sorted(set(extra))
    environment = dict(os.environ,
                       OUTCOMES_DSN="host=db.invalid dbname=outcomes user=outcomes_exporter_app")
    for config in configs:
        result = subprocess.run([exporter, f"--config.file={config}", "--config.check"],
                                capture_output=True, text=True, env=environment)
        c.check(f"outcomes_exporter --config.check {config.relative_to(repo)}",
                [] if result.returncode == 0 else (result.stdout + result.stderr).splitlines())


# ------------------------------------------------------------------------------------------
# Compose

VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|DSN", re.I)


def check_compose(c, repo):
    deploy = repo / "deploy"
    compose_path = deploy / "docker-compose.yml"
    text = compose_path.read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    services = compose["services"]

    problems = []
    for name, service in services.items():
        health = service.get("healthcheck")
        if health is None:
            problems.append(f"{name}: no healthcheck")
        elif health.get("disable"):
            if service.get("restart", "no") != "no":
                problems.append(f"{name}: healthcheck disabled on a service that is not a one-shot")
        elif not health.get("test"):
            problems.append(f"{name}: healthcheck without a test")
    c.check(f"compose: a health check on every long-running service ({len(services)} services)",
            problems)

    problems = []
    one_shots = {n for n, s in services.items() if s.get("restart", "no") == "no"}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on without conditions")
            continue
        for other, spec in depends.items():
            if other not in services:
                problems.append(f"{name}: depends on unknown service {other}")
                continue
            condition = (spec or {}).get("condition")
            wanted = "service_completed_successfully" if other in one_shots else "service_healthy"
            if condition != wanted:
                problems.append(f"{name}: depends on {other} with condition {condition!r}, expected {wanted}")
        mode = service.get("network_mode", "")
        if mode.startswith("service:") and mode[len("service:"):] not in services:
            problems.append(f"{name}: network_mode {mode} names no service")
    c.check("compose: depends_on with conditions (healthy, or completed for one-shots)", problems)

    problems = []
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                if not (deploy / source).exists():
                    problems.append(f"{name}: bind mount {source} does not exist")
            else:
                used.add(source)
                if source not in declared:
                    problems.append(f"{name}: volume {source} is not declared")
    if declared - used:
        problems.append(f"declared but unused volumes: {sorted(declared - used)}")
    for name in ("postgres", "prometheus", "alertmanager", "grafana"):
        if not any(isinstance(v, str) and not v.startswith((".", "/")) for v in services[name].get("volumes", [])):
            problems.append(f"{name}: its data is not on a named volume")
    c.check("compose: named volumes declared and used, bind mounts exist", problems)

    # Secrets: nothing literal, every variable documented in .env.example.
    problems = []
    example = (deploy / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", example, re.M))
    for line_number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for match in VARIABLE.finditer(line):
            if match.group(1) not in documented:
                problems.append(f"line {line_number}: ${{{match.group(1)}}} is not in deploy/.env.example")
        for match in re.finditer(r"password=('?)([^\s']*)", line, re.I):
            if not match.group(2).startswith("${"):
                problems.append(f"line {line_number}: a literal password in a connection string")
    for name, service in services.items():  # YAML anchors are resolved here
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(e.split("=", 1) for e in environment)
        for key, value in environment.items():
            if SECRET_NAME.search(key) and "${" not in str(value):
                problems.append(f"{name}: {key} is written in the file, not taken from deploy/.env")
    for key in re.findall(r"^([A-Za-z_]*PASSWORD[A-Za-z_]*)=(.+)$", example, re.M):
        problems.append(f"deploy/.env.example: {key[0]} has a value; ship it empty")
    c.check("compose: no secret in the file; every ${VAR} is in deploy/.env.example, passwords empty "
            "there", problems)

    # What Prometheus, Alertmanager, Grafana and the sidecar load is what the project ships.
    problems = []
    mounts = {name: {} for name in services}
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, str) and volume.startswith((".", "/")):
                source, target = volume.split(":")[:2]
                mounts[name][target] = (deploy / source).resolve()
    prometheus_config = mount_source(mounts["prometheus"], "/etc/prometheus/prometheus.yml")
    if prometheus_config is None:
        problems.append("prometheus: no configuration mounted at /etc/prometheus/prometheus.yml")
    else:
        config = load(prometheus_config)
        loaded = set()
        for pattern in config.get("rule_files") or []:
            directory, glob = pattern.rsplit("/", 1)
            source = mount_source(mounts["prometheus"], directory)
            if source is None:
                problems.append(f"prometheus: rule_files {pattern} is not under a mounted folder")
            else:
                loaded |= {p.resolve() for p in source.glob(glob)}
        shipped = {p.resolve() for p in (repo / "rules").glob("*.yml")} | {
            p.resolve() for p in (repo / "alerts").glob("*.yml")}
        if loaded != shipped:
            problems.append(f"prometheus loads {sorted(p.name for p in loaded)}, the project ships "
                            f"{sorted(p.relative_to(repo).as_posix() for p in shipped)}")
        jobs = {j["job_name"]: j for j in config.get("scrape_configs", [])}
        targets = [t for sc in (jobs.get("outcomes_exporter") or {}).get("static_configs", [])
                   for t in sc.get("targets", [])]
        aliases = {a for s in services.values()
                   for a in (((s.get("networks") or {}).get("default") or {}).get("aliases") or [])}
        if not targets:
            problems.append("prometheus: no job outcomes_exporter (the alerts expect that job name)")
        for target in targets:
            host, port = target.rsplit(":", 1)
            if host not in aliases and host not in services:
                problems.append(f"prometheus: target {target} is no service or alias")
            if port != "9477":
                problems.append(f"prometheus: target {target} is not the sidecar's port 9477")
        am_targets = [t for a in (config.get("alerting") or {}).get("alertmanagers", [])
                      for sc in a.get("static_configs", []) for t in sc.get("targets", [])]
        if am_targets != ["alertmanager:9093"]:
            problems.append(f"prometheus: alertmanagers {am_targets}, expected alertmanager:9093")
    if mount_source(mounts["alertmanager"], "/etc/alertmanager/alertmanager.yml") != \
            (repo / "deploy/alertmanager/alertmanager.yml").resolve():
        problems.append("alertmanager: deploy/alertmanager/alertmanager.yml is not its configuration")
    provider = load(repo / "grafana/provisioning/dashboards/outcomes.yml")
    dashboards_path = provider["providers"][0]["options"]["path"]
    if mount_source(mounts["grafana"], dashboards_path) != (repo / "grafana/dashboards").resolve():
        problems.append(f"grafana: grafana/dashboards is not mounted at {dashboards_path}")
    if (repo / "grafana/provisioning/dashboards/outcomes.yml").resolve() not in mounts["grafana"].values():
        problems.append("grafana: grafana/provisioning/dashboards/outcomes.yml is not mounted")
    dockerfile = (repo / "Dockerfile").read_text(encoding="utf-8")
    image_config = re.search(r"--config\.file=(\S+?)\"", dockerfile)
    sidecar_config = mount_source(mounts["outcomes-exporter"], image_config.group(1) if image_config else "?")
    if sidecar_config != (deploy / "compose/outcomes_exporter.yml").resolve():
        problems.append("outcomes-exporter: deploy/compose/outcomes_exporter.yml is not mounted "
                        "where the image's entrypoint reads its configuration")
    initdb = sorted(t for t in mounts["postgres"] if t.startswith("/docker-entrypoint-initdb.d/"))
    wanted = [(repo / "deploy/sql/schema.sql").resolve(), (repo / "deploy/sql/grants.sql").resolve()]
    if [mounts["postgres"][t] for t in initdb][:2] != wanted:
        problems.append("postgres: initdb does not run schema.sql then grants.sql first")
    c.check("compose: the shipped rules, alerts, routing, dashboards and schema are what the "
            "services load", problems)

    shipped = load(repo / "grafana/provisioning/datasources/prometheus.yml")
    copy = load(deploy / "compose/grafana-datasource.yml")
    problems = []
    for source in (shipped, copy):
        for datasource in source.get("datasources", []):
            datasource.pop("url", None)
    if shipped != copy:
        problems.append("deploy/compose/grafana-datasource.yml differs from "
                        "grafana/provisioning/datasources/prometheus.yml in more than its url")
    c.check("compose: Grafana data source = the shipped one but for its url", problems)

    promtool = shutil.which("promtool")
    if promtool:
        result = subprocess.run([promtool, "check", "config", "--syntax-only",
                                 str(deploy / "compose/prometheus.yml")], capture_output=True, text=True)
        c.check("promtool check config deploy/compose/prometheus.yml",
                [] if result.returncode == 0 else (result.stdout + result.stderr).splitlines())
    else:
        c.skip("promtool check config (promtool is not installed)")

    check_compose_1_29(c, repo)


def filled_env_file(repo, directory):
    """deploy/.env.example with its empty passwords set as docs/DEPLOYMENT.md says (letters
    and digits, e.g. `openssl rand -hex 24`), written into directory; returns its path."""
    lines = []
    for line in (repo / "deploy/.env.example").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and key.endswith("PASSWORD") and not value:
            line = f"{key}={secrets.token_hex(24)}"
        lines.append(line)
    path = pathlib.Path(directory) / ".env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_compose_1_29(c, repo):
    """Debian 12's docker-compose (1.29) reads the file as the Compose specification does: it
    refuses keys the specification added later (a top-level `name:`)."""
    docker_compose = shutil.which("docker-compose")
    if not docker_compose:
        c.check("docker-compose config (Compose 1.29)",
                ["docker-compose is not installed (Debian package docker-compose, scripts/install-deps)"])
        return
    with tempfile.TemporaryDirectory() as directory:
        env_file = filled_env_file(repo, directory)
        result = subprocess.run(
            [docker_compose, "--project-directory", str(repo / "deploy"), "-f",
             str(repo / "deploy/docker-compose.yml"), "--env-file", str(env_file), "config"],
            capture_output=True, text=True, env={**os.environ, "COMPOSE_PROJECT_NAME": "outcomes"})
    problems = [] if result.returncode == 0 else (result.stdout + result.stderr).strip().splitlines()
    if not problems:
        rendered = yaml.safe_load(result.stdout)
        if sorted(rendered.get("services", {})) != sorted(load(repo / "deploy/docker-compose.yml")["services"]):
            problems.append("the rendered file does not have the file's services")
    c.check("docker-compose config with the filled .env.example (Compose 1.29)", problems)


def mount_source(mounts, path):
    """The host path behind a container path, through the longest mount that holds it."""
    path = pathlib.PurePosixPath(path)
    for target in sorted(mounts, key=len, reverse=True):
        target_path = pathlib.PurePosixPath(target)
        if path == target_path or target_path in path.parents:
            return mounts[target] / path.relative_to(target_path)
    return None


# ------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exporter", help="outcomes_exporter binary for --config.check")
    parser.add_argument("--repo", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent.parent)
    args = parser.parse_args()
    repo = args.repo.resolve()
    c = Checker()
    check_prometheusrules(c, repo)
    if yaml is None:
        c.check("PyYAML is installed (Debian package python3-yaml)",
                ["the structural checks of the compose file and the kustomize base need it"])
    else:
        for section in (check_kubernetes, check_compose):
            try:
                if section is check_kubernetes:
                    section(c, repo, args.exporter)
                else:
                    section(c, repo)
            except (OSError, KeyError, TypeError, AttributeError, StopIteration,
                    yaml.YAMLError) as error:
                c.check(f"{section.__name__}: the files have the expected shape",
                        [f"{type(error).__name__}: {error}"])
    print(f"deploy: {c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
