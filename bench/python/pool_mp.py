"""
The Python baselines of the pool benchmark (bench/pool.ts): multiprocessing.Pool(2).

    python3 bench/python/pool_mp.py map --n 100000 [--chunksize 1]   # Pool.map, default or given chunksize
    python3 bench/python/pool_mp.py apply --n 100000                  # apply_async x n, all at once
    python3 bench/python/pool_mp.py inflight --n 20000 --window 64    # apply_async, 64 in flight
    python3 bench/python/pool_mp.py cpu --tasks 400 --ms 5            # map of busy loops, chunksize 1
    python3 bench/python/pool_mp.py spawn [--method spawn]            # Pool(2) created -> first task answered

Each run creates its pool (start method: the platform default, fork on Linux, unless
--method), warms it with a few tasks, then times one run. Prints one JSON line; times
in ms from time.perf_counter.
"""
import argparse
import json
import multiprocessing
import threading
import time


def square(x):
    return x * x


def spin(ms):
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def now_ms():
    return time.perf_counter() * 1000


def warm(pool):
    pool.map(square, range(100), chunksize=1)


def bench_map(pool, n, chunksize):
    items = list(range(n))
    t0 = now_ms()
    out = pool.map(square, items) if chunksize is None else pool.map(square, items, chunksize=chunksize)
    ms = now_ms() - t0
    assert out[-1] == (n - 1) ** 2
    return {"ms": ms, "rate": n / (ms / 1000)}


def bench_apply(pool, n):
    t0 = now_ms()
    results = [pool.apply_async(square, (i,)) for i in range(n)]
    last = [r.get() for r in results][-1]
    ms = now_ms() - t0
    assert last == (n - 1) ** 2
    return {"ms": ms, "rate": n / (ms / 1000)}


def bench_inflight(pool, n, window):
    slots = threading.Semaphore(window)
    done = threading.Event()
    count = [0]
    lock = threading.Lock()

    def on_result(_):
        slots.release()
        with lock:
            count[0] += 1
            if count[0] == n:
                done.set()

    t0 = now_ms()
    for i in range(n):
        slots.acquire()
        pool.apply_async(square, (i,), callback=on_result)
    done.wait()
    ms = now_ms() - t0
    return {"ms": ms, "rate": n / (ms / 1000)}


def bench_cpu(pool, tasks, ms_each):
    t0 = now_ms()
    pool.map(spin, [ms_each] * tasks, chunksize=1)
    ms = now_ms() - t0
    return {"ms": ms, "ideal": tasks * ms_each / 2, "efficiency": tasks * ms_each / 2 / ms}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["map", "apply", "inflight", "cpu", "spawn"])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--chunksize", type=int, default=None)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--ms", type=float, default=5)
    parser.add_argument("--method", default=None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    ctx = multiprocessing.get_context(args.method)
    if args.mode == "spawn":
        t0 = now_ms()
        with ctx.Pool(2) as pool:
            pool.apply(square, (3,))
            result = {"ms": now_ms() - t0, "method": ctx.get_start_method()}
        print(json.dumps(result))
        return
    with ctx.Pool(2) as pool:
        warm(pool)
        runs = []
        for _ in range(args.rounds):
            if args.mode == "map":
                runs.append(bench_map(pool, args.n, args.chunksize))
            elif args.mode == "apply":
                runs.append(bench_apply(pool, args.n))
            elif args.mode == "inflight":
                runs.append(bench_inflight(pool, args.n, args.window))
            else:
                runs.append(bench_cpu(pool, args.tasks, args.ms))
    print(json.dumps({"method": ctx.get_start_method(), "runs": runs}))


if __name__ == "__main__":
    main()
