/**
 * What the queue benchmark measures: the variants of each group, as samples the
 * interleaved sampler can run, and the memory run.
 *
 * - `put`: a child puts n items into its parent's unbounded `ProcessQueue`, the parent
 *   `get`s them all; items/s from the first get to the last. Baselines: a raw
 *   `child_process.fork` child doing `process.send(item)` n times (the parent counts
 *   'message' events), and Python's `multiprocessing.Queue`.
 * - `get`: the parent puts n items, 1 or 4 consumer children take them until the end;
 *   items/s from the first put to the last consumer's end, with prefetch 1 and 256.
 * - `joinable`: the parent puts n items into a `JoinableQueue`, 4 children `get` +
 *   `taskDone`, the parent `join`s: items/s from the first put to `join` returning.
 * - `event`: ping-pong over `ProcessEvent`s: the parent sets A, the child (waiting on A)
 *   wakes and sets B, the parent (waiting on B) wakes. Round trip, and set → wake as the
 *   child's clock has it.
 * - `memory`: a child puts 1M small items, the parent takes them, sampling RSS as it goes.
 *
 * Every sample is a fresh process (or group of processes); start-up is never timed. The
 * Python side is bench/python/mp_queues.py, run with `python3` (spawn start method).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { JoinableQueue, Process, ProcessEvent, ProcessQueue, type Target } from "../src/index.ts"
import {
  consume1,
  consume256,
  consumeDefault,
  consumeSlow1,
  consumeSlow256,
  consumeSlowDefault,
  Kb,
  nowMs,
  oneKb,
  pong,
  produceKb,
  produceSmall,
  work1,
  work256,
  workDefault
} from "./fixtures/queue-targets.ts"
import type { Variant } from "./sampler.ts"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const pythonScript = fileURLToPath(new URL("./python/mp_queues.py", import.meta.url))

export type Size = "small" | "1kb"

const triangle = (n: number) => (n * (n - 1)) / 2

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`queue benchmark: ${what}`)
}

// ---------------------------------------------------------------------------
// Python

/** The version of `python3`, or undefined if there is none. */
export const pythonVersion = (): string | undefined => {
  try {
    return ChildProcess.execFileSync("python3", ["--version"], { encoding: "utf8" }).trim().replace(/^Python /, "")
  } catch {
    return undefined
  }
}

const python = (args: ReadonlyArray<string>): Promise<Record<string, any>> =>
  new Promise((resolve, reject) => {
    ChildProcess.execFile(
      "python3",
      [pythonScript, ...args],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`python3 ${args.join(" ")}: ${error.message}\n${stderr}`))
        const line = stdout.trim().split("\n").pop() ?? ""
        try {
          resolve(JSON.parse(line))
        } catch {
          reject(new Error(`python3 ${args.join(" ")} printed no JSON: ${stdout}\n${stderr}`))
        }
      }
    )
  })

// ---------------------------------------------------------------------------
// 1. child → parent puts

export interface Rate {
  readonly rate: number
  readonly ms: number
}

const rateOf = (items: number, ms: number): Rate => ({ rate: items / (ms / 1000), ms })

interface PutRate extends Rate {
  /** The producer's put loop: items/s at which its puts returned (write-behind). */
  readonly putsRate: number
  /** How long the producer's final `ProcessQueue.flush` waited, ms. */
  readonly flushMs: number
}

const libraryPut = <A>(
  target: Target.Target<
    { readonly queue: ProcessQueue.ProcessQueue<A>; readonly n: number },
    { readonly putsMs: number; readonly flushMs: number },
    never
  >,
  item: Schema.Codec<A, any, never, never>,
  id: (item: A) => number,
  n: number
): Promise<PutRate> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item })
    const p = yield* Process.spawn(target, { args: { queue, n } })
    let sum = id(yield* ProcessQueue.get(queue))
    const t0 = nowMs()
    for (let i = 1; i < n; i++) sum += id(yield* ProcessQueue.get(queue))
    const t1 = nowMs()
    const produced = yield* Process.result(p)
    check(sum === triangle(n), `lost or changed items: sum ${sum}, expected ${triangle(n)}`)
    return { ...rateOf(n - 1, t1 - t0), putsRate: n / (produced.putsMs / 1000), flushMs: produced.flushMs }
  })))

const rawPut = (size: Size, n: number): Promise<Rate> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.fork(fixture("queue-raw-producer.ts"), [String(n), size])
    let count = 0
    let sum = 0
    let t0 = 0
    let t1 = 0
    child.on("message", (message: any) => {
      if (count === 0) t0 = nowMs()
      sum += size === "small" ? message : message.id
      if (size === "1kb" && message.payload.length !== oneKb.length) reject(new Error("raw: a changed item"))
      if (++count === n) t1 = nowMs()
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      if (code !== 0 || count !== n || sum !== triangle(n)) {
        reject(new Error(`raw producer: exit ${code}, ${count} of ${n} items, sum ${sum}`))
      } else resolve(rateOf(n - 1, t1 - t0))
    })
  })

const pythonPut = async (size: Size, n: number): Promise<Rate> => {
  const r = await python(["put", "--n", String(n), "--size", size])
  return { rate: r.rate, ms: r.ms }
}

export const putVariants = (n: { readonly small: number; readonly kb: number }, withPython: boolean): Array<Variant> => [
  { name: "library, small", run: () => libraryPut(produceSmall, Schema.Number, (x) => x, n.small).then(putMetrics) },
  { name: "raw IPC, small", run: () => rawPut("small", n.small).then(metrics) },
  ...(withPython ? [{ name: "Python, small", run: () => pythonPut("small", n.small).then(metrics) }] : []),
  { name: "library, 1 KB", run: () => libraryPut(produceKb, Kb, (x) => x.id, n.kb).then(putMetrics) },
  { name: "raw IPC, 1 KB", run: () => rawPut("1kb", n.kb).then(metrics) },
  ...(withPython ? [{ name: "Python, 1 KB", run: () => pythonPut("1kb", n.kb).then(metrics) }] : [])
]

const metrics = (r: Rate): Record<string, number> => ({ rate: r.rate, ms: r.ms })
const putMetrics = (r: PutRate): Record<string, number> => ({ ...metrics(r), putsRate: r.putsRate, flushMs: r.flushMs })

// ---------------------------------------------------------------------------
// 2. parent → child gets

interface GetRate extends Rate {
  /** Items taken by the busiest consumer ÷ by the idlest one (1 = perfectly even). */
  readonly spread: number
}

/** `"default"`: the proxy's default, adaptive batches. */
type Prefetch = 1 | 256 | "default"

const libraryGet = (prefetch: Prefetch, consumers: number, n: number): Promise<GetRate> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.Number })
    const target = prefetch === 1 ? consume1 : prefetch === 256 ? consume256 : consumeDefault
    const ps = yield* Effect.forEach(Array.from({ length: consumers }), () => Process.spawn(target, { args: queue }))
    yield* Effect.forEach(ps, Process.ready, { discard: true })
    const t0 = nowMs()
    for (let i = 0; i < n; i++) yield* ProcessQueue.put(queue, i)
    yield* ProcessQueue.end(queue)
    const results = yield* Effect.forEach(ps, Process.result)
    const count = results.reduce((a, r) => a + r.count, 0)
    const sum = results.reduce((a, r) => a + r.sum, 0)
    check(count === n && sum === triangle(n), `lost or duplicated items: ${count} of ${n}, sum ${sum}`)
    const counts = results.map((r) => r.count)
    return {
      ...rateOf(n, Math.max(...results.map((r) => r.doneAt)) - t0),
      spread: Math.max(...counts) / Math.max(1, Math.min(...counts))
    }
  })))

const pythonGet = async (consumers: number, n: number): Promise<GetRate> => {
  const r = await python(["get", "--n", String(n), "--consumers", String(consumers)])
  const counts: Array<number> = r.perConsumer
  return { rate: r.rate, ms: r.ms, spread: Math.max(...counts) / Math.max(1, Math.min(...counts)) }
}

export const getVariants = (
  n: { readonly prefetch1: number; readonly prefetch256: number; readonly python: number },
  withPython: boolean
): Array<Variant> => {
  const variant = (name: string, run: () => Promise<GetRate>): Variant => ({
    name,
    run: () => run().then((r) => ({ rate: r.rate, ms: r.ms, spread: r.spread }))
  })
  return [
    variant("library, 1 consumer, prefetch 1", () => libraryGet(1, 1, n.prefetch1)),
    variant("library, 1 consumer, default (adaptive)", () => libraryGet("default", 1, n.prefetch256)),
    variant("library, 1 consumer, prefetch 256", () => libraryGet(256, 1, n.prefetch256)),
    ...(withPython ? [variant("Python, 1 consumer", () => pythonGet(1, n.python))] : []),
    variant("library, 4 consumers, prefetch 1", () => libraryGet(1, 4, n.prefetch1)),
    variant("library, 4 consumers, default (adaptive)", () => libraryGet("default", 4, n.prefetch256)),
    variant("library, 4 consumers, prefetch 256", () => libraryGet(256, 4, n.prefetch256)),
    ...(withPython ? [variant("Python, 4 consumers", () => pythonGet(4, n.python))] : [])
  ]
}

// ---------------------------------------------------------------------------
// 2b. load balancing: slow tasks, where prefetch costs fairness

/**
 * 4 consumers ready, then `tasks` tasks of `ms` each: the time until the last consumer
 * is done (ideal: tasks × ms ÷ 4), and the items of the busiest consumer.
 */
const libraryBalance = (prefetch: Prefetch, consumers: number, tasks: number, ms: number) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.Number })
    const target = prefetch === 1 ? consumeSlow1 : prefetch === 256 ? consumeSlow256 : consumeSlowDefault
    const ps = yield* Effect.forEach(Array.from({ length: consumers }), () => Process.spawn(target, { args: queue }))
    yield* Effect.forEach(ps, Process.ready, { discard: true })
    const t0 = nowMs()
    for (let i = 0; i < tasks; i++) yield* ProcessQueue.put(queue, ms)
    yield* ProcessQueue.end(queue)
    const results = yield* Effect.forEach(ps, Process.result)
    const counts = results.map((r) => r.count)
    check(counts.reduce((a, b) => a + b, 0) === tasks, `lost or duplicated tasks: ${counts.join(" + ")}`)
    return { makespan: Math.max(...results.map((r) => r.doneAt)) - t0, busiest: Math.max(...counts) }
  })))

export const balanceVariants = (tasks: number, ms: number): Array<Variant> => [
  { name: "library, prefetch 1", run: () => libraryBalance(1, 4, tasks, ms) },
  { name: "library, default (adaptive)", run: () => libraryBalance("default", 4, tasks, ms) },
  { name: "library, prefetch 256", run: () => libraryBalance(256, 4, tasks, ms) }
]

// ---------------------------------------------------------------------------
// 3. JoinableQueue: put → 4 × (get, taskDone) → join

const libraryJoinable = (prefetch: Prefetch, consumers: number, n: number): Promise<Rate> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* JoinableQueue.make({ item: Schema.Number })
    const target = prefetch === 1 ? work1 : prefetch === 256 ? work256 : workDefault
    const ps = yield* Effect.forEach(Array.from({ length: consumers }), () => Process.spawn(target, { args: queue }))
    yield* Effect.forEach(ps, Process.ready, { discard: true })
    const t0 = nowMs()
    for (let i = 0; i < n; i++) yield* ProcessQueue.put(queue, i)
    yield* ProcessQueue.end(queue)
    yield* JoinableQueue.join(queue)
    const t1 = nowMs()
    const counts = yield* Effect.forEach(ps, Process.result)
    const count = counts.reduce((a, b) => a + b, 0)
    check(count === n, `lost or duplicated tasks: ${count} of ${n}`)
    return rateOf(n, t1 - t0)
  })))

const pythonJoinable = async (consumers: number, n: number): Promise<Rate> => {
  const r = await python(["joinable", "--n", String(n), "--consumers", String(consumers)])
  return { rate: r.rate, ms: r.ms }
}

export const joinableVariants = (
  n: { readonly prefetch1: number; readonly prefetch256: number; readonly python: number },
  withPython: boolean
): Array<Variant> => [
  { name: "library, prefetch 1", run: () => libraryJoinable(1, 4, n.prefetch1).then(metrics) },
  { name: "library, default (adaptive)", run: () => libraryJoinable("default", 4, n.prefetch256).then(metrics) },
  { name: "library, prefetch 256", run: () => libraryJoinable(256, 4, n.prefetch256).then(metrics) },
  ...(withPython ? [{ name: "Python JoinableQueue", run: () => pythonJoinable(4, n.python).then(metrics) }] : [])
]

// ---------------------------------------------------------------------------
// 4. events

export interface Latencies {
  /** Parent: set A → B seen set, ms, one per round. */
  readonly roundTrip: Array<number>
  /** Parent set A → the child's wait on A returned (the child's clock), ms. */
  readonly setToWake: Array<number>
}

const libraryEvent = (rounds: number): Promise<Latencies> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const events = [
      yield* ProcessEvent.make,
      yield* ProcessEvent.make,
      yield* ProcessEvent.make,
      yield* ProcessEvent.make
    ] as const
    const [a, b, c, d] = events
    const p = yield* Process.spawn(pong, { args: { events, rounds } })
    yield* Process.ready(p)
    const sets: Array<number> = []
    const roundTrip: Array<number> = []
    for (let i = 0; i < rounds; i++) {
      const [signal, answer] = i % 2 === 0 ? [a, b] : [c, d]
      const t = nowMs()
      sets.push(t)
      yield* ProcessEvent.set(signal)
      yield* ProcessEvent.wait(answer)
      roundTrip.push(nowMs() - t)
      yield* ProcessEvent.clear(signal)
      yield* ProcessEvent.clear(answer)
    }
    const wakes = yield* Process.result(p)
    return { roundTrip, setToWake: wakes.map((w, i) => w - sets[i]!) }
  }).pipe(Effect.orDie)))

const pythonEvent = async (rounds: number): Promise<Latencies> => {
  const r = await python(["event", "--rounds", String(rounds)])
  return { roundTrip: r.roundTrip, setToWake: r.setToWake }
}

/**
 * The event variants: each sample's rounds (but the first `skip`, which include the
 * child's first steps) go to `pooled`, for percentiles over all rounds of all samples.
 */
export const eventVariants = (
  rounds: number,
  skip: number,
  withPython: boolean,
  pooled: Map<string, Latencies>
): Array<Variant> => {
  const variant = (name: string, run: (rounds: number) => Promise<Latencies>): Variant => {
    pooled.set(name, { roundTrip: [], setToWake: [] })
    return {
      name,
      run: async () => {
        const r = await run(rounds + skip)
        const into = pooled.get(name)!
        into.roundTrip.push(...r.roundTrip.slice(skip))
        into.setToWake.push(...r.setToWake.slice(skip))
        return {}
      }
    }
  }
  return [
    variant("library ProcessEvent", libraryEvent),
    ...(withPython ? [variant("Python Event", pythonEvent)] : [])
  ]
}

// ---------------------------------------------------------------------------
// 5. memory over many messages

export interface MemorySample {
  readonly items: number
  readonly seconds: number
  /** MB */
  readonly parentRss: number
  readonly parentHeap: number
  readonly childRss: number | null
  /** Items in the parent's queue, not yet taken. */
  readonly queued: number
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

/** VmRSS of another process, in MB (Linux), or null. */
const rssOf = (pid: number | undefined): number | null => {
  if (pid === undefined) return null
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? null : Math.round((Number(match[1]) / 1024) * 10) / 10
  } catch {
    return null
  }
}

export interface MemoryRun {
  readonly samples: Array<MemorySample>
  /** The parent's live heap after a full GC, before and after the run, MB. */
  readonly liveHeapBefore: number
  readonly liveHeapAfter: number
  /** The parent's V8 heap spaces at the end (size, MB): where RSS went. */
  readonly heapSpaces: Record<string, number>
}

/** The parent's heap after a full GC, MB (`gc` exposed at run time: only the memory run uses it). */
const liveHeap = (): number => {
  gc ??= exposeGc()
  gc()
  return mb(process.memoryUsage().heapUsed)
}

/** Made once: each new context costs the process memory of its own, which a memory run would count. */
let gc: (() => void) | undefined
const exposeGc = (): () => void => {
  V8.setFlagsFromString("--expose-gc")
  return Vm.runInNewContext("gc") as () => void
}

/**
 * A child puts `n` small items; the parent takes them, sampling memory every `every`
 * items. Run in this process: see {@link memoryRunFresh}.
 */
export const memoryRun = (n: number, every: number): Promise<MemoryRun> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.Number })
    const p = yield* Process.spawn(produceSmall, { args: { queue, n } })
    yield* Process.ready(p)
    const samples: Array<MemorySample> = []
    const liveHeapBefore = liveHeap()
    const t0 = nowMs()
    const sample = (items: number) =>
      Effect.map(ProcessQueue.size(queue), (queued) => {
        samples.push({
          items,
          seconds: Math.round(nowMs() - t0) / 1000,
          parentRss: mb(process.memoryUsage.rss()),
          parentHeap: mb(process.memoryUsage().heapUsed),
          childRss: rssOf(p.pid),
          queued
        })
      })
    yield* sample(0)
    let sum = 0
    for (let i = 0; i < n; i++) {
      sum += yield* ProcessQueue.get(queue)
      if ((i + 1) % every === 0) yield* sample(i + 1)
    }
    const code = yield* Process.join(p)
    check(code === 0 && sum === triangle(n), `memory run: exit ${code}, sum ${sum}, expected ${triangle(n)}`)
    const heapSpaces = Object.fromEntries(
      V8.getHeapSpaceStatistics().filter((space) => space.space_size > 0).map((space) => [
        space.space_name.replace(/_space$/, ""),
        mb(space.space_size)
      ])
    )
    return { samples, liveHeapBefore, liveHeapAfter: liveHeap(), heapSpaces }
  })))

/** {@link memoryRun} in a fresh parent process (bench/fixtures/queue-memory.ts). */
export const memoryRunFresh = (n: number, every: number): Promise<MemoryRun> =>
  new Promise((resolve, reject) => {
    ChildProcess.execFile(
      process.execPath,
      [fixture("queue-memory.ts"), String(n), String(every)],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`memory run: ${error.message}\n${stderr}`))
        resolve(JSON.parse(stdout.trim().split("\n").pop()!))
      }
    )
  })

// ---------------------------------------------------------------------------
// 6. memory given back after a transfer, parent → child

/** VmRSS and VmHWM (the peak) of this process, MB (Linux), or nulls. */
const ownRss = (): { readonly rss: number; readonly peak: number | null } => {
  try {
    const status = Fs.readFileSync("/proc/self/status", "utf8")
    const peak = /VmHWM:\s+(\d+) kB/.exec(status)
    return { rss: mb(process.memoryUsage.rss()), peak: peak === null ? null : Math.round(Number(peak[1]) / 1024) }
  } catch {
    return { rss: mb(process.memoryUsage.rss()), peak: null }
  }
}

export interface ReleaseRun {
  readonly n: number
  /** Parent RSS, MB: with the child started and ready, before any item (after a full GC). */
  readonly baselineRss: number
  /** Parent RSS at its peak during the transfer, MB (VmHWM). */
  readonly peakRss: number | null
  /** Parent RSS once every item reached the child and the child ended, after a full GC, MB. */
  readonly afterRss: number
  /** `afterRss / baselineRss`: 1.2 or less is the goal. */
  readonly ratio: number
  readonly liveHeapBefore: number
  readonly liveHeapAfter: number
  /** After: V8's heap as committed (MB), and memory outside it (Buffers and the like). */
  readonly heapTotalAfter: number
  readonly externalAfter: number
  readonly ms: number
}

/**
 * The parent puts `n` numbers into an unbounded queue, a child takes them all (default
 * batches); the parent's RSS before and after, in this process: see {@link releaseRunFresh}.
 */
export const releaseRun = (n: number): Promise<ReleaseRun> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.Number })
    const p = yield* Process.spawn(consumeDefault, { args: queue })
    yield* Process.ready(p)
    const liveHeapBefore = liveHeap()
    const baselineRss = ownRss().rss
    const t0 = nowMs()
    for (let i = 0; i < n; i++) yield* ProcessQueue.put(queue, i)
    yield* ProcessQueue.end(queue)
    const got = yield* Process.result(p)
    const ms = nowMs() - t0
    check(got.count === n && got.sum === triangle(n), `release run: ${got.count} of ${n} items, sum ${got.sum}`)
    const peakRss = ownRss().peak
    // What a program does after a burst: carries on. V8 gives pages back over a few GCs.
    for (let i = 0; i < 3; i++) {
      liveHeap()
      yield* Effect.sleep("200 millis")
    }
    const liveHeapAfter = liveHeap()
    const afterRss = ownRss().rss
    return {
      n,
      baselineRss,
      peakRss,
      afterRss,
      ratio: Math.round((afterRss / baselineRss) * 100) / 100,
      liveHeapBefore,
      liveHeapAfter,
      heapTotalAfter: mb(process.memoryUsage().heapTotal),
      externalAfter: mb(process.memoryUsage().external),
      ms: Math.round(ms)
    }
  })))

/** {@link releaseRun} in a fresh parent process: `node bench/queue.ts release <n>`. */
export const releaseRunFresh = (n: number): Promise<ReleaseRun> =>
  new Promise((resolve, reject) => {
    ChildProcess.execFile(
      process.execPath,
      [fileURLToPath(import.meta.url), "release", String(n)],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`release run: ${error.message}\n${stderr}`))
        resolve(JSON.parse(stdout.trim().split("\n").pop()!))
      }
    )
  })

/**
 * `node bench/queue.ts release [n]`: one release run in this process, as one JSON line.
 * `node bench/queue.ts release-check [n] [runs]`: `runs` fresh runs, one JSON line with
 * each and the worst ratio; exits 1 when that is over 1.2.
 */
if (import.meta.main) {
  const [mode = "release-check", nArg, runsArg] = process.argv.slice(2)
  const n = Number(nArg ?? 1_000_000)
  if (mode === "release") {
    console.log(JSON.stringify(await releaseRun(n)))
  } else if (mode === "release-check") {
    const runs: Array<ReleaseRun> = []
    for (let i = 0; i < Number(runsArg ?? 3); i++) runs.push(await releaseRunFresh(n))
    const worst = Math.max(...runs.map((r) => r.ratio))
    console.log(JSON.stringify({ bench: "queue-release", n, limit: 1.2, worstRatio: worst, ok: worst <= 1.2, runs }))
    process.exitCode = worst <= 1.2 ? 0 : 1
  } else {
    console.error(`unknown mode '${mode}': release | release-check`)
    process.exitCode = 2
  }
}
