#!/usr/bin/env python3
"""Development aid: copy the operations named on the command line (by operationId) from a
complete draft of the spec into openapi.yaml, dropping links to operations not yet served."""
import sys
import yaml

source, target, *operations = sys.argv[1:]
keep = set(operations)
with open(source, encoding="utf-8") as f:
    spec = yaml.safe_load(f)
for path in list(spec["paths"]):
    item = spec["paths"][path]
    for method in [m for m in list(item) if m in ("get", "put", "post", "patch", "delete")]:
        if item[method].get("operationId") not in keep:
            del item[method]
            continue
        for response in item[method].get("responses", {}).values():
            links = response.get("links") if isinstance(response, dict) else None
            if links:
                for name in [n for n, link in links.items() if link.get("operationId") not in keep]:
                    del links[name]
                if not links:
                    del response["links"]
    if not any(m in item for m in ("get", "put", "post", "patch", "delete")):
        del spec["paths"][path]
with open(target, "w", encoding="utf-8") as f:
    yaml.safe_dump(spec, f, allow_unicode=True, sort_keys=False, width=110)
