#!/usr/bin/env python3
"""Steady-rate uploads for bench/latency.sh (standard library only).

Makes TENANTS tenants with URI sets through the API, then POSTs a clean client_secrets.json
for one of them every 1/RATE seconds for SECONDS, from a pool of threads with keep-alive
connections, and prints the 202 answer times. Never prints the token or the secret.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--base", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--rate", type=float, default=50)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--tenants", type=int, default=5)
args = parser.parse_args()
base = urllib.parse.urlparse(args.base)
local = threading.local()


def call(method, path, body=None, content_type="application/json"):
    if not hasattr(local, "connection"):
        local.connection = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
    headers = {"Authorization": "Bearer " + args.token}
    if body is not None:
        headers["Content-Type"] = content_type
    try:
        local.connection.request(method, path, body=body, headers=headers)
        response = local.connection.getresponse()
        return response.status, response.read()
    except (http.client.HTTPException, OSError):
        local.connection.close()
        del local.connection
        raise


run = os.getpid()
tenants = []
for index in range(args.tenants):
    slug = f"bench-{run}-{index}"
    status, body = call("POST", "/v1/tenants", json.dumps({"slug": slug, "display_name": slug}))
    assert status == 201, (status, body[:200])
    status, body = call("POST", f"/v1/tenants/{slug}/uri-sets", json.dumps({}))
    assert status == 201, (status, body[:200])
    uris = json.loads(body)
    tenants.append((slug, uris["redirect_uris"], uris["javascript_origins"]))


def clean_file(number, redirects, origins):
    return json.dumps({"web": {
        "client_id": f"{100000000000 + number}-benchabcdefghijklmnopqrstuvwxyz01.apps.googleusercontent.com",
        "project_id": "all-gather-crm-google-calendar",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_secret": "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12",
        "redirect_uris": redirects,
        "javascript_origins": origins,
    }})


def upload(number):
    slug, redirects, origins = tenants[number % len(tenants)]
    started = time.perf_counter()
    status, body = call("POST", f"/v1/tenants/{slug}/credentials", clean_file(number, redirects, origins))
    elapsed = time.perf_counter() - started
    return status, elapsed


total = int(args.rate * args.seconds)
interval = 1.0 / args.rate
futures = []
with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    start = time.perf_counter()
    for number in range(total):
        delay = start + number * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(upload, number))
    results = [future.result() for future in futures]
wall = time.perf_counter() - start
statuses = {}
for status, _ in results:
    statuses[status] = statuses.get(status, 0) + 1
times = sorted(elapsed for _, elapsed in results)
def pct(p):
    return times[min(len(times) - 1, int(p * len(times)))] * 1000
print(f"uploads: {total} in {wall:.1f} s ({total / wall:.1f}/s), statuses {statuses}")
print(f"upload answer (202) time: p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms")
