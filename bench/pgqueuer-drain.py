#!/usr/bin/env python3
"""PgQueuer's drain of N no-op jobs, for bench/queue-vs-pgqueuer.sh.

Run with the interpreter of a virtual environment that has pgqueuer and asyncpg (the shell
script makes one under .local/). For each setting CONSUMERSxBATCH[xPROCESSES] given:
  1. the PgQueuer schema is installed afresh in DSN (its default, durable tables), and N jobs
     with an empty payload are enqueued, 1,000 a statement, before any consumer starts;
  2. PROCESSES processes (default 1; more use the other cores, past Python's one-core limit)
     each start CONSUMERS QueueManagers, each on its own asyncpg connection as PgQueuer's own
     benchmark does, all waiting on one start signal;
  3. rate = N / (time from the start signal until every consumer has returned), in
     QueueExecutionMode.drain, which returns once the queue is empty and the completions of
     the jobs (their log rows) are written. The handler does nothing.
Prints one line per setting, `pgqueuer: C consumers x batch B x P processes: R jobs/s`, then
`best: R SETTING`.
"""
import argparse
import asyncio
import multiprocessing
import time
from datetime import timedelta

import asyncpg
from pgqueuer import AsyncpgDriver, QueueManager, Queries
from pgqueuer.types import QueueExecutionMode

ENTRYPOINT = "noop"


async def consume(dsn, consumers, batch, ready, go, done):
    connections = [await asyncpg.connect(dsn) for _ in range(consumers)]
    managers = []
    counts = [0] * consumers
    for index, connection in enumerate(connections):
        manager = QueueManager(Queries(AsyncpgDriver(connection)))

        def register(manager=manager, index=index):
            @manager.entrypoint(ENTRYPOINT)
            async def noop(job):
                counts[index] += 1

        register()
        managers.append(manager)
    ready.release()
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    await asyncio.gather(*[
        m.run(batch_size=batch, mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=1))
        for m in managers
    ])
    done.put(sum(counts))
    for connection in connections:
        await connection.close()


def process_main(dsn, consumers, batch, ready, go, done):
    try:
        asyncio.run(consume(dsn, consumers, batch, ready, go, done))
    except BaseException:
        done.put(-1)  # the parent must not wait for a consumer that died
        ready.release()
        raise


async def prepare(dsn, jobs):
    connection = await asyncpg.connect(dsn)
    queries = Queries(AsyncpgDriver(connection))
    if await queries.schema_is_installed():
        await queries.uninstall()
    await queries.install()
    for start in range(0, jobs, 1000):
        size = min(1000, jobs - start)
        await queries.enqueue([ENTRYPOINT] * size, [None] * size, [0] * size)
    await connection.execute("VACUUM ANALYZE pgqueuer")
    await connection.close()


async def leftover(dsn):
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval("SELECT count(*) FROM pgqueuer")
    finally:
        await connection.close()


def run_setting(dsn, jobs, consumers, batch, processes):
    asyncio.run(prepare(dsn, jobs))
    context = multiprocessing.get_context("fork")
    ready = context.Semaphore(0)
    go = context.Event()
    done = context.Queue()
    children = [
        context.Process(target=process_main, args=(dsn, consumers, batch, ready, go, done))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    handled = sum(done.get() for _ in children)
    elapsed = time.perf_counter() - started
    for child in children:
        child.join()
    left = asyncio.run(leftover(dsn))
    if handled != jobs or left != 0:
        raise SystemExit(f"pgqueuer: {handled} of {jobs} jobs handled, {left} left in the queue")
    return jobs / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("settings", nargs="+", help="CONSUMERSxBATCH or CONSUMERSxBATCHxPROCESSES")
    args = parser.parse_args()
    best = None
    for setting in args.settings:
        parts = [int(x) for x in setting.split("x")]
        consumers, batch = parts[0], parts[1]
        processes = parts[2] if len(parts) > 2 else 1
        rate = run_setting(args.dsn, args.jobs, consumers, batch, processes)
        described = f"{consumers} consumers x batch {batch} x {processes} process{'es' if processes > 1 else ''}"
        print(f"pgqueuer: {described}: {rate:.0f} jobs/s", flush=True)
        if best is None or rate > best[0]:
            best = (rate, described)
    print(f"best: {best[0]:.0f} {best[1]}")


if __name__ == "__main__":
    main()
