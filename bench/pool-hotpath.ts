/**
 * The per-task costs of our pool's hot path, each piece alone, in one process (no IPC):
 * `node bench/pool-hotpath.ts`. A companion to bench/pool.ts and its `--profile` mode:
 * the profile says where the parent's time goes, this says what each piece costs per
 * task when it runs hot, so that an optimization can be judged before it is written.
 *
 * - the Schemas and JSON a task crosses on each side (a `Run` of 64 one-item chunks and
 *   its `Results`, as `ProcessPool.run` × 64 produces them);
 * - a map chunk's results: all succeeded (values only, what the pool sends) or not (an
 *   exit per item), decoded item by item, and one array decode for comparison;
 * - Effect's side of 100k submitted tasks without any IPC: fibers awaiting a Deferred,
 *   or an `Effect.callback` as `ProcessPool.run` does, completed 128 at a time per
 *   macrotask, against plain promises (what the hand-rolled pool pays).
 *
 * It imports the library's internals on purpose: it measures them.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as PoolProtocol from "../src/internal/poolProtocol.ts"
import * as internalTarget from "../src/internal/target.ts"
import * as Targets from "./fixtures/pool-targets.ts"

const emit = (value: unknown) => console.log(`BENCH ${JSON.stringify({ group: "pool-hotpath", ...value as object })}`)

/** Runs `f` hot for ~`ms`, and prints µs per task (`perCall` tasks per call). */
const time = (label: string, perCall: number, f: () => unknown, ms = 400) => {
  for (let i = 0; i < 50; i++) f()
  let calls = 0
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    f()
    calls++
  }
  const us = ((performance.now() - t0) * 1000) / (calls * perCall)
  console.log(`${us.toFixed(3).padStart(8)} µs/task  ${label}`)
  emit({ metric: label, unit: "µs/task", value: Number(us.toFixed(3)) })
}

// ---------------------------------------------------------------------------
// the wire

const K = 64
const codecs = internalTarget.codecs(Targets.square)
const chunks = Array.from({ length: K }, (_, i) => ({ id: i, target: 1, args: [i] }))
const run: PoolProtocol.PoolMessage = { _tag: "Run", targets: [], chunks }
const runPayload = PoolProtocol.encodePoolMessage(run)
const runEnvelope = { _tag: "Pool", message: runPayload.json }
const runLine = JSON.stringify(runEnvelope)
const results: PoolProtocol.WorkerMessage = {
  _tag: "Results",
  chunks: chunks.map((c) => ({ id: c.id, ms: 0.012, values: [c.id * c.id] }))
}
const resultsLine = JSON.stringify({ _tag: "Pool", message: PoolProtocol.encodeWorkerMessage(results).json })
const resultsParsed = JSON.parse(resultsLine)
const raw = [JSON.stringify({ id: 12345, fn: "square", arg: 12345 }).length, JSON.stringify({ id: 12345, result: 152399025 }).length]
console.log(
  `wire, per task: ${(runLine.length / K).toFixed(0)} bytes pool → worker, ${(resultsLine.length / K).toFixed(0)} bytes back` +
    ` (the hand-rolled pool: ${raw[0]} + ${raw[1]})`
)

console.log("\npool → worker (parent side), a Run of 64 one-item chunks")
time("encodeArgs (the target's Schema)", 1, () => codecs.encodeArgs(7))
time("encodePoolMessage (Run)", K, () => PoolProtocol.encodePoolMessage(run))
time("JSON.stringify", K, () => JSON.stringify(runEnvelope))

console.log("\nworker → pool (parent side), the Results of those 64 chunks")
time("JSON.parse", K, () => JSON.parse(resultsLine))
time("decodeWorkerMessage (Results)", K, () => PoolProtocol.decodeWorkerMessage(resultsParsed.message, []))
time("decodeSuccess (the target's success Schema), per item", 1, () => codecs.decodeSuccess(49))

// ---------------------------------------------------------------------------
// a map chunk's results

const n = 12_500
const values = Array.from({ length: n }, (_, i) => i * i)
const itemExits = values.map((value) => ({ exit: { _tag: "Success", value } }))
const itemLine = JSON.stringify(itemExits)
const allLine = JSON.stringify({ values })
const decodeAll = Schema.decodeUnknownExit(Schema.toCodecJson(Schema.Array(Schema.Number)))
console.log(`\na map chunk of ${n} results`)
time("a failure among them: JSON.parse of [{ exit: { _tag, value } }, ...]", n, () => JSON.parse(itemLine), 300)
time("a failure among them: decodeExit per item", n, () => {
  for (const item of itemExits) codecs.decodeExit(item.exit)
}, 300)
time("all succeeded (what is sent): JSON.parse of { values }", n, () => JSON.parse(allLine), 300)
time("all succeeded (what is done): decodeSuccess per item", n, () => {
  for (const value of values) codecs.decodeSuccess(value)
}, 300)
time("all succeeded: one Schema.Array(success) decode instead", n, () => decodeAll(values), 300)

// ---------------------------------------------------------------------------
// Effect's side of 100k tasks in flight

const tasks = 100_000
const range = Array.from({ length: tasks }, (_, i) => i)

/** Completes what `pending` holds, 128 per macrotask, as results arriving from workers would. */
const pump = <A>(pending: Array<A>, complete: (a: A) => void) => {
  let head = 0
  let stopped = false
  const step = () => {
    for (let k = 0; k < 128 && head < pending.length; k++, head++) complete(pending[head]!)
    if (!stopped) setImmediate(step)
  }
  setImmediate(step)
  return () => {
    stopped = true
  }
}

const cpuPerTask = async (label: string, body: () => Promise<unknown>) => {
  const out: Array<number> = []
  for (let rep = 0; rep < 4; rep++) {
    const c0 = process.cpuUsage()
    await body()
    const c = process.cpuUsage(c0)
    if (rep > 0) out.push((c.user + c.system) / tasks)
  }
  out.sort((a, b) => a - b)
  const us = out[1]!
  console.log(`${us.toFixed(3).padStart(8)} µs/task  ${label} (CPU, median of 3)`)
  emit({ metric: label, unit: "µs/task", value: Number(us.toFixed(3)) })
}

const fibers = (wrap: (wait: Effect.Effect<number>) => Effect.Effect<number>) => async () => {
  const pending: Array<Deferred.Deferred<number>> = []
  const stop = pump(pending, (d) => Deferred.doneUnsafe(d, Exit.succeed(1)))
  await Effect.runPromise(Effect.forEach(range, () =>
    Effect.suspend(() => {
      const d = Deferred.makeUnsafe<number>()
      pending.push(d)
      return wrap(Deferred.await(d))
    }), { concurrency: "unbounded" }))
  stop()
}

console.log(`\n${tasks / 1000}k tasks in flight, no IPC`)
await cpuPerTask("plain promises (the hand-rolled pool's bookkeeping)", async () => {
  const resolvers: Array<(x: number) => void> = []
  const stop = pump(resolvers, (resolve) => resolve(1))
  await Promise.all(range.map(() => new Promise<number>((resolve) => resolvers.push(resolve))))
  stop()
})
await cpuPerTask("Effect.forEach unbounded, each fiber awaits a Deferred", fibers((wait) => wait))
await cpuPerTask("Effect.forEach unbounded, each fiber an Effect.callback + flatMap (as ProcessPool.run does)", async () => {
  const pending: Array<(exits: ReadonlyArray<Exit.Exit<number>>) => void> = []
  const stop = pump(pending, (resume) => resume([Exit.succeed(1)]))
  await Effect.runPromise(Effect.forEach(range, () =>
    Effect.flatMap(
      Effect.callback<ReadonlyArray<Exit.Exit<number>>>((resume) => {
        pending.push((exits) => resume(Effect.succeed(exits)))
        return Effect.void
      }),
      (exits) => exits[0]!
    ), { concurrency: "unbounded" }))
  stop()
})
