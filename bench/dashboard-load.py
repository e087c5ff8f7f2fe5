#!/usr/bin/env python3
"""bench/dashboard-load.py: latency of a few GET paths (stdlib only, loopback only).

    dashboard-load.py --base http://127.0.0.1:PORT --token TOKEN [--requests N] [--concurrency C] PATH...

For each PATH: N requests over C keep-alive connections (after 20 warm-up requests), then
p50 / p99 / max in milliseconds, and the status codes seen.
"""
import argparse
import http.client
import threading
import time
import urllib.parse


def run(base, token, path, total, concurrency):
    url = urllib.parse.urlparse(base)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only")
    latencies, statuses, lock = [], {}, threading.Lock()
    per_thread = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]

    def worker(count, warmup):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        headers = {"Authorization": "Bearer " + token}
        mine = []
        for i in range(warmup + count):
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - start) * 1000
            if i >= warmup:
                mine.append(elapsed)
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n, 20 if i == 0 else 0)) for i, n in enumerate(per_thread)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"{path:60s} n={len(latencies):5d} p50={pick(0.50):7.2f} ms  p99={pick(0.99):7.2f} ms  "
          f"max={latencies[-1]:7.2f} ms  {len(latencies) / wall:7.0f} req/s  status={statuses}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    for path in args.paths:
        run(args.base, args.token, path, args.requests, args.concurrency)


if __name__ == "__main__":
    main()
