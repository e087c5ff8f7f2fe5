#!/usr/bin/env python3
"""Consistency checks of deploy/ that the schema validators cannot make, and the checks of
the Kubernetes overlays (deploy/kubernetes-overlays/*), schemas included.

    lint-deploy.py [--kubernetes-versions 1.30.0,1.37.0]

Run by scripts/lint-deploy.sh with the lint virtualenv's Python (needs PyYAML, and
kubernetes-validate with its jsonschema for the overlays). Prints nothing and exits 0 when
every check holds; otherwise one line per problem on stderr and exit status 1.
"""
import argparse
import functools
import importlib.util
import ipaddress
import pathlib
import re
import sys
import urllib.parse

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
OVERLAYS = DEPLOY / "kubernetes-overlays"
problems = []

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--kubernetes-versions", default="1.30.0,1.37.0",
                    help="comma-separated Kubernetes versions whose schemas the overlays are validated against")
parser.add_argument("--self-test", action="store_true",
                    help="instead: break a copy of the CloudNativePG overlay in known ways and check that each is caught")
arguments = parser.parse_args()


def problem(path, message):
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    problems.append(f"{shown}: {message}")


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


def check_workloads(docs):
    """Every workload: hardened pods, requests and limits, 20 s grace period."""
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


check_workloads(docs)

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


# 6. The Kubernetes overlays (deploy/kubernetes-overlays/*): each one lists every file of its
# folder, renders (scripts/render-kustomization.py, the subset of kustomize deploy/ uses), and
# what it renders is valid: the built-in kinds against kubernetes-validate's strict schemas,
# the CloudNativePG kinds against scripts/cloudnative-pg.schema.yaml, for every version in
# --kubernetes-versions; then what no schema says (check_cloudnative_pg).
CNPG_GROUP = "postgresql.cnpg.io/"
CNPG_SCHEMA = ROOT / "scripts" / "cloudnative-pg.schema.yaml"
# What each process of the service opens (deploy/README.md, "The processes"): its pool through
# DATABASE_URL, and LISTEN connections of its own to DATABASE_LISTEN_URL.
POOL = {"serve": 20, "work": 10, "admin": 2, "migrate": 2}
LISTEN = {"serve": 1, "work": 2}
# Connections PostgreSQL must keep for others: superuser_reserved_connections (3), the
# operator's instance manager, monitoring, psql and pg_dump (about 10).
RESERVED_CONNECTIONS = 13


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def overlay_files(directory, kustomization):
    """The overlay lists every file of its folder (resources or patches) and only those."""
    where = directory / "kustomization.yaml"
    named = set()
    for entry in kustomization.get("resources", []) or []:
        if (directory / entry).resolve().is_dir():
            continue
        named.add(entry)
    for patch in kustomization.get("patches", []) or []:
        if isinstance(patch, dict) and "path" in patch:
            named.add(patch["path"])
    for name in sorted(named):
        if not (directory / name).is_file():
            problem(where, f"names {name}, which does not exist")
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name != "kustomization.yaml" and path.name not in named:
            problem(where, f"does not name {path.name} (in resources or patches)")


@functools.lru_cache(maxsize=None)
def kubernetes_definitions(version):
    """The strict definitions kubernetes-validate itself uses for this Kubernetes version."""
    from kubernetes_validate import utils as kv_utils
    schema_version = [v for v in kv_utils.all_versions()
                      if kv_utils.major_minor(v) <= kv_utils.major_minor(version)][-1]
    return kv_utils.schema_contents(f"kubernetes-json-schema/v{schema_version}-local-strict/_definitions.json", version)


def validate_schemas(directory, rendered, versions):
    try:
        import jsonschema
        import kubernetes_validate
        from referencing import Registry, Resource
    except ImportError as error:
        problem(directory, f"cannot validate: {error} (scripts/lint-deploy.sh installs kubernetes-validate)")
        return
    cnpg_schema = load_all(CNPG_SCHEMA)[0]
    for version in versions:
        definitions = kubernetes_definitions(version)
        registry = Registry().with_resources([
            ("https://kubernetes.io/api/_definitions.json", Resource.from_contents(definitions)),
            (cnpg_schema["$id"], Resource.from_contents(cnpg_schema)),
        ])
        for doc in rendered:
            label = f"{doc.get('kind')} {doc.get('metadata', {}).get('name')} (Kubernetes {version})"
            if str(doc.get("apiVersion", "")).startswith(CNPG_GROUP):
                if doc.get("kind") not in ("Cluster", "Pooler"):
                    problem(directory, f"{label}: no schema in {CNPG_SCHEMA.name} for this kind")
                    continue
                validator = jsonschema.Draft202012Validator(
                    {"$ref": f"{cnpg_schema['$id']}#/$defs/{doc['kind']}"}, registry=registry)
                for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                    path = ".".join(str(part) for part in error.absolute_path) or "."
                    problem(directory, f"{label}: {path}: {error.message[:300]}")
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path) or "."
                problem(directory, f"{label}: {path}: {error.message[:300]}")
            except kubernetes_validate.SchemaNotFoundError:
                problem(directory, f"{label}: kubernetes-validate has no schema for this kind")


def resolve_env(container, secrets):
    """The container's environment as the kubelet makes it, from `env` (which wins over
    `envFrom`): values with $(NAME) expanded, secret keys replaced by `secrets[(name, key)]`.
    Returns {name: value} and problems."""
    values, issues = {}, []
    for entry in container.get("env", []) or []:
        name = entry["name"]
        if "value" in entry:
            values[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                  lambda m: values.get(m.group(1), m.group(0)), str(entry["value"]))
            if "$(" in values[name]:
                issues.append(f"{name} refers to a variable not defined before it in env")
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            key = (ref.get("name"), ref.get("key"))
            if key not in secrets:
                issues.append(f"{name} reads secret {key[0]} key {key[1]}, which nothing here provides")
            values[name] = secrets.get(key, "")
    return values, issues


def pod_labels(doc):
    return (doc["spec"]["template"].get("metadata") or {}).get("labels") or {}


def selects(selector, labels):
    """Does a label selector (matchLabels, matchExpressions) select these labels?"""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(peer, policy_namespace, pod):
    """Does a NetworkPolicy peer match a pod ({namespace, namespace_labels, labels})? Pod
    addresses are taken to lie outside every ipBlock: pod ranges are private, and the ipBlocks
    here are placeholders, public ranges or the API server's address."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], pod["namespace_labels"]):
            return False
    elif pod["namespace"] != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], pod["labels"])


def rule_allows(rule, direction, policy_namespace, pod, port, protocol):
    peers = rule.get("to" if direction == "Egress" else "from")
    if peers is not None and not any(peer_matches(peer, policy_namespace, pod) for peer in peers):
        return False
    ports = rule.get("ports")
    return ports is None or any(
        p.get("protocol", "TCP") == protocol and (p.get("port") is None or p.get("port") == port
                                                   or (isinstance(p.get("port"), int) and p.get("endPort")
                                                       and p["port"] <= port <= p["endPort"]))
        for p in ports)


def flow_allowed(policies, source, destination, port, protocol="TCP"):
    """NetworkPolicy semantics: the source's egress and the destination's ingress must both
    allow it, where a pod no policy of that direction selects is open in that direction."""
    def side(pod, direction, peer):
        selecting = [p for p in policies
                     if p["metadata"]["namespace"] == pod["namespace"]
                     and direction in p["spec"].get("policyTypes", ["Ingress"])
                     and selects(p["spec"]["podSelector"], pod["labels"])]
        if not selecting:
            return True
        key = "egress" if direction == "Egress" else "ingress"
        return any(rule_allows(rule, direction, policy["metadata"]["namespace"], peer, port, protocol)
                   for policy in selecting for rule in policy["spec"].get(key, []) or [])
    return side(source, "Egress", destination) and side(destination, "Ingress", source)


def check_cloudnative_pg(directory, rendered, base):
    """What the CloudNativePG overlay must hold that no schema says."""
    def by_kind(kind):
        return [doc for doc in rendered if doc.get("kind") == kind]

    clusters = [d for d in by_kind("Cluster") if d["apiVersion"].startswith(CNPG_GROUP)]
    poolers = [d for d in by_kind("Pooler") if d["apiVersion"].startswith(CNPG_GROUP)]
    if len(clusters) != 1 or len(poolers) != 1:
        problem(directory, "expects exactly one CloudNativePG Cluster and one Pooler")
        return
    cluster, pooler = clusters[0], poolers[0]
    name, namespace = cluster["metadata"]["name"], cluster["metadata"].get("namespace")
    spec = cluster["spec"]
    initdb = (spec.get("bootstrap") or {}).get("initdb") or {}
    owner, database = initdb.get("owner"), initdb.get("database")
    where = f"Cluster {name}"

    # The cluster: standbys to fail over to, the roles the service needs.
    if spec.get("instances", 1) < 2:
        problem(directory, f"{where}: instances must be at least 2 (a standby to fail over to)")
    # The statements as PostgreSQL runs them: comments removed, blanks folded, lower case.
    post_init = " ".join(re.sub(r"\s+", " ", re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)).strip().lower()
                         for sql in initdb.get("postInitSQL", []) or [])
    for needed, why in (
        ("create role provisioner_app nologin", "creates provisioner_app as migration 0001 would"),
        (f"grant provisioner_app to {owner} with admin option", "lets the owner grant provisioner_app (migration 0001)"),
        ("grant set on parameter provisioner.all_tenants", "migrations 0007 and later create functions that SET it"),
    ):
        if needed not in post_init:
            problem(directory, f"{where}: bootstrap.initdb.postInitSQL must hold `{needed}` ({why})")
    roles = {role["name"]: role for role in ((spec.get("managed") or {}).get("roles") or [])}

    # The Pooler: the primary, transaction mode, no session state smuggled in.
    pooler_name = pooler["metadata"]["name"]
    bouncer = pooler["spec"].get("pgbouncer") or {}
    if pooler["spec"]["cluster"]["name"] != name:
        problem(directory, f"Pooler {pooler_name}: spec.cluster.name must be {name}")
    if pooler["spec"].get("type", "rw") != "rw":
        problem(directory, f"Pooler {pooler_name}: type must be rw (the service writes)")
    if bouncer.get("poolMode") != "transaction":
        problem(directory, f"Pooler {pooler_name}: pgbouncer.poolMode must be transaction")
    parameters = bouncer.get("parameters") or {}
    ignored = [p.strip() for p in parameters.get("ignore_startup_parameters", "").split(",") if p.strip()]
    for parameter in ignored:
        if parameter == "role" or parameter.startswith("provisioner."):
            problem(directory, f"Pooler {pooler_name}: ignore_startup_parameters must not drop {parameter} (session state)")

    # Secrets the operator makes, as the env of the pods may read them.
    secrets = {
        (f"{name}-app", "uri"): f"postgresql://{owner}:OWNER-PASSWORD@{name}-rw.{namespace}:5432/{database}",
        (f"{name}-app", "password"): "OWNER-PASSWORD",
        (f"{name}-app", "username"): owner,
    }
    for role in roles.values():
        if role.get("passwordSecret"):
            secrets[(role["passwordSecret"]["name"], "password")] = "0123456789abcdef"
            secrets[(role["passwordSecret"]["name"], "username")] = role["name"]

    def hosts(service):
        return {service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"}

    primary_hosts = hosts(f"{name}-rw")
    pooler_hosts = hosts(pooler_name)
    certificate_names = primary_hosts | set((spec.get("certificates") or {}).get("serverAltDNSNames") or [])
    workloads = {(d["kind"], d["metadata"]["name"]): d for d in rendered if d.get("kind") in ("Deployment", "Job")}
    expectations = (
        # (workload, variable, hosts it must name, the role it must log in as, what)
        (("Deployment", "provisioner-serve"), "DATABASE_URL", pooler_hosts, "login", "the Pooler"),
        (("Deployment", "provisioner-serve"), "DATABASE_LISTEN_URL", primary_hosts, "login", "the primary (-rw)"),
        (("Deployment", "provisioner-work"), "DATABASE_URL", pooler_hosts, "login", "the Pooler"),
        (("Deployment", "provisioner-work"), "DATABASE_LISTEN_URL", primary_hosts, "login", "the primary (-rw)"),
        (("Job", "provisioner-migrate"), "DATABASE_URL", primary_hosts, "owner", "the primary (-rw)"),
    )
    login_roles = set()
    for key, variable, wanted_hosts, role_kind, what in expectations:
        label = f"{key[0]} {key[1]}"
        workload = workloads.get(key)
        if workload is None:
            problem(directory, f"{label}: missing")
            continue
        pod = workload["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env, issues = resolve_env(container, secrets)
        for issue in issues:
            problem(directory, f"{label}: {issue}")
        if variable not in env:
            problem(directory, f"{label}: sets no {variable} (env wins over the base's envFrom; it must point at {what})")
            continue
        url = urllib.parse.urlsplit(env[variable])
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.hostname not in wanted_hosts:
            problem(directory, f"{label}: {variable} must point at {what} ({sorted(wanted_hosts)[0]}), not {url.hostname}")
        if url.path.lstrip("/") != database:
            problem(directory, f"{label}: {variable} must name the database {database}")
        if query.get("sslmode") != "verify-full":
            problem(directory, f"{label}: {variable} must say sslmode=verify-full")
        if url.hostname not in certificate_names:
            problem(directory, f"{label}: {variable}'s host {url.hostname} is not in the server certificate "
                               f"(Cluster spec.certificates.serverAltDNSNames)")
        root = query.get("sslrootcert", "")
        mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts", []) or []}
        volumes = {v["name"]: v for v in pod.get("volumes", []) or []}
        volume = volumes.get(mounts.get(root.rsplit("/", 1)[0]))
        secret_volume = (volume or {}).get("secret") or {}
        if secret_volume.get("secretName") != f"{name}-ca" or secret_volume.get("items") != [{"key": "ca.crt", "path": root.rsplit("/", 1)[-1]}]:
            problem(directory, f"{label}: {variable}'s sslrootcert must be ca.crt of the secret {name}-ca, mounted alone "
                               "(that secret also holds the CA's key)")
        user = urllib.parse.unquote(url.username or "")
        if role_kind == "owner":
            if user != owner:
                problem(directory, f"{label}: {variable} must log in as the database owner {owner}, not {user}")
            continue
        login_roles.add(user)
        role = roles.get(user)
        if role is None:
            problem(directory, f"{label}: {variable} logs in as {user}, which is not a managed role of {where}")
            continue
        if user == owner:
            problem(directory, f"{label}: {variable} must not log in as the owner {owner}")
        if not (role.get("login") and role.get("inherit") is False and "provisioner_app" in (role.get("inRoles") or [])
                and not any(role.get(flag) for flag in ("superuser", "bypassrls", "createrole", "createdb", "replication"))):
            problem(directory, f"{where}: role {user} must be login, inherit: false, in provisioner_app, and nothing more")
        password = secrets.get(((role.get("passwordSecret") or {}).get("name"), "password"))
        if password is None or password not in (url.password or ""):
            problem(directory, f"{label}: {variable}'s password must come from {user}'s passwordSecret")
    if len(login_roles) > 1:
        problem(directory, f"serve and work log in as one role (one pool per user in PgBouncer), not {sorted(login_roles)}")

    # The base's env, volumes and mounts are all still there (a JSON patch `add` of a list
    # that already exists replaces it).
    for key, workload in workloads.items():
        original = base.get(key)
        if original is None:
            continue
        for field in ("env", "volumeMounts"):
            before = {e["name"] for e in original["spec"]["template"]["spec"]["containers"][0].get(field, []) or []}
            after = {e["name"] for e in workload["spec"]["template"]["spec"]["containers"][0].get(field, []) or []}
            if before - after:
                problem(directory, f"{key[0]} {key[1]}: the overlay drops the base's {field} {sorted(before - after)}")
        before = {v["name"] for v in original["spec"]["template"]["spec"].get("volumes", []) or []}
        after = {v["name"] for v in workload["spec"]["template"]["spec"].get("volumes", []) or []}
        if before - after:
            problem(directory, f"{key[0]} {key[1]}: the overlay drops the base's volumes {sorted(before - after)}")

    # Pooler sizing (deploy/README.md, "Capacity"): clients per PgBouncer pod, in the worst case
    # of one pod holding them all, and server connections against max_connections.
    hpa = next((d for d in by_kind("HorizontalPodAutoscaler") if d["spec"]["scaleTargetRef"]["name"] == "provisioner-serve"), None)
    serve = workloads.get(("Deployment", "provisioner-serve"))
    work = workloads.get(("Deployment", "provisioner-work"))
    def surge(deployment, replicas):
        """Extra pods a rolling update may add (maxSurge: a count or a percentage, rounded up)."""
        value = str(((deployment["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", "25%"))
        return -(-replicas * int(value[:-1]) // 100) if value.endswith("%") else int(value)

    if hpa and serve and work:
        serve_pods = hpa["spec"]["maxReplicas"] + surge(serve, hpa["spec"]["maxReplicas"])
        work_pods = work["spec"].get("replicas", 1) + surge(work, work["spec"].get("replicas", 1))
        clients = POOL["serve"] * serve_pods + POOL["work"] * work_pods + POOL["admin"]
        max_client_conn = int(parameters.get("max_client_conn", "100"))
        if max_client_conn < clients:
            problem(directory, f"Pooler {pooler_name}: max_client_conn {max_client_conn} < {clients} clients at the HPA's maximum")
        instances = int(pooler["spec"].get("instances", 1))
        server = instances * (int(parameters.get("default_pool_size", "20")) + int(parameters.get("reserve_pool_size", "0")))
        direct = LISTEN["serve"] * serve_pods + LISTEN["work"] * work_pods + POOL["migrate"] + instances  # + auth_query
        max_connections = int(((spec.get("postgresql") or {}).get("parameters") or {}).get("max_connections", "100"))
        if server + direct + RESERVED_CONNECTIONS > max_connections:
            problem(directory, f"{where}: max_connections {max_connections} < {server} (Pooler) + {direct} (LISTEN, migrate, "
                               f"auth_query) + {RESERVED_CONNECTIONS} (reserved)")

    # Network: what must flow, and what must not.
    policies = by_kind("NetworkPolicy")
    namespace_labels = {"kubernetes.io/metadata.name": namespace}

    def service_pod(workload_name):
        workload = workloads.get(("Deployment", workload_name)) or workloads.get(("Job", workload_name))
        labels = pod_labels(workload) if workload else {}
        return {"namespace": namespace, "namespace_labels": namespace_labels, "labels": labels}

    def cnpg_pod(labels):
        return {"namespace": namespace, "namespace_labels": namespace_labels,
                "labels": {"cnpg.io/cluster": name, "app.kubernetes.io/name": "postgresql",
                           "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "cloudnative-pg", **labels}}

    instance = cnpg_pod({"cnpg.io/podRole": "instance", "cnpg.io/instanceName": f"{name}-1",
                         "cnpg.io/instanceRole": "primary", "app.kubernetes.io/component": "database"})
    standby = cnpg_pod({"cnpg.io/podRole": "instance", "cnpg.io/instanceName": f"{name}-2",
                        "cnpg.io/instanceRole": "replica", "app.kubernetes.io/component": "database"})
    join_job = cnpg_pod({"cnpg.io/jobRole": "join", "cnpg.io/instanceName": f"{name}-3", "app.kubernetes.io/component": "database"})
    bouncer_pod = cnpg_pod({"cnpg.io/poolerName": pooler_name, "cnpg.io/podRole": "pooler", "app.kubernetes.io/component": "pooler"})
    operator = {"namespace": "cnpg-system", "namespace_labels": {"kubernetes.io/metadata.name": "cnpg-system"},
                "labels": {"app.kubernetes.io/name": "cloudnative-pg"}}
    dns = {"namespace": "kube-system", "namespace_labels": {"kubernetes.io/metadata.name": "kube-system"},
           "labels": {"k8s-app": "kube-dns"}}
    stranger = {"namespace": "crm-runtime", "namespace_labels": {"kubernetes.io/metadata.name": "crm-runtime"},
                "labels": {"app.kubernetes.io/name": "provisioner"}}
    serve_pod, work_pod, migrate_pod = service_pod("provisioner-serve"), service_pod("provisioner-work"), service_pod("provisioner-migrate")
    flows = (
        ("serve -> Pooler", serve_pod, bouncer_pod, 5432, "TCP", True),
        ("work -> Pooler", work_pod, bouncer_pod, 5432, "TCP", True),
        ("serve -> primary (LISTEN)", serve_pod, instance, 5432, "TCP", True),
        ("work -> primary (LISTEN)", work_pod, instance, 5432, "TCP", True),
        ("migrate -> primary", migrate_pod, instance, 5432, "TCP", True),
        ("Pooler -> primary", bouncer_pod, instance, 5432, "TCP", True),
        ("standby -> primary (replication)", standby, instance, 5432, "TCP", True),
        ("join Job -> primary", join_job, instance, 5432, "TCP", True),
        ("operator -> instance status", operator, instance, 8000, "TCP", True),
        ("instance -> DNS", instance, dns, 53, "UDP", True),
        ("Pooler -> DNS", bouncer_pod, dns, 53, "UDP", True),
        ("another namespace -> primary", stranger, instance, 5432, "TCP", False),
        ("another namespace -> Pooler", stranger, bouncer_pod, 5432, "TCP", False),
        ("serve -> instance status", serve_pod, instance, 8000, "TCP", False),
        ("migrate -> Pooler", migrate_pod, bouncer_pod, 5432, "TCP", False),
    )
    for label, source, destination, port, protocol, wanted in flows:
        if flow_allowed(policies, source, destination, port, protocol) != wanted:
            problem(directory, f"NetworkPolicy: {label} ({protocol} {port}) must be {'allowed' if wanted else 'denied'}")
    for policy in policies:
        for rule in policy["spec"].get("egress", []) or []:
            for peer in rule.get("to", []) or []:
                cidr = (peer.get("ipBlock") or {}).get("cidr")
                network = ipaddress.ip_network(cidr) if cidr else None
                if network and network.version == 4 and network.overlaps(ipaddress.ip_network("192.0.2.0/24")) \
                        and any(p.get("port") == 5432 for p in rule.get("ports", []) or []):
                    problem(directory, f"NetworkPolicy {policy['metadata']['name']}: still allows PostgreSQL at the base's placeholder {cidr}")


def check_overlay(directory, versions, base_docs):
    kustomization_path = directory / "kustomization.yaml"
    if not kustomization_path.is_file():
        problem(directory, "has no kustomization.yaml")
        return
    overlay_files(directory, load_all(kustomization_path)[0])
    try:
        rendered = renderer.render(directory)
    except renderer.RenderError as error:
        problem(directory, f"does not render: {str(error).replace(str(ROOT) + '/', '')}")
        return
    validate_schemas(directory, rendered, versions)
    check_workloads({(d["kind"], d["metadata"]["name"]): (directory, d) for d in rendered})
    if any(str(d.get("apiVersion", "")).startswith(CNPG_GROUP) for d in rendered):
        check_cloudnative_pg(directory, rendered, base_docs)


# --self-test: each way of breaking the overlay (file, text, replacement) and a fragment of
# the problem that must be reported, so that none of the checks above passes vacuously.
SELF_TEST_OVERLAY = "cloudnative-pg"
MUTATIONS = (
    ("pooler.yaml", "poolMode: transaction", "poolMode: session", "poolMode must be transaction"),
    ("patch-deployment-serve.yaml", "@provisioner-db-rw:5432", "@provisioner-db-pooler-rw:5432",
     "DATABASE_LISTEN_URL must point at the primary"),
    ("patch-job-migrate.yaml", "$(DB_OWNER_URI)?$(DB_TLS)",
     "postgres://provisioner:x@provisioner-db-pooler-rw:5432/provisioner?$(DB_TLS)", "DATABASE_URL must point at the primary"),
    ("patch-deployment-work.yaml", "pooler-rw:5432/provisioner?$(DB_TLS)", "pooler-rw:5432/provisioner?sslmode=require",
     "must say sslmode=verify-full"),
    ("cluster.yaml", "  instances: 3", "  instance: 3", "'instance' was unexpected"),
    ("pooler.yaml", "query_wait_timeout", "query_wait_timeout_ms", "'query_wait_timeout_ms' is not one of"),
    ("cluster.yaml", "max_connections: \"100\"", "max_connections: \"50\"", "max_connections 50 <"),
    ("cluster.yaml", "inherit: false", "inherit: true", "must be login, inherit: false"),
    ("cluster.yaml", "      - provisioner-db-pooler-rw\n", "", "is not in the server certificate"),
    ("cluster.yaml", "- GRANT SET ON PARAMETER", "- -- GRANT SET ON PARAMETER", "postInitSQL must hold"),
    ("patch-deployment-serve.yaml", "    readOnly: true", "    readOnly: \"yes\"", "is not of type 'boolean'"),
    ("patch-deployment-work.yaml", "value: PROVISIONER_PORT", "value: PROVISIONER_HOST", "does not render"),
    ("patch-networkpolicy-egress.yaml", "cnpg.io/podRole: instance", "cnpg.io/podRole: instances",
     "serve -> primary (LISTEN) (TCP 5432) must be allowed"),
    ("networkpolicy-database.yaml", "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: provisioner\n",
     "        - namespaceSelector: {}\n", "another namespace -> primary (TCP 5432) must be denied"),
    ("kustomization.yaml", "  - networkpolicy-database.yaml\n", "", "does not name networkpolicy-database.yaml"),
)


def self_test(versions, base_docs):
    import shutil
    import tempfile

    failures = []
    with tempfile.TemporaryDirectory() as scratch:
        # The copy sits where the overlay does, relative to the base (../../kubernetes).
        root = pathlib.Path(scratch)
        (root / "deploy" / "kubernetes-overlays").mkdir(parents=True)
        shutil.copytree(K8S, root / "deploy" / "kubernetes")
        copy = root / "deploy" / "kubernetes-overlays" / SELF_TEST_OVERLAY
        for file, old, new, expected in MUTATIONS:
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(OVERLAYS / SELF_TEST_OVERLAY, copy)
            text = (copy / file).read_text(encoding="utf-8")
            if text.count(old) != 1:
                failures.append(f"mutation of {file}: {old!r} is there {text.count(old)} times, not once (update MUTATIONS)")
                continue
            (copy / file).write_text(text.replace(old, new, 1), encoding="utf-8")
            start = len(problems)
            check_overlay(copy, versions, base_docs)
            found = problems[start:]
            del problems[start:]
            if not any(expected in line for line in found):
                failures.append(f"{file}: {old!r} -> {new!r} was not caught (expected {expected!r}; got {found[:2]})")
    return failures


renderer = load_module("render_kustomization", ROOT / "scripts" / "render-kustomization.py")
versions = [v for v in arguments.kubernetes_versions.split(",") if v]
base_docs = {key: doc for key, (_, doc) in docs.items()}
if arguments.self_test:
    for line in self_test(versions, base_docs):
        print(f"self-test: {line}", file=sys.stderr)
        problems.append(line)
    sys.exit(1 if problems else 0)
if OVERLAYS.is_dir():
    for directory in sorted(p for p in OVERLAYS.iterdir() if p.is_dir()):
        check_overlay(directory, versions, base_docs)

for line in dict.fromkeys(problems):
    print(line, file=sys.stderr)
sys.exit(1 if problems else 0)
