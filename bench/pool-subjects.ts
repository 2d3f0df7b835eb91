/**
 * The pools the pool benchmark (bench/pool.ts) compares, behind one small interface, and
 * the Python baselines. Every pool has two workers and runs the functions of
 * bench/fixtures/pool-work.ts.
 *
 * - `ours`: `ProcessPool` (processes, NDJSON over a pipe), with `inFlightPerWorker` at its
 *   default (adaptive: about 1 ms of work queued per worker, 2 to 64 tasks) and fixed at 64.
 * - `raw fork`: `RawPool` below, the ~30 lines anyone would write: `child_process.fork`,
 *   ids and a Map of resolvers, Node's JSON IPC, round-robin, no limit on tasks in flight.
 * - poolifier's `FixedClusterPool` (processes), tinypool with `runtime: "child_process"`,
 *   workerpool with `workerType: "process"`, piscina (threads: not the same game, shown as
 *   the in-process ceiling), Effect's RPC worker pool (`RpcClient.layerProtocolWorker` over
 *   `NodeWorker.layer(fork)`, processes).
 * - Python 3's `multiprocessing.Pool(2)`: bench/python/pool_mp.py, one python3 process per
 *   sample (start-up not timed).
 */
import * as ChildProcess from "node:child_process"
import { fileURLToPath } from "node:url"
import { NodeWorker } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { RpcClient } from "effect/rpc"
import * as Scope from "effect/Scope"
import { Piscina } from "piscina"
import { FixedClusterPool } from "poolifier"
import Tinypool from "tinypool"
import workerpool from "workerpool"
import { ProcessPool } from "../src/index.ts"
import { PoolRpcs } from "./fixtures/pool-rpc.ts"
import * as Targets from "./fixtures/pool-targets.ts"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/**
 * 0 … n - 1, built once per n and shared (nobody mutates it): the inputs are made before the
 * clock starts, as Python's `pool_mp.py map` does with its list.
 */
const range = (n: number): ReadonlyArray<number> => {
  let items = ranges.get(n)
  if (items === undefined) ranges.set(n, items = Array.from({ length: n }, (_, i) => i))
  return items
}
const ranges = new Map<number, ReadonlyArray<number>>()

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`pool benchmark: ${what}`)
}

/** A pool under test, started once and reused by every round. */
export interface Subject {
  readonly name: string
  /** "process" or "thread". */
  readonly workers: string
  /** Starts the pool and warms it (JIT, both workers) with a few hundred tasks. */
  readonly start: () => Promise<void>
  /** n trivial tasks, submitted one by one, all at once (all in flight). */
  readonly all: (n: number) => Promise<void>
  /** n trivial tasks, `window` in flight at any time. */
  readonly window: (n: number, window: number) => Promise<void>
  /** `all`, with the same work as a plain function (ours only: `Target.sync`). */
  readonly allSync?: ((n: number) => Promise<void>) | undefined
  /** The library's map of n trivial items with its default chunking, if it has one. */
  readonly map?: ((n: number) => Promise<void>) | undefined
  /** The map with its default chunking, of the same work as a plain function (ours only: `Target.sync`). */
  readonly mapSync?: ((n: number) => Promise<void>) | undefined
  /** The map with its default chunking, of the same work in an `Effect.succeed` (ours only). */
  readonly mapSucceed?: ((n: number) => Promise<void>) | undefined
  /** The map with a given chunk size (ours only: Python's `map(..., chunksize=k)`). */
  readonly mapChunked?: ((n: number, chunkSize: number) => Promise<void>) | undefined
  /** `tasks` busy loops of `ms` each, all at once. */
  readonly cpu: (tasks: number, ms: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** A fresh pool of two: ms from the call that creates it until its first task is answered, then closed. */
export interface Spawner {
  readonly name: string
  readonly spawn: () => Promise<{ readonly ready: number; readonly close: number }>
}

// ---------------------------------------------------------------------------
// promise-based pools share their drivers

type RunFn = (fn: "square" | "spin", arg: number) => Promise<number>

const promiseDrivers = (run: () => RunFn) => ({
  all: async (n: number) => {
    const go = run()
    const results = await Promise.all(range(n).map((i) => go("square", i)))
    check(results[n - 1] === (n - 1) ** 2, "wrong result")
  },
  window: async (n: number, window: number) => {
    const go = run()
    let next = 0
    let sum = 0
    const lane = async () => {
      while (next < n) {
        const result = await go("square", next++)
        sum += result
      }
    }
    await Promise.all(range(window).map(lane))
    check(sum === range(n).reduce((a, i) => a + i * i, 0), "wrong sum")
  },
  cpu: async (tasks: number, ms: number) => {
    const go = run()
    await Promise.all(range(tasks).map(() => go("spin", ms)))
  }
})

const warm = async (subject: Pick<Subject, "all" | "cpu">) => {
  await subject.all(2000)
  await subject.cpu(4, 1)
}

// ---------------------------------------------------------------------------
// the hand-rolled baseline

/** A pool anyone would write in ~30 lines: fork, ids, a Map of resolvers, JSON IPC, round-robin. */
export class RawPool {
  readonly workers: Array<ChildProcess.ChildProcess> = []
  readonly resolvers = new Map<number, (result: any) => void>()
  nextId = 0
  nextWorker = 0
  static async make(size: number): Promise<RawPool> {
    const pool = new RawPool()
    await Promise.all(range(size).map(() =>
      new Promise<void>((resolve, reject) => {
        const child = ChildProcess.fork(fixture("pool-raw-worker.ts"))
        child.once("error", reject)
        child.on("message", (m: any) => {
          if (m === "ready") return resolve()
          const resolver = pool.resolvers.get(m.id)!
          pool.resolvers.delete(m.id)
          resolver(m.result)
        })
        pool.workers.push(child)
      })
    ))
    return pool
  }
  run<A>(fn: string, arg: unknown): Promise<A> {
    return new Promise((resolve) => {
      const id = this.nextId++
      this.resolvers.set(id, resolve)
      this.workers[this.nextWorker++ % this.workers.length]!.send({ id, fn, arg })
    })
  }
  close(): Promise<void> {
    return Promise.all(this.workers.map((child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill()
      })
    )).then(() => undefined)
  }
}

const chunked = <X>(items: ReadonlyArray<X>, size: number): Array<Array<X>> => {
  const chunks: Array<Array<X>> = []
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
  return chunks
}

const raw = (): Subject => {
  let pool: RawPool
  const drivers = promiseDrivers(() => (fn, arg) => pool.run(fn, arg))
  const subject: Subject = {
    name: "raw fork",
    workers: "process",
    start: async () => {
      pool = await RawPool.make(2)
      await warm(subject)
    },
    ...drivers,
    // By hand, chunked as Python's default (ceil(n / (4 × size))): what the raw pool's user would write.
    map: async (n) => {
      const chunks = chunked(range(n), Math.ceil(n / 8))
      const results = (await Promise.all(chunks.map((chunk) => pool.run<Array<number>>("squares", chunk)))).flat()
      check(results.length === n && results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    close: () => pool.close()
  }
  return subject
}

// ---------------------------------------------------------------------------
// ours

const ours = (name: string, options: ProcessPool.Options): Subject => {
  let scope: Scope.Closeable
  let pool: ProcessPool.ProcessPool
  const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect)
  const subject: Subject = {
    name,
    workers: "process",
    start: async () => {
      scope = Scope.makeUnsafe()
      pool = await run(Scope.provide(ProcessPool.make({ size: 2, ...options }), scope))
      await warm(subject)
    },
    all: async (n) => {
      const results = await run(Effect.forEach(range(n), (i) => ProcessPool.run(pool, Targets.square, i), { concurrency: "unbounded" }))
      check(results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    allSync: async (n) => {
      const results = await run(Effect.forEach(range(n), (i) => ProcessPool.run(pool, Targets.squareSync, i), { concurrency: "unbounded" }))
      check(results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    window: async (n, window) => {
      const results = await run(Effect.forEach(range(n), (i) => ProcessPool.run(pool, Targets.square, i), { concurrency: window }))
      check(results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    map: async (n) => {
      const results = await run(ProcessPool.map(pool, Targets.square, range(n)))
      check(results.length === n && results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    mapSync: async (n) => {
      const results = await run(ProcessPool.map(pool, Targets.squareSync, range(n)))
      check(results.length === n && results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    mapSucceed: async (n) => {
      const results = await run(ProcessPool.map(pool, Targets.squareSucceed, range(n)))
      check(results.length === n && results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    mapChunked: async (n, chunkSize) => {
      const results = await run(ProcessPool.map(pool, Targets.square, range(n), { chunkSize }))
      check(results.length === n && results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    cpu: async (tasks, ms) => {
      await run(Effect.forEach(range(tasks), () => ProcessPool.run(pool, Targets.spin, ms), { concurrency: "unbounded" }))
    },
    close: () => run(Scope.close(scope, Exit.void))
  }
  return subject
}

// ---------------------------------------------------------------------------
// peers

const poolifier = (): Subject => {
  let pool: FixedClusterPool<number, number>
  const drivers = promiseDrivers(() => (fn, arg) => pool.execute(arg, fn))
  const subject: Subject = {
    name: "poolifier (cluster)",
    workers: "process",
    start: async () => {
      pool = new FixedClusterPool<number, number>(2, fixture("pool-poolifier-worker.ts"), {
        errorHandler: (e) => console.error(e)
      })
      await warm(subject)
    },
    ...drivers,
    // No chunking: one task per item.
    map: async (n) => {
      const results = await pool.mapExecute(range(n), "square")
      check(results.length === n && results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    close: () => pool.destroy()
  }
  return subject
}

const piscina = (): Subject => {
  let pool: Piscina
  const drivers = promiseDrivers(() => (fn, arg) => pool.run(arg, { name: fn }))
  const subject: Subject = {
    name: "piscina (threads)",
    workers: "thread",
    start: async () => {
      pool = new Piscina({ filename: fixture("pool-fns-worker.ts"), minThreads: 2, maxThreads: 2 })
      await warm(subject)
    },
    ...drivers,
    close: () => pool.destroy()
  }
  return subject
}

const tinypool = (): Subject => {
  let pool: Tinypool
  const drivers = promiseDrivers(() => (fn, arg) => pool.run(arg, { name: fn }))
  const subject: Subject = {
    name: "tinypool (child_process)",
    workers: "process",
    start: async () => {
      pool = new Tinypool({ filename: fixture("pool-fns-worker.ts"), runtime: "child_process", minThreads: 2, maxThreads: 2 })
      await warm(subject)
    },
    ...drivers,
    close: () => pool.destroy()
  }
  return subject
}

const workerpoolSubject = (): Subject => {
  let pool: workerpool.Pool
  const drivers = promiseDrivers(() => (fn, arg) => pool.exec(fn, [arg]) as unknown as Promise<number>)
  const subject: Subject = {
    name: "workerpool (process)",
    workers: "process",
    start: async () => {
      pool = workerpool.pool(fixture("pool-workerpool-worker.ts"), { workerType: "process", minWorkers: 2, maxWorkers: 2 })
      await warm(subject)
    },
    ...drivers,
    close: () => pool.terminate().then(() => undefined)
  }
  return subject
}

/** Effect's RPC worker pool; `concurrency` requests in flight per worker (Effect's default: 1). */
const effectRpcLayer = (concurrency: number) =>
  RpcClient.layerProtocolWorker({ size: 2, concurrency }).pipe(
    Layer.provide(NodeWorker.layer(() => ChildProcess.fork(fixture("pool-rpc-worker.ts"))))
  )

const effectRpc = (concurrency: number): Subject => {
  let scope: Scope.Closeable
  let client: Effect.Success<ReturnType<typeof RpcClient.make<any>>> & {
    readonly Square: (x: number) => Effect.Effect<number, unknown>
    readonly Spin: (ms: number) => Effect.Effect<number, unknown>
  }
  const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect)
  const subject: Subject = {
    name: `effect rpc worker (concurrency ${concurrency})`,
    workers: "process",
    start: async () => {
      scope = Scope.makeUnsafe()
      // The protocol is built in the subject's scope: `Effect.provide(layer)` would close it
      // (and stop the workers) as soon as the client was made.
      client = await run(Scope.provide(
        Effect.flatMap(Layer.build(effectRpcLayer(concurrency)), (context) =>
          Effect.provideContext(RpcClient.make(PoolRpcs), context)),
        scope
      )) as typeof client
      await warm(subject)
    },
    all: async (n) => {
      const results = await run(Effect.forEach(range(n), (i) => client.Square(i), { concurrency: "unbounded" }))
      check(results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    window: async (n, window) => {
      const results = await run(Effect.forEach(range(n), (i) => client.Square(i), { concurrency: window }))
      check(results[n - 1] === (n - 1) ** 2, "wrong result")
    },
    cpu: async (tasks, ms) => {
      await run(Effect.forEach(range(tasks), () => client.Spin(ms), { concurrency: "unbounded" }))
    },
    close: () => run(Scope.close(scope, Exit.void))
  }
  return subject
}

/** Every subject, ours first. */
export const subjects = (): Array<Subject> => [
  ours("ours (default)", {}),
  ours("ours (inFlight 64)", { inFlightPerWorker: 64 }),
  raw(),
  poolifier(),
  tinypool(),
  workerpoolSubject(),
  effectRpc(64),
  piscina()
]

// ---------------------------------------------------------------------------
// spawn → first task answered

const timed = async (make: () => Promise<{ first: () => Promise<unknown>; close: () => Promise<unknown> }>) => {
  const t0 = performance.now()
  const pool = await make()
  await pool.first()
  const ready = performance.now() - t0
  const t1 = performance.now()
  await pool.close()
  return { ready, close: performance.now() - t1 }
}

export const spawners: ReadonlyArray<Spawner> = [
  {
    name: "ours",
    spawn: async () => {
      const t0 = performance.now()
      let ready = 0
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const pool = yield* ProcessPool.make({ size: 2 })
        yield* ProcessPool.run(pool, Targets.square, 3)
        ready = performance.now() - t0
      })))
      return { ready, close: performance.now() - t0 - ready }
    }
  },
  {
    name: "raw fork",
    spawn: () =>
      timed(async () => {
        const pool = await RawPool.make(2)
        return { first: () => pool.run("square", 3), close: () => pool.close() }
      })
  },
  {
    name: "poolifier (cluster)",
    spawn: () =>
      timed(async () => {
        const pool = new FixedClusterPool<number, number>(2, fixture("pool-poolifier-worker.ts"))
        return { first: () => pool.execute(3, "square"), close: () => pool.destroy() }
      })
  },
  {
    name: "tinypool (child_process)",
    spawn: () =>
      timed(async () => {
        const pool = new Tinypool({ filename: fixture("pool-fns-worker.ts"), runtime: "child_process", minThreads: 2, maxThreads: 2 })
        return { first: () => pool.run(3, { name: "square" }), close: () => pool.destroy() }
      })
  },
  {
    name: "workerpool (process)",
    spawn: () =>
      timed(async () => {
        const pool = workerpool.pool(fixture("pool-workerpool-worker.ts"), { workerType: "process", minWorkers: 2, maxWorkers: 2 })
        return { first: async () => await pool.exec("square", [3]), close: async () => await pool.terminate() }
      })
  },
  {
    name: "effect rpc worker",
    spawn: async () => {
      const t0 = performance.now()
      let ready = 0
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const client = yield* RpcClient.make(PoolRpcs)
        yield* client.Square(3)
        ready = performance.now() - t0
      }).pipe(Effect.provide(effectRpcLayer(1)))))
      return { ready, close: performance.now() - t0 - ready }
    }
  },
  {
    name: "piscina (threads)",
    spawn: () =>
      timed(async () => {
        const pool = new Piscina({ filename: fixture("pool-fns-worker.ts"), minThreads: 2, maxThreads: 2 })
        return { first: () => pool.run(3, { name: "square" }), close: () => pool.destroy() }
      })
  }
]

// ---------------------------------------------------------------------------
// Python

const pythonScript = fileURLToPath(new URL("./python/pool_mp.py", import.meta.url))

/** The version of `python3`, or undefined if there is none. */
export const pythonVersion = (): string | undefined => {
  try {
    return ChildProcess.execFileSync("python3", ["--version"], { encoding: "utf8" }).trim().replace(/^Python /, "")
  } catch {
    return undefined
  }
}

/** Runs bench/python/pool_mp.py with `args` and gives its JSON line. */
export const python = (args: ReadonlyArray<string>): Promise<Record<string, any>> =>
  new Promise((resolve, reject) => {
    ChildProcess.execFile("python3", [pythonScript, ...args], { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`python3 ${args.join(" ")}: ${error.message}\n${stderr}`))
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? ""))
      } catch {
        reject(new Error(`python3 ${args.join(" ")} printed no JSON: ${stdout}\n${stderr}`))
      }
    })
  })
