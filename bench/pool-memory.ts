/**
 * What a task in flight costs the parent in memory: ours (`ProcessPool.run`, each call in
 * its own fiber of an unbounded `Effect.forEach`, as a user holds many at once) against the
 * hand-rolled `child_process.fork` pool of bench/pool-subjects.ts (`RawPool`: a Promise
 * and a resolver per task), in the same run. Both pools have two workers, held by a long
 * task, so that every task submitted stays in flight: ours keeps them queued in the
 * parent, the raw pool writes them to its workers' pipes (the part the kernel does not take
 * stays in the parent, as Node's stream buffer).
 *
 * Per task: the RSS, and the heap (after a full GC), grown with `tasks` in flight, from
 * just before they were submitted. Each sample runs in a fresh process (a heap grown by an
 * earlier sample would take the next one's objects without growing the RSS), alternating
 * ours and raw; the median of `rounds` samples each. Prints one `BENCH {json}` line per
 * metric, the ratios ours ÷ raw, and what ours holds beyond the floor that its callers'
 * fibers set (`floor` below).
 *
 *   node bench/pool-memory.ts [--tasks=50000] [--rounds=5]
 */
import * as ChildProcess from "node:child_process"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import { ProcessPool } from "../src/index.ts"
import * as Targets from "./fixtures/pool-targets.ts"
import { RawPool } from "./pool-subjects.ts"

const option = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
const tasks = option("tasks", 50_000)
const rounds = option("rounds", 5)

V8.setFlagsFromString("--expose-gc")
const gc = Vm.runInNewContext("gc") as () => void

const emit = (value: object) => console.log(`BENCH ${JSON.stringify({ group: "pool-memory", tasks, ...value })}`)

/** Lets pending I/O and timers run (writes to the pipes, the pool's dispatch). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 200))

interface Sample {
  readonly heap: number
  readonly rss: number
}

/** Heap and RSS now, after a full GC. */
const usage = async (): Promise<Sample> => {
  await settle()
  gc()
  gc()
  const { heapUsed, rss } = process.memoryUsage()
  return { heap: heapUsed, rss }
}

const perTask = (before: Sample, after: Sample): Sample => ({
  heap: (after.heap - before.heap) / tasks,
  rss: (after.rss - before.rss) / tasks
})

const ours = async (): Promise<Sample> => {
  const scope = Scope.makeUnsafe()
  const run = <A>(effect: Effect.Effect<A, unknown, Scope.Scope>) => Effect.runPromise(Scope.provide(effect, scope))
  const pool = await run(ProcessPool.make({ size: 2 }))
  await run(Effect.forEach(Array.from({ length: 2000 }, (_, i) => i), (i) => ProcessPool.run(pool, Targets.square, i), {
    concurrency: "unbounded"
  }))
  // Both workers held: every task after this stays in flight.
  const holds = [Effect.runFork(ProcessPool.run(pool, Targets.hold, 60_000)), Effect.runFork(ProcessPool.run(pool, Targets.hold, 60_000))]
  const before = await usage()
  const fiber = Effect.runFork(
    Effect.forEach(Array.from({ length: tasks }, (_, i) => i), (i) => ProcessPool.run(pool, Targets.square, i), {
      concurrency: "unbounded",
      discard: true
    })
  )
  const after = await usage()
  await Effect.runPromise(Fiber.interrupt(fiber))
  for (const hold of holds) await Effect.runPromise(Fiber.interrupt(hold))
  await Effect.runPromise(Scope.close(scope, Exit.interrupt()))
  return perTask(before, after)
}

const raw = async (): Promise<Sample> => {
  const pool = await RawPool.make(2)
  await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.run("square", i)))
  // Both workers held in a synchronous loop (round-robin: one each).
  void pool.run("spin", 60_000)
  void pool.run("spin", 60_000)
  const before = await usage()
  const results = Array.from({ length: tasks }, (_, i) => pool.run("square", i))
  const after = await usage()
  void results
  for (const child of pool.workers) child.kill("SIGKILL")
  await pool.close()
  return perTask(before, after)
}

/**
 * The floor of any pool whose callers are fibers that can be interrupted: the same
 * `Effect.forEach`, each fiber waiting in an `Effect.callback` with a canceller, and no
 * pool at all. Ours minus this is what the pool itself holds per task.
 */
const floor = async (): Promise<Sample> => {
  const resumes: Array<unknown> = []
  const before = await usage()
  const fiber = Effect.runFork(
    Effect.forEach(Array.from({ length: tasks }, (_, i) => i), () =>
      Effect.callback<number>((resume) => {
        resumes.push(resume)
        return Effect.void
      }), { concurrency: "unbounded", discard: true })
  )
  const after = await usage()
  await Effect.runPromise(Fiber.interrupt(fiber))
  return perTask(before, after)
}

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const sampleArg = process.argv.find((a) => a.startsWith("--sample="))?.slice("--sample=".length)
if (sampleArg !== undefined) {
  console.log(JSON.stringify(sampleArg === "ours" ? await ours() : sampleArg === "floor" ? await floor() : await raw()))
  process.exit(0)
}

/** One sample, in a fresh process. */
const sample = (subject: "ours" | "raw" | "floor"): Sample => {
  const child = ChildProcess.spawnSync(process.execPath, [...process.execArgv, import.meta.filename, `--sample=${subject}`, `--tasks=${tasks}`], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  })
  if (child.status !== 0) throw new Error(`pool-memory: the ${subject} sample failed (exit ${child.status})`)
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Sample
}

const samples = { ours: [] as Array<Sample>, raw: [] as Array<Sample>, floor: [] as Array<Sample> }
for (let round = 0; round < rounds; round++) {
  // Alternated, so that a drift in the machine's load touches all alike.
  samples.raw.push(sample("raw"))
  samples.ours.push(sample("ours"))
  samples.floor.push(sample("floor"))
}
const summary = (name: "ours" | "raw" | "floor") => ({
  heap: median(samples[name].map((s) => s.heap)),
  rss: median(samples[name].map((s) => s.rss))
})
const ourSummary = summary("ours")
const rawSummary = summary("raw")
const floorSummary = summary("floor")
for (const [subject, s] of [["ours", ourSummary], ["raw fork", rawSummary], ["interruptible fibers alone", floorSummary]] as const) {
  emit({ subject, metric: "heap per task in flight", unit: "bytes", value: Math.round(s.heap) })
  emit({ subject, metric: "RSS per task in flight", unit: "bytes", value: Math.round(s.rss) })
}
emit({ metric: "heap per task, ours ÷ raw", unit: "ratio", value: Number((ourSummary.heap / rawSummary.heap).toFixed(2)) })
emit({ metric: "RSS per task, ours ÷ raw", unit: "ratio", value: Number((ourSummary.rss / rawSummary.rss).toFixed(2)) })
emit({ metric: "heap per task, ours beyond the fibers' floor", unit: "bytes", value: Math.round(ourSummary.heap - floorSummary.heap) })
process.exit(0)
