#!/usr/bin/env python3
"""Renders a kustomization as `kustomize build` would, for the few features deploy/ uses.

    render-kustomization.py DIR                 the manifests of DIR, as YAML documents
    render-kustomization.py --same A.yaml B.yaml exit 0 when both hold the same resources

Why: `make lint` validates what `kubectl apply -k deploy/kubernetes-overlays/...` would send,
and kustomize is not installable from Debian or PyPI here (no download may land in the
repository). So this renders exactly the subset of kustomize that deploy/ uses, and refuses
anything else, naming it, rather than render it differently from kustomize:

  - `resources`: files of YAML documents, and directories holding a kustomization.yaml
    (built first, with their own transformers, as kustomize builds a base);
  - `patches`: JSON 6902 patches (a YAML list of operations, inline `patch:` or a file
    `path:`) with a `target` of kind and name (group, version, namespace optional), ops
    add, remove, replace and test; a target that matches nothing is an error here;
  - `namespace`: set on every namespaced resource (not on Namespace and the other
    cluster-scoped kinds);
  - `images`: `newName` / `newTag` / `digest` of the containers and init containers
    whose image name is `name`.

Where kubectl (whose kustomize is the reference) is present, scripts/lint-deploy.sh renders
with both and compares them with --same, so this subset cannot drift from kustomize unseen.
Needs PyYAML (the lint virtualenv has it).
"""
import copy
import pathlib
import sys

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "patches", "images"}
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Kinds without a namespace (those deploy/ could plausibly hold; an unknown kind counts as
# namespaced, as kustomize assumes for a custom resource without its CRD).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "APIService", "IngressClass", "RuntimeClass",
    "ClusterImageCatalog",
}


class RenderError(Exception):
    pass


def _load_documents(path):
    try:
        with path.open(encoding="utf-8") as handle:
            return [doc for doc in yaml.safe_load_all(handle) if doc is not None]
    except (OSError, yaml.YAMLError) as error:
        raise RenderError(f"{path}: cannot read YAML: {error}") from error


def _kustomization_file(directory):
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def render(directory, _stack=()):
    """The resources of the kustomization in `directory`, transformed, in kustomize's
    accumulation order (each resource in the order listed, a base's before what follows it)."""
    directory = pathlib.Path(directory).resolve()
    if directory in _stack:
        raise RenderError(f"{directory}: kustomization cycle")
    kustomization_path = _kustomization_file(directory)
    if kustomization_path is None:
        raise RenderError(f"{directory}: no kustomization.yaml")
    documents = _load_documents(kustomization_path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise RenderError(f"{kustomization_path}: expected one mapping")
    kustomization = documents[0]
    unsupported = sorted(set(kustomization) - SUPPORTED_FIELDS)
    if unsupported:
        raise RenderError(
            f"{kustomization_path}: {', '.join(unsupported)} not supported by scripts/render-kustomization.py "
            "(add it there, checked against kubectl kustomize, or do without)"
        )

    resources = []
    for entry in kustomization.get("resources", []) or []:
        target = (directory / entry).resolve()
        if target.is_dir():
            # kustomize refuses a base that contains the kustomization using it (a cycle).
            if directory == target or directory.is_relative_to(target):
                raise RenderError(
                    f"{kustomization_path}: base {entry} contains this kustomization; kustomize refuses that (cycle)"
                )
            resources.extend(render(target, _stack + (directory,)))
        elif target.is_file():
            if not target.is_relative_to(directory):
                raise RenderError(
                    f"{kustomization_path}: file {entry} is outside the kustomization's directory; kustomize refuses that"
                )
            resources.extend(_load_documents(target))
        else:
            raise RenderError(f"{kustomization_path}: resource {entry} does not exist")
    _check_unique(resources, kustomization_path)

    for number, patch in enumerate(kustomization.get("patches", []) or [], start=1):
        _apply_patch(resources, patch, directory, f"{kustomization_path}: patch {number}")

    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource.get("kind") not in CLUSTER_SCOPED:
                resource.setdefault("metadata", {})["namespace"] = namespace
    _check_unique(resources, kustomization_path)

    for image in kustomization.get("images", []) or []:
        _set_image(resources, image, kustomization_path)
    return resources


def _identity(resource):
    metadata = resource.get("metadata") or {}
    return (resource.get("apiVersion"), resource.get("kind"), metadata.get("namespace"), metadata.get("name"))


def _check_unique(resources, where):
    seen = set()
    for resource in resources:
        identity = _identity(resource)
        if identity in seen:
            raise RenderError(f"{where}: {identity[1]} {identity[3]} is defined twice")
        seen.add(identity)


def _matches(resource, target):
    group, _, version = (resource.get("apiVersion") or "").rpartition("/")
    metadata = resource.get("metadata") or {}
    wanted = {
        "kind": resource.get("kind"),
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "group": group,
        "version": version,
    }
    for key, value in target.items():
        if key not in wanted:
            raise RenderError(f"target field {key} not supported (kind, name, namespace, group, version)")
        if wanted[key] != value:
            return False
    return True


def _apply_patch(resources, patch, directory, where):
    if not isinstance(patch, dict) or set(patch) - {"path", "patch", "target"}:
        raise RenderError(f"{where}: only `path` or `patch` with a `target` is supported")
    target = patch.get("target")
    if not isinstance(target, dict) or "kind" not in target or "name" not in target:
        raise RenderError(f"{where}: a target with kind and name is required")
    if "path" in patch:
        patch_path = (directory / patch["path"]).resolve()
        if not patch_path.is_relative_to(directory) or not patch_path.is_file():
            raise RenderError(f"{where}: {patch['path']} is not a file of the kustomization's directory")
        documents = _load_documents(patch_path)
        operations = documents[0] if len(documents) == 1 else None
        where = f"{where} ({patch['path']})"
    else:
        operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise RenderError(f"{where}: only JSON 6902 patches (a list of operations) are supported")
    matched = [resource for resource in resources if _matches(resource, target)]
    if not matched:
        raise RenderError(f"{where}: no resource matches the target {target}")
    for resource in matched:
        for operation in operations:
            _apply_operation(resource, operation, where)


def _pointer(path, where):
    if not isinstance(path, str) or not path.startswith("/"):
        raise RenderError(f"{where}: path {path!r} is not a JSON pointer")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _resolve(document, parts, where, path):
    node = document
    for part in parts:
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise RenderError(f"{where}: {path}: no item {part}")
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                raise RenderError(f"{where}: {path}: no member {part}")
            node = node[part]
        else:
            raise RenderError(f"{where}: {path}: {part} is inside a scalar")
    return node


def _apply_operation(document, operation, where):
    if not isinstance(operation, dict):
        raise RenderError(f"{where}: an operation must be a mapping")
    op, path = operation.get("op"), operation.get("path")
    parts = _pointer(path, where)
    if op not in ("add", "remove", "replace", "test"):
        raise RenderError(f"{where}: op {op!r} not supported (add, remove, replace, test)")
    if op in ("add", "replace", "test") and "value" not in operation:
        raise RenderError(f"{where}: {op} {path} has no value")
    value = copy.deepcopy(operation.get("value"))
    if op == "test":
        found = _resolve(document, parts, where, path)
        if found != value:
            raise RenderError(f"{where}: test {path} failed: found {found!r}, expected {value!r}")
        return
    parent = _resolve(document, parts[:-1], where, path)
    last = parts[-1]
    if isinstance(parent, list):
        if op == "add" and last == "-":
            parent.append(value)
            return
        if not last.isdigit() or int(last) > len(parent) or (op != "add" and int(last) == len(parent)):
            raise RenderError(f"{where}: {path}: index {last} out of range")
        index = int(last)
        if op == "add":
            parent.insert(index, value)
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = value
    elif isinstance(parent, dict):
        if op in ("remove", "replace") and last not in parent:
            raise RenderError(f"{where}: {op} {path}: no such member")
        if op == "remove":
            del parent[last]
        else:
            parent[last] = value
    else:
        raise RenderError(f"{where}: {path}: the parent is a scalar")


def _split_image(reference):
    """(name, tag or None, digest or None) of an image reference."""
    name, digest = (reference.split("@", 1) + [None])[:2]
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def _pod_specs(resource):
    spec = resource.get("spec") or {}
    if "containers" in spec:
        yield spec
    template = (spec.get("template") or {}).get("spec")
    if isinstance(template, dict):
        yield template
    job_template = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if isinstance(job_template, dict):
        yield job_template


def _set_image(resources, image, where):
    unsupported = set(image) - {"name", "newName", "newTag", "digest"}
    if unsupported or "name" not in image:
        raise RenderError(f"{where}: images entries take name, newName, newTag, digest only")
    for resource in resources:
        for pod_spec in _pod_specs(resource):
            for key in ("initContainers", "containers"):
                for container in pod_spec.get(key) or []:
                    if "image" not in container:
                        continue
                    name, tag, digest = _split_image(container["image"])
                    if name != image["name"]:
                        continue
                    name = image.get("newName", name)
                    if "digest" in image:
                        container["image"] = f"{name}@{image['digest']}"
                    elif "newTag" in image:
                        container["image"] = f"{name}:{image['newTag']}"
                    else:
                        container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def same_resources(first, second):
    """Problems (a list of lines) if the two lists of resources differ, in any order."""
    def index(resources):
        return {_identity(resource): resource for resource in resources}

    left, right = index(first), index(second)
    problems = []
    for identity in sorted(set(left) | set(right), key=lambda item: tuple(str(part) for part in item)):
        label = f"{identity[1]} {identity[2]}/{identity[3]}"
        if identity not in left:
            problems.append(f"{label}: only in the second")
        elif identity not in right:
            problems.append(f"{label}: only in the first")
        elif left[identity] != right[identity]:
            problems.append(f"{label}: differs: {_first_difference(left[identity], right[identity])}")
    return problems


def _first_difference(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for number, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{number}]")
    return f"{path or '.'}: {a!r} != {b!r}"


def main(arguments):
    try:
        if len(arguments) == 3 and arguments[0] == "--same":
            first = _load_documents(pathlib.Path(arguments[1]))
            second = _load_documents(pathlib.Path(arguments[2]))
            problems = same_resources(first, second)
            for line in problems:
                print(line, file=sys.stderr)
            return 1 if problems else 0
        if len(arguments) == 1:
            yaml.safe_dump_all(render(arguments[0]), sys.stdout, sort_keys=False, default_flow_style=False)
            return 0
    except RenderError as error:
        print(f"render-kustomization: {error}", file=sys.stderr)
        return 1
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
