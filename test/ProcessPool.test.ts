import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Process, ProcessPool, ProcessPoolError, Target } from "../src/index.ts"
import * as P from "./fixtures/pool.ts"
import { tempDir, until, untilFile } from "./utils/files.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Node's `gc()`, without starting the test process with `--expose-gc`. */
const exposeGc = (): () => void => {
  V8.setFlagsFromString("--expose-gc")
  return Vm.runInNewContext("gc") as () => void
}

/** The ProcessPoolError reason of a failure, or a test failure. */
const reasonOf = (error: unknown) => {
  assert.isTrue(ProcessPoolError.isProcessPoolError(error), `expected a ProcessPoolError, got ${String(error)}`)
  return (error as ProcessPoolError.ProcessPoolError).reason
}

/** A logger that keeps the child logs of `nap` (start / end / interrupted), in order. */
const napLogs = () => {
  const lines: Array<string> = []
  const layer = Logger.layer([
    Logger.make((options) => {
      const message = String(options.message)
      if (/^(start|end|interrupted) /.test(message)) lines.push(message)
    })
  ])
  /** Waits for `line` (a log travels apart from its task's result, and may come after it). */
  const logged = (line: string) =>
    until(() => lines.includes(line))
  return { lines, layer, logged }
}

/** Completes with the first child log that contains `text`. */
const onLog = (text: string) =>
  Effect.gen(function*() {
    const seen = yield* Deferred.make<string>()
    const layer = Logger.layer([
      Logger.make((options) => {
        const message = String(options.message)
        if (message.includes(text)) Deferred.doneUnsafe(seen, Exit.succeed(message))
      })
    ])
    return { seen, layer }
  })

describe("ProcessPool", () => {
  it.live("map keeps input order, with default and explicit chunking, edge cases included", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, []), [])
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, [7]), [49])
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, [1, 2]), [1, 4], "fewer items than workers")
      const squares = range(1000).map((i) => i * i)
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, range(1000)), squares)
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, range(1000), { chunkSize: 1 }), squares)
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, new Set(range(10))), squares.slice(0, 10), "any iterable")
      // Results joined from many chunks (past 1024 they are joined by a loop), arrays kept whole.
      const pairs = range(1500).map((i) => [i, i] as const)
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.twice, range(1500), { chunkSize: 1 }), pairs)
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.twice, range(1500)), pairs)
      // Chunks sent ahead together, split into several messages to a worker (past 1024 items).
      const ahead = yield* ProcessPool.make({ size: 2, inFlightPerWorker: 8 })
      const many = range(20_000)
      assert.deepStrictEqual(yield* ProcessPool.map(ahead, P.square, many, { chunkSize: 600 }), many.map((i) => i * i))
    }).pipe(Effect.scoped))

  it.live("values whose JSON form is not themselves cross in map and run as their types (NaN, Infinity, Date)", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      // Plain numbers go as they are; NaN and the infinities go through the Number codec,
      // in the same chunk, both ways.
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, [2, NaN, -Infinity, 3], { chunkSize: 4 }), [4, NaN, Infinity, 9])
      assert.deepStrictEqual(yield* ProcessPool.run(pool, P.square, Infinity), Infinity)
      // Long chunks of numbers cross in binary, exactly (fractions, beyond int32); a chunk
      // whose results hold an Infinity (a string in JSON) crosses as JSON.
      const xs = range(300).map((i) => (i - 150) * 1.1 + 2 ** 31)
      xs[150] = 1e200
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.square, xs, { chunkSize: 100 }), xs.map((x) => x * x))
      const from = new Date("2026-01-01T00:00:00Z")
      const later = yield* ProcessPool.map(pool, P.daysLater, [{ from, days: 1 }, { from, days: 31 }])
      assert.deepStrictEqual(later, [new Date("2026-01-02T00:00:00Z"), new Date("2026-02-01T00:00:00Z")])
      assert.instanceOf(later[0], Date)
      const refused = yield* ProcessPool.mapExits(pool, P.daysLater, [{ from, days: 1.5 }])
      assert.isTrue(Exit.isFailure(refused[0]!), "a refinement (Int) is still checked")
      // Refined plain values: the filter runs on the fast path too.
      const ints = yield* ProcessPool.mapExits(pool, P.intSquare, [3, 1.5, 4])
      assert.deepStrictEqual([ints[0], ints[2]], [Exit.succeed(9), Exit.succeed(16)])
      assert.strictEqual(reasonOf(Exit.isFailure(ints[1]!) ? Cause.squash(ints[1].cause) : undefined)._tag, "EncodeError")
    }).pipe(Effect.scoped))

  it.live("mapUnordered gives the same multiset; starmap takes tuples; run gives one result; each has a data-last form", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      const unordered = yield* ProcessPool.mapUnordered(pool, P.square, range(500), { chunkSize: 7 })
      assert.deepStrictEqual([...unordered].sort((a, b) => a - b), range(500).map((i) => i * i))
      assert.deepStrictEqual(yield* ProcessPool.starmap(pool, P.add, [[1, 2], [3, 4]]), [3, 7])
      assert.strictEqual(yield* ProcessPool.run(pool, P.square, 12), 144)
      // Data-last, in a pipe.
      assert.strictEqual(yield* pool.pipe(ProcessPool.run(P.square, 5)), 25)
      assert.deepStrictEqual(yield* pool.pipe(ProcessPool.map(P.square, [1, 2, 3])), [1, 4, 9])
      assert.deepStrictEqual(yield* pool.pipe(ProcessPool.starmap(P.add, [[1, 1]])), [2])
      assert.deepStrictEqual([...yield* pool.pipe(ProcessPool.mapUnordered(P.square, [3]))], [9])
      assert.deepStrictEqual(yield* pool.pipe(ProcessPool.mapExits(P.square, [4])), [Exit.succeed(16)])
      assert.deepStrictEqual(yield* Stream.runCollect(pool.pipe(ProcessPool.stream(P.square, Stream.make(6)))), [36])
    }).pipe(Effect.scoped))

  it.live("a task's typed error comes back as itself, a defect as UncaughtError, each with the remote stack", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      // Twice: a target's first task in a worker waits for its module to load; the next
      // ones run in the worker's loop (another path).
      for (const time of ["first", "second"]) {
        const odd = yield* Effect.flip(ProcessPool.run(pool, P.evenOnly, 3))
        assert.instanceOf(odd, P.Odd, time)
        assert.strictEqual((odd as P.Odd).n, 3)
        // Where it was made, in the worker (its Schema does not carry a stack: it travels beside it).
        assert.include((odd as P.Odd).stack, "fixtures/pool.ts")
        assert.include((odd as P.Odd).stack, "poolWorker.ts")
        const reason = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.defect, undefined))) as ProcessPoolError.ProcessPoolErrorReason & {
          readonly stack?: string
        }
        assert.strictEqual(reason._tag, "UncaughtError", time)
        assert.strictEqual(reason.message, "broken in the worker")
        assert.include(reason.stack ?? "", "pool.ts")
      }
    }).pipe(Effect.scoped))

  it.live("one failing item does not stop the others: mapExits collects all; map fails with the first", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      for (const target of [P.evenOnly, P.evenOnlyMixed]) {
        const exits = yield* ProcessPool.mapExits(pool, target, range(10), { chunkSize: 5 })
        assert.strictEqual(exits.length, 10)
        exits.forEach((exit, i) =>
          assert.deepStrictEqual(exit, i % 2 === 0 ? Exit.succeed(i) : Exit.fail(new P.Odd({ n: i })), `${target.name}, item ${i}`)
        )
      }
      const error = yield* Effect.flip(ProcessPool.map(pool, P.evenOnly, [0, 2, 5, 6]))
      assert.instanceOf(error, P.Odd)
    }).pipe(Effect.scoped))

  it.live("arguments that do not fit the target's Schema fail with an EncodeError and are never sent", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      const exits = yield* ProcessPool.mapExits(pool, P.square, [1, "two" as unknown as number, 3])
      assert.isTrue(Exit.isSuccess(exits[0]!) && Exit.isSuccess(exits[2]!))
      const failure = exits[1]!
      assert.isTrue(Exit.isFailure(failure))
      assert.strictEqual(reasonOf(Exit.isFailure(failure) ? failure.cause.reasons[0]?._tag === "Fail" ? (failure.cause.reasons[0] as { error: unknown }).error : undefined : undefined)._tag, "EncodeError")
      // A single task, with and without the options that take the general path.
      for (const options of [undefined, { timeout: "10 seconds" }] as const) {
        const refused = yield* Effect.flip(ProcessPool.run(pool, P.square, "two" as unknown as number, options))
        assert.strictEqual(reasonOf(refused)._tag, "EncodeError")
      }
    }).pipe(Effect.scoped))

  it.live("each item of a chunk gets its own scope, closed when the item ends", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 8 })
      const logs = yield* ProcessPool.map(pool, P.scoped, [
        { id: "a", useScope: true },
        { id: "b", useScope: false },
        { id: "c", useScope: false },
        { id: "d", useScope: true },
        { id: "e", useScope: false }
      ], { chunkSize: 5 })
      assert.deepStrictEqual(logs[1], ["acquire a", "run a", "release a", "run b"], "a's release ran before b")
      assert.deepStrictEqual(logs[4], ["acquire a", "run a", "release a", "run b", "run c", "acquire d", "run d", "release d", "run e"])
      // A task alone (a chunk of one item, run without the loop) gets its scope too.
      // Tasks alone, sent ahead while a nap runs, so that they run one after the other in
      // one go: tasks that use no scope share one; the next that uses one gets a new one.
      const tasks = [["f", true], ["g", false], ["h", false], ["i", true], ["j", false]] as const
      const [, ...results] = yield* Effect.all([
        ProcessPool.run(pool, P.nap, { tag: "x", ms: 200 }),
        ...tasks.map(([id, useScope]) => ProcessPool.run(pool, P.scoped, { id, useScope }))
      ], { concurrency: "unbounded" })
      assert.deepStrictEqual(results.at(-1)!.slice(-9), [
        "acquire f",
        "run f",
        "release f",
        "run g",
        "run h",
        "acquire i",
        "run i",
        "release i",
        "run j"
      ])
    }).pipe(Effect.scoped))

  it.live("a run that throws, or a success its Schema refuses, fails that item only, with a typed error", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      const thrown = yield* ProcessPool.mapExits(pool, P.throwsInRun, [0, 1, 2], { chunkSize: 3 })
      assert.isTrue(Exit.isSuccess(thrown[0]!) && Exit.isSuccess(thrown[2]!))
      const uncaught = reasonOf(yield* Effect.flip(thrown[1]!)) as ProcessPoolError.ProcessPoolErrorReason & { readonly name?: string }
      assert.strictEqual(uncaught._tag, "UncaughtError")
      assert.strictEqual(uncaught.name, "RangeError")
      assert.strictEqual(uncaught.message, "thrown by run itself")
      const refused = yield* ProcessPool.mapExits(pool, P.badSuccess, [0, 1, 2], { chunkSize: 3 })
      assert.deepStrictEqual([refused[0], refused[2]], [Exit.succeed(0), Exit.succeed(2)])
      const encode = reasonOf(yield* Effect.flip(refused[1]!))
      assert.strictEqual(encode._tag, "EncodeError")
      assert.strictEqual((encode as { readonly payload?: string }).payload, "success")
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.badSuccess, [2, 4]), [2, 4], "the worker goes on")
    }).pipe(Effect.scoped))

  it.live("a Target.sync target: values in order, its typed error as itself, other throws as UncaughtError", () =>
    Effect.gen(function*() {
      // Its `run` is typed by its Schemas (checked by `tsc` in `npm test`):
      // @ts-expect-error a number where the success Schema is a string
      void Target.sync("wrongSuccess", { module: import.meta.url, args: Schema.Number, success: Schema.String, run: (n) => n })
      const pool = yield* ProcessPool.make({ size: 2 })
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.syncEvenSquare, [0, 2, 6, 8, 10, 12]), [0, 4, 36, 64, 100, 144])
      const exits = yield* ProcessPool.mapExits(pool, P.syncEvenSquare, range(6), { chunkSize: 6 })
      assert.deepStrictEqual([exits[0], exits[2]], [Exit.succeed(0), Exit.succeed(4)], "the rest of the chunk goes on")
      assert.deepStrictEqual(exits[1], Exit.fail(new P.Odd({ n: 1 })))
      const uncaught = reasonOf(yield* Effect.flip(exits[4]!)) as ProcessPoolError.ProcessPoolErrorReason & { readonly name?: string }
      assert.strictEqual(uncaught._tag, "UncaughtError")
      assert.strictEqual(uncaught.name, "RangeError")
      assert.strictEqual(uncaught.message, "four is right out")
      assert.deepStrictEqual(yield* Effect.flip(ProcessPool.run(pool, P.syncEvenSquare, 3)), new P.Odd({ n: 3 }))
      // Tasks one by one: tiny chunks, which a worker runs at once, without an Effect around them.
      const oneByOne = yield* Effect.forEach(range(40), (n) => Effect.exit(ProcessPool.run(pool, P.syncEvenSquare, n)), {
        concurrency: "unbounded"
      })
      oneByOne.forEach((exit, n) => {
        if (n === 4) return assert.strictEqual(reasonOf(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)._tag, "UncaughtError")
        assert.deepStrictEqual(exit, n % 2 === 1 ? Exit.fail(new P.Odd({ n })) : Exit.succeed(n * n), `task ${n}`)
      })
      // As a process of its own, too; the typed error has the child's stack.
      assert.strictEqual(yield* Process.run(P.syncEvenSquare, { args: 6 }), 36)
      const fromChild = yield* Effect.flip(Process.run(P.syncEvenSquare, { args: 5 }))
      assert.deepStrictEqual(fromChild, new P.Odd({ n: 5 }))
      assert.include((fromChild as P.Odd).stack, "child.ts")
    }).pipe(Effect.scoped))

  it.live("bursts of every size from 1 to 600 tasks are all answered (the worker's runner restarts)", () =>
    Effect.gen(function*() {
      // A worker runs the tasks it is sent in one fiber, started when work comes and ended
      // when there is none. Where that fiber ends (its exit handled, but the fiber yields
      // before it is done) depends on how many operations a burst took: sizes 1 to 600 of
      // two targets cross Effect's 2048-operation yield many times, at every offset.
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 1000 })
      for (const target of [P.syncSquare, P.square]) {
        for (let size = 1; size <= 600; size++) {
          const burst = range(size)
          const results = yield* Effect.forEach(burst, (i) => ProcessPool.run(pool, target, i), { concurrency: "unbounded" }).pipe(
            Effect.timeoutOrElse({
              duration: "10 seconds",
              orElse: () => Effect.die(new Error(`${target.name}: a burst of ${size} was not answered in 10 s (${String(pool)})`))
            })
          )
          assert.strictEqual(results[size - 1], burst[size - 1]! ** 2)
        }
      }
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("a worker whose message cannot be read: its task fails with a DecodeError at once, and it is replaced", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      for (const how of ["not JSON", "not a worker message"] as const) {
        const before = yield* ProcessPool.run(pool, P.nap, { tag: how, ms: 0 })
        const reason = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.garble, how)))
        assert.strictEqual(reason._tag, "DecodeError", how)
        assert.include(reason.message, how === "not JSON" ? "not JSON: garbage" : "from ", how)
        const after = yield* ProcessPool.run(pool, P.nap, { tag: how, ms: 0 })
        assert.notStrictEqual(after, before, `${how}: a new worker runs the next task`)
      }
    }).pipe(Effect.scoped))

  it.live("large chunks cross both ways; a chunk too large for one message fails with an EncodeError, the others run", () =>
    Effect.gen(function*() {
      // No maxMessageBytes: what is tested here is what cannot be written at all.
      const pool = yield* ProcessPool.make({ size: 1, maxMessageBytes: Infinity })
      // 80 MB each way, in one message.
      const mb20 = 20 * 1024 * 1024
      const big = "x".repeat(mb20)
      assert.deepStrictEqual(yield* ProcessPool.map(pool, P.textLength, [big, big, big, big], { chunkSize: 4 }), [mb20, mb20, mb20, mb20])
      const made = yield* ProcessPool.map(pool, P.text, [mb20, mb20, mb20, mb20], { chunkSize: 4 })
      assert.deepStrictEqual(made.map((s) => s.length), [mb20, mb20, mb20, mb20])
      // Past the longest string V8 makes (~512 M characters), a message's JSON cannot be
      // written: the first chunk fails as a whole, the second (sent with it) runs.
      const n = 190_000_000
      const huge = "x".repeat(n)
      const down = yield* ProcessPool.mapExits(pool, P.textLength, [huge, huge, huge, "abc", "de", "f"], { chunkSize: 3 })
      assert.deepStrictEqual(down.slice(3), [Exit.succeed(3), Exit.succeed(2), Exit.succeed(1)])
      for (const exit of down.slice(0, 3)) {
        const reason = reasonOf(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)
        assert.strictEqual(reason._tag, "EncodeError")
        assert.include(reason.message, "too large to send")
      }
      const up = yield* ProcessPool.mapExits(pool, P.text, [n, n, n, 3, 2, 1], { chunkSize: 3 })
      assert.deepStrictEqual(up.slice(3), [Exit.succeed("yyy"), Exit.succeed("yy"), Exit.succeed("y")])
      for (const exit of up.slice(0, 3)) {
        const reason = reasonOf(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)
        assert.strictEqual(reason._tag, "EncodeError")
        assert.include(reason.message, "too large to send")
      }
      // The same worker goes on.
      assert.strictEqual(yield* ProcessPool.run(pool, P.textLength, "four"), 4)
    }).pipe(Effect.scoped), { timeout: 180_000 }) // over a gigabyte of text each way: a busy machine makes that several times slower

  it.live("a worker whose own loop fails dies of it: its task fails with WorkerCrashedError, the next runs on its replacement", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 4 })
      const before = yield* ProcessPool.run(pool, P.whoRuns, undefined)
      // Sent in one message: the loop fails as it sends the first one's result, before the
      // second begins (a target new to the worker, whose chunk may take a while).
      const [broken, next] = yield* Effect.all([
        Effect.flip(ProcessPool.run(pool, P.breakResults, undefined)),
        ProcessPool.run(pool, P.nap, { tag: "after", ms: 0 })
      ], { concurrency: 2 })
      assert.strictEqual(reasonOf(broken)._tag, "WorkerCrashedError")
      assert.notStrictEqual(next, before.pid, "the task it had not begun ran on its replacement")
      const after = yield* ProcessPool.run(pool, P.whoRuns, undefined)
      assert.notStrictEqual(after.pid, before.pid)
    }).pipe(Effect.scoped))

  it.live("a Target.sync whose run returns a Promise: a defect that says so, and its rejection does not end the worker", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const pool = yield* ProcessPool.make({ size: 1 })
      const pid = yield* ProcessPool.run(pool, P.nap, { tag: "before", ms: 0 })
      const defect = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.syncButAsync, Path.join(dir, "pool"))))
      assert.strictEqual(defect._tag, "UncaughtError")
      assert.include(defect.message, `Target.sync "syncButAsync": run returned a Promise`)
      // The work goes on unwaited, then rejects; the worker lives on.
      yield* untilFile(Path.join(dir, "pool"))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(yield* ProcessPool.run(pool, P.nap, { tag: "after", ms: 0 }), pid, "the same worker")
      // As a process of its own, the same defect.
      const exit = yield* Effect.exit(Process.run(P.syncButAsync, { args: Path.join(dir, "process") }))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)), "run returned a Promise")
    }).pipe(Effect.scoped))

  it.live.each([
    { kind: "Target.sync target", target: P.syncBusy },
    { kind: "target whose effects are Exits (Effect.succeed)", target: P.succeedBusy }
  ])("a long chunk of a $kind, cancelled, stops between slices: its worker is not killed", ({ target }) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const progress = Path.join(dir, "progress")
      const owner = yield* Scope.make()
      // Killing the worker would take the grace period: longer than this test may run.
      const pool = yield* ProcessPool.make({ size: 1, gracePeriod: "10 minutes" }).pipe(Scope.provide(owner))
      // 2000 items of 5 ms in one chunk: 10 s of synchronous calls.
      const items = range(2000).map((i) => ({ i, ms: 5, progress }))
      const mapping = yield* Effect.forkChild(ProcessPool.map(pool, target, items, { chunkSize: 2000 }))
      yield* untilFile(progress)
      yield* Fiber.interrupt(mapping)
      // Closing waits for the cancelled chunk to stop (as Python's close + join would).
      yield* Scope.close(owner, Exit.void).pipe(
        Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die("the chunk did not stop") })
      )
      const reached = Number(Fs.readFileSync(progress, "utf8"))
      assert.isBelow(reached, 1990, "the chunk stopped before its end")
    }).pipe(Effect.scoped))

  it.live("invalid options are rejected with a typed error", () =>
    Effect.gen(function*() {
      for (const options of [{ size: 0 }, { size: 1.5 }, { maxTasksPerChild: -1 }, { maxQueued: 0 }]) {
        const reason = reasonOf(yield* Effect.flip(ProcessPool.make(options)))
        assert.strictEqual(reason._tag, "InvalidOptionsError", JSON.stringify(options))
      }
      const pool = yield* ProcessPool.make({ size: 1 })
      const calls: Array<Effect.Effect<unknown, ProcessPoolError.ProcessPoolError>> = [
        ProcessPool.map(pool, P.square, [1, 2], { chunkSize: 0 }),
        ProcessPool.mapUnordered(pool, P.square, [1, 2], { chunkSize: 1.5 }),
        ProcessPool.mapExits(pool, P.square, [1, 2], { chunkSize: -1 }),
        Stream.runCollect(ProcessPool.stream(pool, P.square, Stream.make(1, 2), { concurrency: 0 }))
      ]
      for (const call of calls) {
        const reason = reasonOf(yield* Effect.flip(call))
        assert.strictEqual(reason._tag, "InvalidOptionsError")
        assert.match((reason as ProcessPoolError.InvalidOptionsError).message, /must be a positive integer/)
      }
    }).pipe(Effect.scoped))

  it.live("an error of the input surfaces as itself: thrown by an iterable (before any task), or a Stream's typed failure", () =>
    Effect.gen(function*() {
      const { layer, seen } = yield* onLog("start ")
      const pool = yield* ProcessPool.make({ size: 1 }).pipe(Effect.provide(layer))
      const broken = new RangeError("the input broke")
      function* items() {
        yield { tag: "a", ms: 1 }
        throw broken
      }
      const exit = yield* Effect.exit(ProcessPool.map(pool, P.nap, items()))
      assert.isTrue(Exit.isFailure(exit) && Cause.squash(exit.cause) === broken, "the very error the iterable threw")
      // Tasks run in order, and their logs arrive in order: the first is this one's.
      yield* ProcessPool.run(pool, P.nap, { tag: "b", ms: 1 })
      assert.strictEqual(yield* Deferred.await(seen), "start b", "no task of the broken map ran")
      class InputFailed extends Data.TaggedError("InputFailed")<{}> {}
      const input = Stream.concat(Stream.make(1, 2), Stream.fail(new InputFailed()))
      const failed = yield* Effect.flip(Stream.runCollect(ProcessPool.stream(pool, P.square, input)))
      assert.instanceOf(failed, InputFailed)
    }).pipe(Effect.scoped))

  it.live("the initializer runs once in each worker before its tasks", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2, initializer: { target: P.initialize, args: "ready" } })
      // The initializer's arguments are typed by its target (checked by `tsc` in `npm test`):
      // @ts-expect-error a number where the target takes a string
      const wrongArgs = ProcessPool.make({ initializer: { target: P.initialize, args: 1 } })
      // @ts-expect-error the arguments are required when the target takes some
      const missingArgs = ProcessPool.make({ initializer: { target: P.initialize } })
      // A target that takes none needs none (`P.initializeAndDie`, further down).
      void [wrongArgs, missingArgs]
      const seen = yield* ProcessPool.map(pool, P.whoRuns, range(20).map(() => undefined), { chunkSize: 1 })
      assert.isTrue(seen.every((s) => s.initialized === "ready"))
      assert.isTrue(seen.every((s) => /^PoolWorker-\d+$/.test(s.name)))
    }).pipe(Effect.scoped))

  it.live("env and execArgv reach every worker", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2, env: { EMP_POOL_VAR: "set" }, execArgv: ["--max-old-space-size=100"] })
      const seen = yield* ProcessPool.map(pool, P.startedWith, ["EMP_POOL_VAR", "EMP_POOL_VAR"], { chunkSize: 1 })
      for (const { execArgv, value } of seen) {
        assert.strictEqual(value, "set")
        assert.deepStrictEqual(execArgv, ["--max-old-space-size=100"])
      }
    }).pipe(Effect.scoped))

  it.live("maxTasksPerChild: each worker runs that many tasks, even with more sent ahead, and no task is stranded", () =>
    Effect.gen(function*() {
      const tasksPerPid = (seen: ReadonlyArray<{ readonly pid: number }>) => {
        const counts = new Map<number, number>()
        for (const { pid } of seen) counts.set(pid, (counts.get(pid) ?? 0) + 1)
        return [...counts.values()]
      }
      const pool = yield* ProcessPool.make({ size: 2, maxTasksPerChild: 2 })
      const seen = yield* ProcessPool.map(pool, P.whoRuns, range(12).map(() => undefined), { chunkSize: 1 })
      assert.deepStrictEqual(tasksPerPid(seen), [2, 2, 2, 2, 2, 2])
      // A worker that may hold 8 tasks at once still takes only its 2.
      const ahead = yield* ProcessPool.make({ size: 1, maxTasksPerChild: 2, inFlightPerWorker: 8 })
      const all = yield* Effect.forEach(range(12), () => ProcessPool.run(ahead, P.whoRuns, undefined), { concurrency: "unbounded" })
      assert.deepStrictEqual(tasksPerPid(all), [2, 2, 2, 2, 2, 2])
      // Closing with a backlog: every queued task still runs, on replacements.
      const owner = yield* Scope.make()
      const closing = yield* ProcessPool.make({ size: 1, maxTasksPerChild: 1 }).pipe(Scope.provide(owner))
      const queued = yield* Effect.forEach(
        range(6),
        () => Effect.forkDetach(ProcessPool.run(closing, P.whoRuns, undefined), { startImmediately: true })
      )
      yield* Scope.close(owner, Exit.void)
      const ran = yield* Effect.forEach(queued, Fiber.join)
      assert.deepStrictEqual(tasksPerPid(ran), [1, 1, 1, 1, 1, 1])
    }).pipe(Effect.scoped))

  it.live("a worker killed (SIGKILL) mid-task fails that task with WorkerCrashedError; the pool goes on", () =>
    Effect.gen(function*() {
      const { layer, seen } = yield* onLog("pid ")
      // A task's logs reach the logger of the scope that made the pool (its workers' parent).
      const pool = yield* ProcessPool.make({ size: 1 }).pipe(Effect.provide(layer))
      const task = yield* Effect.forkChild(ProcessPool.run(pool, P.waitToBeKilled, undefined))
      const pid = Number((yield* Deferred.await(seen)).split(" ")[1])
      process.kill(pid, "SIGKILL")
      const reason = reasonOf(yield* Effect.flip(Fiber.join(task))) as ProcessPoolError.WorkerCrashedError
      assert.strictEqual(reason._tag, "WorkerCrashedError")
      assert.strictEqual(reason.exitCode, -9)
      assert.strictEqual(yield* ProcessPool.run(pool, P.square, 5), 25, "a replacement runs the next task")
    }).pipe(Effect.scoped))

  it.live("a worker that exits, throws outside any Effect or runs out of memory mid-task fails that task with WorkerCrashedError", () =>
    Effect.gen(function*() {
      // A small heap, so that running out of memory is quick.
      const pool = yield* ProcessPool.make({ size: 1, execArgv: ["--max-old-space-size=32"] })
      const crash = (how: "exit" | "uncaught" | "oom") =>
        Effect.map(Effect.flip(ProcessPool.run(pool, P.dieMidTask, how)), (error) => reasonOf(error) as ProcessPoolError.WorkerCrashedError)
      const exited = yield* crash("exit")
      assert.strictEqual(exited._tag, "WorkerCrashedError")
      assert.strictEqual(exited.exitCode, 3)
      assert.isUndefined(exited.cause, "it died of no error")
      const uncaught = yield* crash("uncaught")
      assert.strictEqual(uncaught._tag, "WorkerCrashedError")
      assert.strictEqual(uncaught.exitCode, 1)
      // What it died of, as the worker reported it, with the stack where it was thrown.
      assert.strictEqual(uncaught.cause?.name, "Error")
      assert.strictEqual(uncaught.cause?.message, "thrown outside any Effect")
      assert.include(uncaught.cause?.stack ?? "", "fixtures/pool.ts")
      assert.include(uncaught.message, "thrown outside any Effect")
      // It crosses processes as a ProcessPoolError's reason does: through its Schema.
      const roundTrip = Schema.decodeUnknownSync(ProcessPoolError.WorkerCrashedError)(
        Schema.encodeUnknownSync(ProcessPoolError.WorkerCrashedError)(uncaught)
      )
      assert.deepStrictEqual(roundTrip.cause, uncaught.cause)
      const outOfMemory = yield* crash("oom")
      assert.strictEqual(outOfMemory._tag, "WorkerCrashedError")
      assert.strictEqual(outOfMemory.exitCode, -6, "V8 aborts: SIGABRT")
      assert.strictEqual(yield* ProcessPool.run(pool, P.square, 7), 49, "a replacement runs the next task")
    }).pipe(Effect.scoped))

  it.live("a synchronous task past its timeout fails with TaskTimeoutError; its worker is replaced", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1, gracePeriod: "200 millis" })
      const reason = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.spin, undefined, { timeout: "300 millis" })))
      assert.strictEqual(reason._tag, "TaskTimeoutError")
      assert.strictEqual(yield* ProcessPool.run(pool, P.square, 6), 36, "the next task runs on a new worker")
    }).pipe(Effect.scoped))

  it.live("a cancelled task slow to stop gets its worker's replacement started at once, and is not killed", () =>
    Effect.gen(function*() {
      const { layer, seen } = yield* onLog("stopped cleanly")
      const pool = yield* ProcessPool.make({ size: 1, gracePeriod: "5 seconds" }).pipe(Effect.provide(layer))
      // (A task that stops at once usually keeps its worker; on a busy machine its answer
      // may come after 20 ms, and the worker is replaced anyway: not asserted here.)
      const quick = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.sleepy, 60_000, { timeout: "100 millis" })))
      assert.strictEqual(quick._tag, "TaskTimeoutError")
      const first = (yield* ProcessPool.run(pool, P.whoRuns, undefined)).pid
      const slow = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.slowToStop, 500, { timeout: "100 millis" })))
      assert.strictEqual(slow._tag, "TaskTimeoutError")
      assert.notStrictEqual((yield* ProcessPool.run(pool, P.whoRuns, undefined)).pid, first, "the replacement runs the next task")
      assert.strictEqual(yield* Deferred.await(seen), `stopped cleanly in ${first}`, "the old worker finished its cleanup")
    }).pipe(Effect.scoped))

  it.live("a worker runs one task at a time, in order, even with tasks sent ahead (as Python's workers do)", () =>
    Effect.gen(function*() {
      const { layer, lines, logged } = napLogs()
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 3 }).pipe(Effect.provide(layer))
      const naps = ["a", "b", "c"].map((tag) => ({ tag, ms: 100 }))
      const pids = yield* Effect.forEach(naps, (nap) => ProcessPool.run(pool, P.nap, nap), { concurrency: "unbounded" })
      assert.strictEqual(new Set(pids).size, 1)
      yield* logged("end c")
      assert.deepStrictEqual(lines, ["start a", "end a", "start b", "end b", "start c", "end c"])
    }).pipe(Effect.scoped))

  it.live("a finished task's result does not wait for the synchronous task after it in the same worker", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 4 })
      yield* ProcessPool.run(pool, P.square, 1) // square is known to be quick from now on
      const dir = yield* tempDir
      const [first, second] = [Path.join(dir, "first"), Path.join(dir, "second")]
      // While the first blocker spins, the rest arrive, and are read together after it.
      const blocked = yield* Effect.forkChild(ProcessPool.run(pool, P.spinUntil, first))
      const quick = yield* Effect.forkChild(
        Effect.forEach([2, 3], (n) => ProcessPool.run(pool, P.square, n), { concurrency: "unbounded" })
      )
      const blocker = yield* Effect.forkChild(ProcessPool.run(pool, P.spinUntil, second))
      // Once the first spins and the others are sent, let it end.
      yield* untilFile(`${first}.spinning`)
      yield* until(() => String(pool).includes("pending=0"))
      Fs.writeFileSync(first, "")
      yield* Fiber.join(blocked)
      // The second blocker ends only once the quick results are in: held back, they never would be.
      assert.deepStrictEqual(yield* Fiber.join(quick), [4, 9])
      Fs.writeFileSync(second, "")
      yield* Fiber.join(blocker)
    }).pipe(Effect.scoped))

  it.live("cancelling a task sent ahead drops it at once: the task running before it is not disturbed", () =>
    Effect.gen(function*() {
      const { layer, lines, logged } = napLogs()
      // If the dropped task were only answered after the running one ends, the pool would
      // think it stuck and kill the worker after the grace period, failing the running task.
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 2, gracePeriod: "300 millis" }).pipe(
        Effect.provide(layer)
      )
      const running = yield* Effect.forkChild(ProcessPool.run(pool, P.nap, { tag: "running", ms: 1500 }))
      const ahead = yield* Effect.forkChild(ProcessPool.run(pool, P.nap, { tag: "ahead", ms: 10 }))
      yield* logged("start running")
      yield* Fiber.interrupt(ahead)
      const pid = yield* Fiber.join(running)
      assert.strictEqual(yield* ProcessPool.run(pool, P.nap, { tag: "next", ms: 10 }), pid, "the same worker")
      yield* logged("end next")
      assert.deepStrictEqual(lines, ["start running", "end running", "start next", "end next"])
    }).pipe(Effect.scoped))

  it.live("cancelling the running task interrupts it, and the tasks sent ahead of it run next", () =>
    Effect.gen(function*() {
      const { layer, lines, logged } = napLogs()
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 3 }).pipe(Effect.provide(layer))
      const running = yield* Effect.forkChild(ProcessPool.run(pool, P.nap, { tag: "running", ms: 60_000 }))
      const rest = yield* Effect.forkChild(
        Effect.forEach(["b", "c"], (tag) => ProcessPool.run(pool, P.nap, { tag, ms: 10 }), { concurrency: "unbounded" })
      )
      yield* logged("start running")
      yield* Fiber.interrupt(running)
      const [b, c] = yield* Fiber.join(rest)
      assert.strictEqual(b, c)
      yield* logged("end c")
      assert.deepStrictEqual(lines, ["start running", "interrupted running", "start b", "end b", "start c", "end c"])
    }).pipe(Effect.scoped))

  it.live("interrupting the caller of a running map interrupts its tasks in the workers", () =>
    Effect.gen(function*() {
      const { layer, logged } = napLogs()
      const pool = yield* ProcessPool.make({ size: 2 }).pipe(Effect.provide(layer))
      const naps = ["a", "b"].map((tag) => ({ tag, ms: 60_000 }))
      const mapping = yield* Effect.forkChild(ProcessPool.map(pool, P.nap, naps, { chunkSize: 1 }))
      // `a` goes first, so it runs (`b` runs too, or waits behind it if both went to one worker).
      yield* logged("start a")
      yield* Fiber.interrupt(mapping)
      yield* logged("interrupted a")
      assert.strictEqual(yield* ProcessPool.run(pool, P.sleepy, 1), 1, "the workers are free again")
    }).pipe(Effect.scoped))

  it.live("a task alone, cancelled while it runs, has its scope closed with the interruption; the worker goes on", () =>
    Effect.gen(function*() {
      const { layer, lines, logged } = napLogs()
      const pool = yield* ProcessPool.make({ size: 1 }).pipe(Effect.provide(layer))
      // Its first task loads the target: the next ones take the worker's path for a loaded one.
      yield* ProcessPool.run(pool, P.scopedNap, { tag: "w", ms: 0 })
      const first = yield* Effect.forkChild(ProcessPool.run(pool, P.scopedNap, { tag: "a", ms: 60_000 }))
      yield* logged("start a")
      yield* Fiber.interrupt(first)
      yield* logged("end a: interrupted")
      const pid = yield* ProcessPool.run(pool, P.scopedNap, { tag: "b", ms: 0 })
      assert.strictEqual(yield* ProcessPool.run(pool, P.scopedNap, { tag: "c", ms: 0 }), pid, "the same worker")
      yield* logged("end c: done")
      assert.deepStrictEqual(lines.slice(2), ["start a", "end a: interrupted", "start b", "end b: done", "start c", "end c: done"])
    }).pipe(Effect.scoped))

  it.live("workers that die at start fail the pool with CrashLoopError instead of respawning forever", () =>
    Effect.gen(function*() {
      const reason = reasonOf(
        yield* Effect.flip(ProcessPool.make({ size: 2, initializer: { target: P.initializeAndDie }, crashLoopLimit: 3 }))
      ) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.exitCode, 7)
    }).pipe(Effect.scoped))

  it.live("an initializer that throws: the CrashLoopError carries its error", () =>
    Effect.gen(function*() {
      const reason = reasonOf(
        yield* Effect.flip(ProcessPool.make({ size: 1, initializer: { target: P.initializeAndThrow }, crashLoopLimit: 2 }))
      ) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.cause?.name, "RangeError")
      assert.strictEqual(reason.cause?.message, "the initializer broke")
      assert.include(reason.cause?.stack ?? "", "fixtures/pool.ts")
      assert.include(reason.message, "the initializer broke")
    }).pipe(Effect.scoped))

  it.live("a worker that cannot read its pool's message dies of it: the task, never begun, runs on its replacement, not a hang", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      const before = yield* ProcessPool.run(pool, P.whoRuns, undefined)
      yield* ProcessPool.run(pool, P.garbleNextRun, undefined)
      const nine = yield* ProcessPool.run(pool, P.square, 3).pipe(
        Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die(new Error("the task was stranded")) })
      )
      assert.strictEqual(nine, 9)
      const after = yield* ProcessPool.run(pool, P.whoRuns, undefined)
      assert.notStrictEqual(after.pid, before.pid, "a new worker runs the tasks after it")
    }).pipe(Effect.scoped))

  it.live("closing the scope finishes queued work; interrupting it terminates and fails waiting callers", () =>
    Effect.gen(function*() {
      const owner = yield* Scope.make()
      const closing = yield* ProcessPool.make({ size: 1 }).pipe(Scope.provide(owner))
      // Callers that outlive this fiber's own children: the pool's scope closes under them.
      const queued = yield* Effect.forEach(range(4), (i) => Effect.forkDetach(ProcessPool.run(closing, P.sleepy, 50 + i), { startImmediately: true }))
      yield* Scope.close(owner, Exit.void)
      for (const [i, fiber] of queued.entries()) assert.strictEqual(yield* Fiber.join(fiber), 50 + i, "queued work finished")

      const scope = yield* Scope.make()
      const pool = yield* ProcessPool.make({ size: 1 }).pipe(Scope.provide(scope))
      const waiting = yield* Effect.forEach(range(3), () => Effect.forkChild(ProcessPool.run(pool, P.sleepy, 60_000)))
      yield* Effect.sleep("300 millis")
      yield* Scope.close(scope, Exit.interrupt())
      for (const fiber of waiting) {
        const reason = reasonOf(yield* Effect.flip(Fiber.join(fiber)))
        assert.strictEqual(reason._tag, "PoolClosedError")
      }
      const late = yield* Effect.flip(ProcessPool.run(pool, P.square, 2))
      assert.strictEqual(reasonOf(late)._tag, "PoolClosedError", "a task submitted to a closed pool")
    }))

  it.live("retry (for idempotent tasks) runs a task again after its worker crashed; without it, the crash stands", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      const dir = yield* tempDir
      const crashed = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.crashOnce, Path.join(dir, "a"))))
      assert.strictEqual(crashed._tag, "WorkerCrashedError")
      const result = yield* ProcessPool.run(pool, P.crashOnce, Path.join(dir, "b"), { retry: Schedule.recurs(2) })
      assert.strictEqual(result, "second time lucky")
    }).pipe(Effect.scoped))

  it.live("onProgress sees every chunk complete, up to the total", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      const seen: Array<number> = []
      yield* ProcessPool.map(pool, P.square, range(100), {
        chunkSize: 10,
        onProgress: ({ completed, total }) =>
          Effect.sync(() => {
            assert.strictEqual(total, 100)
            seen.push(completed)
          })
      })
      assert.deepStrictEqual(seen, range(10).map((i) => (i + 1) * 10))
    }).pipe(Effect.scoped))

  it.live("stream runs every element with bounded concurrency, results as they complete", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      const unordered = yield* Stream.runCollect(ProcessPool.stream(pool, P.square, Stream.fromIterable(range(200)), { concurrency: 8 }))
      assert.deepStrictEqual([...unordered].sort((a, b) => a - b), range(200).map((i) => i * i))
      const ordered = yield* Stream.runCollect(ProcessPool.stream(pool, P.square, Stream.fromIterable(range(50)), { ordered: true }))
      assert.deepStrictEqual([...ordered], range(50).map((i) => i * i))
      const failing = yield* Effect.flip(Stream.runCollect(ProcessPool.stream(pool, P.evenOnly, Stream.fromIterable([0, 2, 3, 4]))))
      assert.instanceOf(failing, P.Odd)
    }).pipe(Effect.scoped))

  it.live("stream over an infinite input stays within `concurrency` elements ahead of its results", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 2 })
      let pulled = 0
      let emitted = 0
      let mostAhead = 0
      const naturals = Stream.iterate(0, (n) => n + 1).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const squares = yield* ProcessPool.stream(pool, P.square, naturals, { concurrency: 8, ordered: true }).pipe(
        Stream.tap(() =>
          Effect.sync(() => {
            emitted++
            mostAhead = Math.max(mostAhead, pulled - emitted)
          })
        ),
        Stream.take(2_000),
        Stream.runCollect
      )
      assert.deepStrictEqual([...squares], range(2_000).map((i) => i * i))
      assert.isAtMost(mostAhead, 8, "elements pulled but not yet answered")
      assert.isAtMost(pulled, 2_000 + 8, "the input stops when the consumer does")
    }).pipe(Effect.scoped))

  it.live("a program that closes its pool from a bare top-level Effect.runPromise runs to its end", () =>
    Effect.gen(function*() {
      for (let run = 0; run < 3; run++) {
        const result = ChildProcess.spawnSync(process.execPath, [Path.join(import.meta.dirname, "fixtures", "pool-bare-promise.ts")], {
          encoding: "utf8",
          timeout: 60_000
        })
        assert.strictEqual(result.status, 0, `run ${run}: exit ${result.status}, stderr: ${result.stderr}`)
        assert.strictEqual(result.stdout.trim(), "squares 1 4 9 16")
      }
    }))

  it.live("tasks through a bounded queue: all complete, the queue stays within its bound, the heap stays flat", () =>
    Effect.gen(function*() {
      const gc = exposeGc()
      const pool = yield* ProcessPool.make({ size: 2, maxQueued: 16 })
      let done = 0
      let mostPending = 0
      const runTasks = (n: number) =>
        Effect.forEach(
          range(n),
          (i) =>
            Effect.tap(ProcessPool.run(pool, P.square, i), () =>
              Effect.sync(() => {
                done++
                mostPending = Math.max(mostPending, Number(/pending=(\d+)/.exec(String(pool))![1]))
              })),
          { concurrency: 256, discard: true }
        )
      const heapAfter = (n: number) =>
        Effect.map(runTasks(n), () => {
          gc()
          return process.memoryUsage().heapUsed
        })
      yield* runTasks(2_000) // warm: code compiled, buffers grown
      const before = yield* heapAfter(10_000)
      const after = yield* heapAfter(30_000)
      assert.strictEqual(done, 42_000)
      assert.isAtMost(mostPending, 16, "never more queued than maxQueued")
      // ~0.2 MB here. Any per-task state kept (a job is ~150 bytes, a timer or a listener
      // more) would be ≥ 4.5 MB over 30k tasks.
      const grown = (after - before) / 1024 / 1024
      assert.isBelow(grown, 2, `the heap grew by ${grown.toFixed(1)} MB over 30k tasks`)
    }).pipe(Effect.scoped))
})
