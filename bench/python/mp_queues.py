"""
The Python baselines of the queue benchmark (bench/queue.ts): multiprocessing.Queue,
JoinableQueue and Event between processes, spawn start method, as the library's
children are fresh processes too.

    python3 bench/python/mp_queues.py put --n 100000 --size small
    python3 bench/python/mp_queues.py get --n 100000 --consumers 4
    python3 bench/python/mp_queues.py joinable --n 100000 --consumers 4
    python3 bench/python/mp_queues.py event --rounds 1000

Prints one JSON line with the result. Times are from time.monotonic_ns (CLOCK_MONOTONIC,
the same clock in every process), in ms.
"""
import argparse
import json
import multiprocessing
import sys
import time

ONE_KB = "x" * 1000


def now_ms():
    return time.monotonic_ns() / 1e6


def item_of(size, i):
    return i if size == "small" else {"id": i, "payload": ONE_KB}


# ---------------------------------------------------------------------------
# put: a child puts n items, the parent gets them


def producer(queue, n, size):
    for i in range(n):
        queue.put(item_of(size, i))


def bench_put(n, size):
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=producer, args=(queue, n, size))
    child.start()
    first = queue.get()
    t0 = now_ms()
    total = first if size == "small" else first["id"]
    for _ in range(n - 1):
        item = queue.get()
        total += item if size == "small" else item["id"]
    t1 = now_ms()
    child.join()
    if total != n * (n - 1) // 2:
        raise SystemExit(f"lost or changed items: sum {total}")
    return {"n": n, "size": size, "ms": t1 - t0, "rate": (n - 1) / ((t1 - t0) / 1000)}


# ---------------------------------------------------------------------------
# get: the parent puts n items, k children get them


def consumer(queue, results):
    results.put(("ready", 0, 0))
    count = 0
    total = 0
    while True:
        item = queue.get()
        if item is None:
            break
        count += 1
        total += item
    results.put(("done", count, total, now_ms()))


def bench_get(n, consumers):
    queue = multiprocessing.Queue()
    results = multiprocessing.Queue()
    children = [multiprocessing.Process(target=consumer, args=(queue, results)) for _ in range(consumers)]
    for child in children:
        child.start()
    for _ in children:
        results.get()
    t0 = now_ms()
    for i in range(n):
        queue.put(i)
    for _ in children:
        queue.put(None)
    done = [results.get() for _ in children]
    for child in children:
        child.join()
    count = sum(d[1] for d in done)
    total = sum(d[2] for d in done)
    if count != n or total != n * (n - 1) // 2:
        raise SystemExit(f"lost or duplicated items: {count} items, sum {total}")
    t1 = max(d[3] for d in done)
    return {
        "n": n,
        "consumers": consumers,
        "ms": t1 - t0,
        "rate": n / ((t1 - t0) / 1000),
        "perConsumer": [d[1] for d in done],
    }


# ---------------------------------------------------------------------------
# joinable: the parent puts n items, k children get + task_done, the parent joins


def worker(queue, ready):
    ready.put(True)
    while True:
        item = queue.get()
        queue.task_done()
        if item is None:
            break


def bench_joinable(n, consumers):
    queue = multiprocessing.JoinableQueue()
    ready = multiprocessing.Queue()
    children = [multiprocessing.Process(target=worker, args=(queue, ready)) for _ in range(consumers)]
    for child in children:
        child.start()
    for _ in children:
        ready.get()
    t0 = now_ms()
    for i in range(n):
        queue.put(i)
    for _ in children:
        queue.put(None)
    queue.join()
    t1 = now_ms()
    for child in children:
        child.join()
    return {"n": n, "consumers": consumers, "ms": t1 - t0, "rate": n / ((t1 - t0) / 1000)}


# ---------------------------------------------------------------------------
# event: the parent sets A, the child wakes and sets B, the parent wakes; two pairs of
# events in turn, so that the parent can clear a pair while the child waits on the other


def ponger(events, rounds, wakes):
    a, b, c, d = events
    times = []
    for i in range(rounds):
        (wait, reply) = (a, b) if i % 2 == 0 else (c, d)
        wait.wait()
        times.append(now_ms())
        reply.set()
    wakes.put(times)


def bench_event(rounds):
    events = [multiprocessing.Event() for _ in range(4)]
    wakes = multiprocessing.Queue()
    child = multiprocessing.Process(target=ponger, args=(events, rounds, wakes))
    child.start()
    a, b, c, d = events
    sets = []
    trips = []
    for i in range(rounds):
        (signal, answer) = (a, b) if i % 2 == 0 else (c, d)
        t = now_ms()
        sets.append(t)
        signal.set()
        answer.wait()
        trips.append(now_ms() - t)
        signal.clear()
        answer.clear()
    woke = wakes.get()
    child.join()
    return {"rounds": rounds, "roundTrip": trips, "setToWake": [w - s for w, s in zip(woke, sets)]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["put", "get", "joinable", "event"])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--size", choices=["small", "1kb"], default="small")
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    multiprocessing.set_start_method("spawn")
    if args.mode == "put":
        result = bench_put(args.n, args.size)
    elif args.mode == "get":
        result = bench_get(args.n, args.consumers)
    elif args.mode == "joinable":
        result = bench_joinable(args.n, args.consumers)
    else:
        result = bench_event(args.rounds)
    result["python"] = sys.version.split()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
