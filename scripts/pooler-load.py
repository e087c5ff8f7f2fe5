#!/usr/bin/env python3
"""The client side of scripts/pooler-test.sh (standard library only).

Drives two `serve` processes that reach PostgreSQL through PgBouncer in transaction mode:

  revocation  a support token used on every serve (so each caches it), revoked through the
              first; each serve must refuse it within --revocation-limit seconds.
  uploads     --uploads uploads over --tenants tenants from --clients threads, alternating
              between the serves, each with its own Idempotency-Key; one in five is missing a
              redirect URI (must end `rejected` with `redirect_uri_missing`), the rest are clean
              (must end `verified`, or `superseded` by a later upload of the same tenant). After
              --kill-after uploads were answered, the processes --kill-pids are SIGKILLed; a
              request that fails on the way (connection refused or reset, 5xx, 409
              idempotency_key_in_use) is sent again, with the same key, to the next serve.
  verdicts    every upload is read back until final, and checked against what it must be.

Prints RESULT lines; exits 1 with the reasons when anything is wrong. Never prints a token or
a secret.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid

parser = argparse.ArgumentParser()
parser.add_argument("--bases", required=True, help="comma-separated serve base URLs")
parser.add_argument("--revocation-bases", default="", help="more serves that must see the revocation (comma-separated)")
parser.add_argument("--token", required=True)
parser.add_argument("--uploads", type=int, default=5000)
parser.add_argument("--tenants", type=int, default=100)
parser.add_argument("--clients", type=int, default=8)
parser.add_argument("--kill-after", type=int, default=0)
parser.add_argument("--kill-pids", default="")
parser.add_argument("--revocation-limit", type=float, default=1.0)
parser.add_argument("--settle-seconds", type=float, default=120)
args = parser.parse_args()

bases = [urllib.parse.urlparse(b) for b in args.bases.split(",")]
local = threading.local()
failures = []
failures_lock = threading.Lock()


def fail(message):
    with failures_lock:
        failures.append(message)


class Unreachable(Exception):
    pass


def call(base, method, path, body=None, token=None, headers=None):
    """One request on this thread's keep-alive connection to `base`."""
    connections = getattr(local, "connections", None)
    if connections is None:
        connections = local.connections = {}
    key = base.netloc
    if key not in connections:
        connections[key] = http.client.HTTPConnection(base.hostname, base.port, timeout=15)
    all_headers = {"Authorization": "Bearer " + (token or args.token)}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    try:
        connections[key].request(method, path, body=body, headers=all_headers)
        response = connections[key].getresponse()
        return response.status, response.read()
    except (http.client.HTTPException, OSError) as error:
        connections[key].close()
        del connections[key]
        raise Unreachable(str(error)) from error


def must(status_body, expected, what):
    status, body = status_body
    if status != expected:
        raise SystemExit(f"{what}: {status} {body[:300]!r}")
    return json.loads(body) if body else None


# --- tenants -------------------------------------------------------------------------------
run = os.getpid()
first = bases[0]
tenants = []
for index in range(args.tenants):
    slug = f"pool-{run}-{index}"
    must(call(first, "POST", "/v1/tenants", json.dumps({"slug": slug, "display_name": slug})), 201, "create tenant")
    uris = must(call(first, "POST", f"/v1/tenants/{slug}/uri-sets", json.dumps({})), 201, "issue URI set")
    tenants.append((slug, uris["redirect_uris"], uris["javascript_origins"]))


# --- revocation ----------------------------------------------------------------------------
def revocation_check():
    watched = bases + [urllib.parse.urlparse(b) for b in args.revocation_bases.split(",") if b]
    made = must(call(first, "POST", "/v1/tokens", json.dumps({"role": "support", "name": "pooler-revocation"})), 201, "create token")
    token = made["token"]
    for base in watched:
        for _ in range(3):  # cached from the first success on
            must(call(base, "GET", "/v1/tenants?limit=1", token=token), 200, f"token before revocation on {base.netloc}")
    must(call(first, "DELETE", f"/v1/tokens/{made['id']}"), 204, "revoke")
    revoked_at = time.monotonic()
    seen = {}
    while len(seen) < len(watched) and time.monotonic() - revoked_at < 5:
        for base in watched:
            if base.netloc in seen:
                continue
            status, _ = call(base, "GET", "/v1/tenants?limit=1", token=token)
            if status == 401:
                seen[base.netloc] = time.monotonic() - revoked_at
        time.sleep(0.01)
    for base in watched:
        took = seen.get(base.netloc)
        if took is None or took > args.revocation_limit:
            fail(f"revocation seen by {base.netloc} after {took if took is not None else '>5'} s (limit {args.revocation_limit} s)")
        else:
            print(f"RESULT pooler_revocation_seen_{base.port}={took * 1000:.0f} ms")


revocation_check()


# --- uploads -------------------------------------------------------------------------------
def client_file(number, slug_index, broken):
    slug, redirects, origins = tenants[slug_index]
    return json.dumps({"web": {
        "client_id": f"{100000000000 + slug_index}-poolerabcdefghijklmnopqrstuvw{run % 100:02d}.apps.googleusercontent.com",
        "project_id": "all-gather-crm-google-calendar",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_secret": "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12",
        "redirect_uris": redirects[1:] if broken else redirects,
        "javascript_origins": origins,
    }})


answered = 0
answered_lock = threading.Lock()
killed = threading.Event()
retries = {"unreachable": 0, "5xx": 0, "in_use": 0}
retries_lock = threading.Lock()


def count_retry(kind):
    with retries_lock:
        retries[kind] += 1


def maybe_kill():
    global answered
    with answered_lock:
        answered += 1
        due = args.kill_pids and args.kill_after and answered >= args.kill_after and not killed.is_set()
        if due:
            killed.set()
    if due:
        for pid in args.kill_pids.split(","):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                fail(f"process {pid} was gone before the SIGKILL")
        print(f"RESULT pooler_sigkill_after={args.kill_after} uploads", flush=True)


def upload(number):
    slug_index = number % len(tenants)
    broken = number % 5 == 4
    body = client_file(number, slug_index, broken)
    key = str(uuid.uuid4())
    slug = tenants[slug_index][0]
    # A request cut off by the SIGKILL holds its key for the idempotency store's 60 s.
    deadline = time.monotonic() + 150
    attempt = 0
    while time.monotonic() < deadline:
        base = bases[(number + attempt) % len(bases)]
        attempt += 1
        try:
            status, answer = call(base, "POST", f"/v1/tenants/{slug}/credentials", body, headers={"Idempotency-Key": key})
        except Unreachable:
            count_retry("unreachable")
            time.sleep(0.05)
            continue
        if status == 202:
            maybe_kill()
            return slug, json.loads(answer)["id"], broken
        if status >= 500:
            count_retry("5xx")
        elif status == 409 and b"idempotency_key_in_use" in answer:
            count_retry("in_use")
        else:
            fail(f"upload {number}: {status} {answer[:200]!r}")
            return None
        time.sleep(0.2)
    fail(f"upload {number}: no 202 within 150 s")
    return None


started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=args.clients) as pool:
    uploads = [u for u in pool.map(upload, range(args.uploads)) if u is not None]
posted = time.monotonic() - started
ids = [u[1] for u in uploads]
print(f"RESULT pooler_uploads_answered={len(uploads)} of {args.uploads} in {posted:.1f} s ({len(uploads) / posted:.0f}/s)")
print(f"RESULT pooler_client_retries={retries['unreachable']} unreachable, {retries['5xx']} 5xx, {retries['in_use']} in use")
if len(set(ids)) != len(ids):
    fail(f"{len(ids) - len(set(ids))} uploads answered with an id already given to another upload")
if args.kill_pids and not killed.is_set():
    fail("the SIGKILL never happened (fewer uploads answered than --kill-after)")


# --- verdicts ------------------------------------------------------------------------------
survivor = bases[-1]


def verdict(entry):
    slug, credential_id, broken = entry
    deadline = time.monotonic() + args.settle_seconds
    while True:
        try:
            status, body = call(survivor, "GET", f"/v1/tenants/{slug}/credentials/{credential_id}")
        except Unreachable as error:
            return f"{credential_id}: {error}"
        if status != 200:
            return f"{credential_id}: read back {status} {body[:200]!r}"
        credential = json.loads(body)
        state = credential["state"]
        if state in ("pending", "verifying"):
            if time.monotonic() > deadline:
                return f"{credential_id}: still {state} after {args.settle_seconds} s"
            time.sleep(0.5)
            continue
        codes = {f.get("code") for f in credential.get("findings", [])}
        if broken:
            if state != "rejected" or "redirect_uri_missing" not in codes:
                return f"{credential_id}: broken upload ended {state} with {sorted(codes)}"
        elif state not in ("verified", "superseded") or any(f.get("severity") == "error" for f in credential.get("findings", [])):
            return f"{credential_id}: clean upload ended {state} with {sorted(codes)}"
        return None


with concurrent.futures.ThreadPoolExecutor(max_workers=args.clients) as pool:
    wrong = [w for w in pool.map(verdict, uploads) if w is not None]
settled = time.monotonic() - started
for line in wrong[:10]:
    fail(line)
if len(wrong) > 10:
    fail(f"... and {len(wrong) - 10} more uploads wrong")
print(f"RESULT pooler_all_final_after={settled:.1f} s from the first upload")

if failures:
    for message in failures:
        print("FAIL " + message, file=sys.stderr)
    sys.exit(1)
print(f"RESULT pooler_uploads_right={len(uploads)}")
