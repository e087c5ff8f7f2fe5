#!/usr/bin/env python3
"""Consistency checks of deploy/ that the schema validators cannot make.

Run by scripts/lint-deploy.sh with the lint virtualenv's Python (needs PyYAML).
Prints nothing and exits 0 when every check holds; otherwise one line per
problem on stderr and exit status 1.
"""
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
problems = []


def problem(path, message):
    problems.append(f"{path.relative_to(ROOT)}: {message}")


def load_all(path):
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


# 1. kustomization.yaml lists exactly the manifests of the folder.
kustomization = K8S / "kustomization.yaml"
listed = load_all(kustomization)[0].get("resources", [])
for name in listed:
    if not (K8S / name).is_file():
        problem(kustomization, f"lists {name}, which does not exist")
for path in sorted(K8S.glob("*.yaml")):
    if path.name == "kustomization.yaml" or path.name.endswith(".local.yaml"):
        continue
    if path.name not in listed:
        problem(kustomization, f"does not list {path.name}")

# 2. Every workload: hardened pods, requests and limits, 20 s grace period.
docs = {}
for path in sorted(K8S.glob("*.yaml")):
    if path.name == "kustomization.yaml":
        continue
    for doc in load_all(path):
        docs[(doc["kind"], doc["metadata"]["name"])] = (path, doc)

for (kind, name), (path, doc) in docs.items():
    if kind not in ("Deployment", "Job"):
        continue
    pod = doc["spec"]["template"]["spec"]
    where = f"{kind} {name}"
    if pod.get("terminationGracePeriodSeconds") != 20:
        problem(path, f"{where}: terminationGracePeriodSeconds must be 20")
    pod_sc = pod.get("securityContext", {})
    if pod_sc.get("runAsNonRoot") is not True:
        problem(path, f"{where}: pod securityContext.runAsNonRoot must be true")
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(path, f"{where}: pod seccompProfile must be RuntimeDefault")
    for container in pod["containers"]:
        cname = f"{where} container {container['name']}"
        sc = container.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(path, f"{cname}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(path, f"{cname}: allowPrivilegeEscalation must be false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(path, f"{cname}: capabilities.drop must be [ALL]")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            for key in ("cpu", "memory"):
                if key not in resources.get(part, {}):
                    problem(path, f"{cname}: resources.{part}.{key} missing")

serve = docs.get(("Deployment", "provisioner-serve"))
if serve is None:
    problem(K8S, "no Deployment provisioner-serve")
else:
    container = serve[1]["spec"]["template"]["spec"]["containers"][0]
    for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        got = container.get(probe, {}).get("httpGet", {}).get("path")
        if got != want:
            problem(serve[0], f"{probe} must GET {want} (has {got})")

# 3. The Secret template holds placeholders only.
secret = docs.get(("Secret", "provisioner-secrets"))
if secret is None:
    problem(K8S, "no Secret provisioner-secrets template")
else:
    for key in ("DATABASE_URL", "PROVISIONER_ENCRYPTION_KEYS"):
        value = secret[1].get("stringData", {}).get(key, "")
        if "REPLACE_ME" not in value:
            problem(secret[0], f"{key} must stay a REPLACE_ME placeholder in the committed template")

# 4. compose.yaml: the services and their start order.
compose_path = DEPLOY / "compose.yaml"
compose = load_all(compose_path)[0]
services = compose.get("services", {})
for name in ("postgres", "migrate", "serve", "work"):
    if name not in services:
        problem(compose_path, f"service {name} missing")
for name in ("serve", "work"):
    depends = services.get(name, {}).get("depends_on", {})
    if depends.get("postgres", {}).get("condition") != "service_healthy":
        problem(compose_path, f"{name} must wait for postgres: service_healthy")
    if depends.get("migrate", {}).get("condition") != "service_completed_successfully":
        problem(compose_path, f"{name} must wait for migrate: service_completed_successfully")
    if services.get(name, {}).get("deploy", {}).get("replicas") != 2:
        problem(compose_path, f"{name} must run 2 replicas")

# 5. The runbook names every file of deploy/.
readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
for path in sorted(DEPLOY.rglob("*")):
    if not path.is_file() or path.name == "README.md":
        continue
    relative = path.relative_to(ROOT).as_posix()
    if relative in ("deploy/.env",) or path.name.endswith(".local.yaml"):
        continue
    if relative not in readme:
        problem(DEPLOY / "README.md", f"does not mention {relative}")

for line in problems:
    print(line, file=sys.stderr)
sys.exit(1 if problems else 0)
