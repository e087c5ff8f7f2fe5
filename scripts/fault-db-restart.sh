#!/usr/bin/env bash
# Fault test: PostgreSQL stopped for a few seconds under upload load.
#
#  1. A fresh database on the dedicated fault cluster (scripts/fault-lib.sh; never the test
#     or dev cluster, since this test stops its server), `provisioner migrate`, a support
#     token, `provisioner run` on 127.0.0.1:FAULT_PORT (default 18094).
#  2. A Python standard-library client makes a tenant and its URI set, then POSTs clean
#     client_secrets.json files at FAULT_RATE per second (default 20) for FAULT_LOAD_SECONDS
#     (default 30), each on a new connection with an 8 s timeout (FAULT_CLIENT_TIMEOUT), and polls /readyz every
#     0.2 s. 5 s in, PostgreSQL is stopped (`dev-postgres.sh stop`) for FAULT_OUTAGE seconds
#     (default 5) and started again (`ensure`).
#  3. Passes when: no request timed out or lost its connection; every answer was 202, or 503
#     application/problem+json with code service_unavailable; the outage was felt (some 503
#     uploads and /readyz); /readyz answered 200 within 15 s of the database being back and
#     uploads got 202 again; `provisioner run` is still alive; and every upload that got 202
#     is in the database and reaches `verified` (or `superseded`) within 60 s: nothing lost.
# Loopback only; the server, the cluster state and the database are cleaned up on exit.
set -euo pipefail

LOG_TAG=fault-db-restart
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/fault-lib.sh
. "$here/fault-lib.sh"
cd "$REPO_ROOT"

PORT="${FAULT_PORT:-18094}"
RATE="${FAULT_RATE:-20}"
LOAD_SECONDS="${FAULT_LOAD_SECONDS:-30}"
OUTAGE="${FAULT_OUTAGE:-5}"
RECOVERY=15
base="http://127.0.0.1:$PORT"
export PROVISIONER_HOST=127.0.0.1 PROVISIONER_PORT="$PORT"

trap fault_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fault_setup db-restart

if curl -s -o /dev/null --max-time 2 "$base/"; then die "something already listens on 127.0.0.1:$PORT (set FAULT_PORT)"; fi
token="$("$PROVISIONER" token create --role support --name fault | tail -n1 | tr -d '[:space:]')"
[ -n "$token" ] || die "provisioner token create printed no token"

"$PROVISIONER" run </dev/null >"$FAULT_DIR/server.log" 2>&1 &
server=$!
FAULT_PIDS=("$server")
deadline=$((SECONDS + 60))
until curl -fs -o /dev/null --max-time 2 "$base/readyz"; do
	kill -0 "$server" 2>/dev/null || die "provisioner run exited (see $FAULT_DIR/server.log)"
	[ "$SECONDS" -lt "$deadline" ] || die "/readyz not 200 within 60 s"
	sleep 0.2
done
log "provisioner run ready on $base"

cat >"$FAULT_DIR/client.py" <<'PY'
"""Upload load across a database outage, and the verdict on what the service answered."""
import concurrent.futures, http.client, json, os, socket, sys, threading, time

base_port, token, rate, seconds, events_path, out_dir, recovery = (
    int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], float(sys.argv[7]))
TIMEOUT = float(os.environ.get("FAULT_CLIENT_TIMEOUT", "8"))


def call(method, path, body=None):
    """(status, content_type, body, elapsed) or (None, error, b"", elapsed); a new connection each time."""
    started = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=TIMEOUT)
    headers = {"Authorization": "Bearer " + token, "Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, response.getheader("Content-Type", ""), data, time.time() - started
    except (OSError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}", b"", time.time() - started
    finally:
        connection.close()


slug = f"fault-{os.getpid()}"
status, _, body, _ = call("POST", "/v1/tenants", json.dumps({"slug": slug, "display_name": slug}))
assert status == 201, (status, body[:300])
status, _, body, _ = call("POST", f"/v1/tenants/{slug}/uri-sets", json.dumps({}))
assert status == 201, (status, body[:300])
uris = json.loads(body)


def clean_file(number):
    return json.dumps({"web": {
        "client_id": f"{200000000000 + number}-faultabcdefghijklmnopqrstuvwxyz0.apps.googleusercontent.com",
        "project_id": "all-gather-crm-google-calendar",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_secret": "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12",
        "redirect_uris": uris["redirect_uris"],
        "javascript_origins": uris["javascript_origins"],
    }})


def upload(number):
    sent = time.time()
    status, content_type, data, elapsed = call("POST", f"/v1/tenants/{slug}/credentials", clean_file(number))
    return {"sent": sent, "status": status, "type": content_type, "body": data[:4000].decode("utf-8", "replace"), "elapsed": elapsed}


readyz, stop_polling = [], threading.Event()


def poll_readyz():
    while not stop_polling.is_set():
        sent = time.time()
        status, detail, _, elapsed = call("GET", "/readyz")
        readyz.append({"sent": sent, "status": status, "detail": detail if status is None else "", "elapsed": elapsed})
        stop_polling.wait(0.2)


poller = threading.Thread(target=poll_readyz, daemon=True)
poller.start()
start = time.time()
print(f"load started {start:.3f}", flush=True)
total = int(rate * seconds)
# Enough threads that answers held for up to TIMEOUT never delay the schedule.
with concurrent.futures.ThreadPoolExecutor(max_workers=int(rate * (TIMEOUT + 2)) + 8) as pool:
    futures = []
    for number in range(total):
        delay = start + number / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(upload, number))
    results = [future.result() for future in futures]

# The outage's times, written by the shell script: "down EPOCH" and "up EPOCH".
events = {}
deadline = time.time() + 60
while "up" not in events and time.time() < deadline:
    try:
        with open(events_path) as handle:
            events = dict((line.split()[0], float(line.split()[1])) for line in handle if line.strip())
    except FileNotFoundError:
        pass
    time.sleep(0.2)
while time.time() < events.get("up", 0) + recovery + 1:
    time.sleep(0.2)
stop_polling.set()
poller.join(timeout=TIMEOUT + 1)

failures = []
if "down" not in events or "up" not in events:
    failures.append(f"the outage was not recorded ({events})")
down, up = events.get("down", 0.0), events.get("up", 0.0)
accepted, statuses = [], {}
for result in results:
    statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    if result["status"] is None:
        failures.append(f"upload sent at +{result['sent'] - start:.1f}s: no answer ({result['type']}) after {result['elapsed']:.1f}s")
    elif result["status"] == 202:
        try:
            accepted.append(json.loads(result["body"])["id"])
        except (ValueError, KeyError):
            failures.append(f"202 without a credential id: {result['body'][:200]}")
    elif result["status"] == 503:
        try:
            code = json.loads(result["body"]).get("code")
        except ValueError:
            code = None
        if not result["type"].startswith("application/problem+json") or code != "service_unavailable":
            failures.append(f"503 without a service_unavailable problem: {result['type']} {result['body'][:200]}")
    else:
        failures.append(f"upload answered {result['status']}: {result['body'][:200]}")
unavailable = statuses.get(503, 0)
if unavailable == 0:
    failures.append("no upload was answered 503: the outage was not felt")
after = [r for r in results if r["sent"] > up + recovery]
if after and not any(r["status"] == 202 for r in after):
    failures.append(f"no upload accepted more than {recovery:.0f}s after the database came back")
for probe in readyz:
    if probe["status"] is None:
        failures.append(f"/readyz at +{probe['sent'] - start:.1f}s: no answer ({probe['detail']})")
if not any(p["status"] not in (None, 200) and down <= p["sent"] <= up for p in readyz):
    failures.append("/readyz never answered non-200 during the outage")
back = [p for p in readyz if p["sent"] >= up and p["status"] == 200]
ready_after = back[0]["sent"] - up if back else None
if ready_after is None or ready_after > recovery:
    failures.append(f"/readyz not 200 within {recovery:.0f}s of the database being back")
slowest = max(r["elapsed"] for r in results)
during = [r for r in results if down <= r["sent"] <= up]
slowest_503 = max((r["elapsed"] for r in results if r["status"] == 503), default=0.0)
with open(os.path.join(out_dir, "accepted.txt"), "w") as handle:
    handle.write("\n".join(accepted) + "\n")
with open(os.path.join(out_dir, "results.json"), "w") as handle:
    json.dump({"events": events, "start": start, "uploads": results, "readyz": readyz}, handle)
summary = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0])))
print(f"uploads {len(results)} ({summary}); {len(during)} sent during the outage; outage {up - down:.1f}s; "
      f"slowest answer {slowest:.2f}s, slowest 503 {slowest_503:.2f}s; "
      f"/readyz 200 again {ready_after if ready_after is None else round(ready_after, 1)}s after the database", flush=True)
print(f"RESULT fault_db_restart_503={unavailable} uploads")
print(f"RESULT fault_db_restart_ready_after={ready_after if ready_after is not None else -1:.1f} s")
print(f"RESULT fault_db_restart_slowest_answer={slowest:.2f} s")
for failure in failures[:20]:
    print("FAIL " + failure, file=sys.stderr)
sys.exit(1 if failures else 0)
PY

events="$FAULT_DIR/events"
: >"$events"
log "load: $RATE uploads/s for ${LOAD_SECONDS}s; PostgreSQL stopped for ${OUTAGE}s after 5 s"
timeout --kill-after=10 "$((LOAD_SECONDS + 120))" \
	python3 "$FAULT_DIR/client.py" "$PORT" "$token" "$RATE" "$LOAD_SECONDS" "$events" "$FAULT_DIR" "$RECOVERY" \
	>"$FAULT_DIR/client.out" 2>&1 &
client=$!
FAULT_PIDS=("$client" "$server")
sleep 5
printf 'down %s\n' "$(date +%s.%N)" >>"$events"
bash scripts/dev-postgres.sh stop "$FAULT_PG_DIR" 2>/dev/null
log "PostgreSQL stopped"
sleep "$OUTAGE"
bash scripts/dev-postgres.sh ensure "$FAULT_PG_DIR" "$FAULT_PG_PORT" >/dev/null 2>&1 || die "could not start PostgreSQL again"
printf 'up %s\n' "$(date +%s.%N)" >>"$events"
log "PostgreSQL started again"
client_rc=0
wait "$client" || client_rc=$?
FAULT_PIDS=("$server")
grep -v '^RESULT ' "$FAULT_DIR/client.out" | sed 's/^/  /' >&2 || true
grep '^RESULT ' "$FAULT_DIR/client.out" || true
kill -0 "$server" 2>/dev/null || die "provisioner run died (see $FAULT_DIR/server.log)"

[ -f "$FAULT_DIR/accepted.txt" ] || die "the client ended without a result (exit $client_rc; see $FAULT_DIR/client.out)"
accepted="$(grep -c . "$FAULT_DIR/accepted.txt" || true)"
log "$accepted uploads accepted (202); waiting up to 60 s for their verdicts"
fault_wait_settled 60 || die "uploads left without a verdict 60 s after the load"
ids="$(paste -sd, "$FAULT_DIR/accepted.txt")"
found="$(fault_sql "SELECT count(*) FROM credentials WHERE id = ANY('{$ids}'::uuid[]) AND state IN ('verified', 'superseded')")"
log "of the $accepted accepted uploads, $found are verified or superseded; $(fault_states)"
[ "$found" -eq "$accepted" ] || die "$((accepted - found)) accepted uploads are missing or not verified"
[ "$client_rc" -eq 0 ] || die "the service misbehaved during the outage (FAIL lines above; $FAULT_DIR/client.out, results.json)"
log "passed: answers 202 or 503 problem+json throughout, ready again after the outage, no upload lost"
