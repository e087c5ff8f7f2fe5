#!/usr/bin/env python3
"""Upload to verdict as one client sees it, for bench/client-latency.sh (standard library only).

Makes a tenant with a URI set through the API, then UPLOADS times: POSTs a clean
client_secrets.json, then GETs the credential (the Location of the 202) until its state is
final (verified, rejected or superseded), on one keep-alive connection, and waits PAUSE
seconds so that the worker is idle before the next upload. The time of one upload is from
sending the POST to reading the answer that shows the verdict. Prints the percentiles, the
202 answer times and how many GETs a verdict took. Never prints the token or the secret.
"""
import argparse
import http.client
import json
import os
import socket
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--base", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--uploads", type=int, default=300)
parser.add_argument("--pause", type=float, default=0.05)
parser.add_argument("--warm-up", type=int, default=10)
args = parser.parse_args()
base = urllib.parse.urlparse(args.base)
connection = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
connection.connect()
# Small requests one after the other: without TCP_NODELAY, Nagle's algorithm and delayed
# ACKs would add tens of milliseconds that are nobody's but the client's.
connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
headers = {"Authorization": "Bearer " + args.token}


def call(method, path, body=None):
    request_headers = dict(headers)
    if body is not None:
        request_headers["Content-Type"] = "application/json"
    connection.request(method, path, body=body, headers=request_headers)
    response = connection.getresponse()
    return response.status, response.getheader("Location"), response.read()


slug = f"client-latency-{os.getpid()}"
status, _, body = call("POST", "/v1/tenants", json.dumps({"slug": slug, "display_name": slug}))
assert status == 201, (status, body[:200])
status, _, body = call("POST", f"/v1/tenants/{slug}/uri-sets", json.dumps({}))
assert status == 201, (status, body[:200])
uris = json.loads(body)


def clean_file(number):
    return json.dumps({"web": {
        "client_id": f"{200000000000 + number}-benchabcdefghijklmnopqrstuvwxyz01.apps.googleusercontent.com",
        "project_id": "all-gather-crm-google-calendar",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_secret": "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12",
        "redirect_uris": uris["redirect_uris"],
        "javascript_origins": uris["javascript_origins"],
    }})


FINAL = {"verified", "rejected", "superseded"}
totals, answers, polls, states = [], [], [], {}
for number in range(args.warm_up + args.uploads):
    file = clean_file(number)
    started = time.perf_counter()
    status, location, body = call("POST", f"/v1/tenants/{slug}/credentials", file)
    answered = time.perf_counter()
    assert status == 202 and location, (status, body[:200])
    gets = 0
    state = json.loads(body)["state"]
    while state not in FINAL:
        status, _, body = call("GET", location)
        assert status == 200, (status, body[:200])
        gets += 1
        state = json.loads(body)["state"]
    finished = time.perf_counter()
    if number >= args.warm_up:
        totals.append(finished - started)
        answers.append(answered - started)
        polls.append(gets)
        states[state] = states.get(state, 0) + 1
    time.sleep(args.pause)


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


print(f"uploads: {len(totals)} (after {args.warm_up} to warm up), one at a time, {args.pause * 1000:.0f} ms apart; verdicts {states}")
print(f"upload answer (202) time: p50 {pct(answers, 0.5):.1f} ms, p99 {pct(answers, 0.99):.1f} ms")
print(f"GETs until the verdict: mean {sum(polls) / len(polls):.1f}, max {max(polls)}")
print(f"client upload-to-verdict: p50 {pct(totals, 0.5):.1f} ms, p99 {pct(totals, 0.99):.1f} ms, max {max(totals) * 1000:.1f} ms")
