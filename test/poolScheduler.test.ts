/**
 * The pool's scheduler and workers, in this process: its worker processes are fakes (the
 * `MakeWorker` seam of poolTransport.ts) that the tests make ready, answer, or kill, and
 * its timers run on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import { ProcessError, SpawnError, UncaughtError } from "../src/ProcessError.ts"
import { ProcessPool, ProcessPoolError, Target } from "../src/index.ts"
import type * as PoolProtocol from "../src/internal/poolProtocol.ts"
import type { MakeWorker, WorkerExit, WorkerHandlers } from "../src/internal/poolTransport.ts"
import { awaitStarted } from "../src/internal/poolWorkers.ts"
import * as internal from "../src/internal/processPool.ts"

/** Never run: the fake workers answer for it. */
const square = Target.make("unitSquare", {
  module: import.meta.url,
  args: Schema.Number,
  success: Schema.Number,
  run: (n) => Effect.succeed(n * n)
})

/** A worker process that does what the test says. */
class FakeWorker {
  readonly name: string
  readonly handlers: WorkerHandlers
  readonly sent: Array<PoolProtocol.PoolMessage> = []
  readonly exited = Deferred.makeUnsafe<WorkerExit>()
  killed = false
  closed = false
  constructor(name: string, handlers: WorkerHandlers) {
    this.name = name
    this.handlers = handlers
  }
  /** The ids of the chunks it was sent to run, in order. */
  get chunks(): Array<number> {
    return this.sent.flatMap((message) => message._tag === "Run" ? message.chunks.map((chunk) => chunk.id) : [])
  }
  /** The ids of the chunks it was asked to cancel. */
  get cancels(): Array<number> {
    return this.sent.flatMap((message) => message._tag === "Cancel" ? [message.id] : [])
  }
  ready() {
    this.handlers.onMessage({ _tag: "Idle" })
  }
  /** Answers chunk `id` with these values (the squares, say). */
  answer(id: number, values: ReadonlyArray<number>) {
    this.handlers.onMessage({ _tag: "Results", chunks: [{ id, ms: 0.1, values }] })
  }
  /** Says it may have begun the chunks sent to it up to `through`. */
  claim(through: number) {
    this.handlers.onMessage({ _tag: "Started", through })
  }
  confirmCancel(id: number) {
    this.handlers.onMessage({ _tag: "Results", chunks: [{ id, ms: 0, cancelled: true }] })
  }
  die(exitCode: number, uncaught?: UncaughtError) {
    Deferred.doneUnsafe(this.exited, Exit.succeed({ exitCode, uncaught }))
  }
}

/** Fake worker processes, in the order the pool made them. */
const fakeWorkers = () => {
  const made: Array<FakeWorker> = []
  const makeWorker: MakeWorker = (options, handlers) => {
    const fake = new FakeWorker(options.name, handlers)
    made.push(fake)
    return {
      name: options.name,
      start: Effect.void,
      send: (message) => {
        fake.sent.push(message)
      },
      exit: Deferred.await(fake.exited),
      kill: () => {
        fake.killed = true
        fake.die(-9)
      },
      close: Effect.sync(() => {
        fake.closed = true
        fake.die(-15)
      })
    }
  }
  return { made, makeWorker }
}

const makePool = (options: ProcessPool.Options) =>
  Effect.gen(function*() {
    const { made, makeWorker } = fakeWorkers()
    const pool = yield* internal.makeWith(options, 2, makeWorker)
    return { pool, made }
  })

/** Lets the pool's end-of-tick dispatch and the callers' fibers run. */
const settle = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** A caller of `square(n)`, started now (its job is queued before this returns). */
const submit = (pool: ProcessPool.ProcessPool, n: number) =>
  Effect.forkChild(ProcessPool.run(pool, square, n), { startImmediately: true })

const reasonOf = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(ProcessPoolError.isProcessPoolError(error), `expected a ProcessPoolError, got ${String(error)}`)
  return (error as ProcessPoolError.ProcessPoolError).reason
}

describe("ProcessPool scheduler (fake workers)", () => {
  it.effect("a worker gets at most its capacity, the least busy first; the rest wait for room", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 2, inFlightPerWorker: 2 })
      const [a, b] = made as [FakeWorker, FakeWorker]
      a.ready()
      b.ready()
      const callers = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => submit(pool, n))
      yield* settle
      assert.deepStrictEqual(a.chunks, [1, 3], "taken in turn: the least busy worker first")
      assert.deepStrictEqual(b.chunks, [2, 4])
      assert.include(String(pool), "pending=1", "the fifth waits: both workers are full")
      a.answer(1, [1])
      assert.deepStrictEqual(a.chunks, [1, 3, 5], "room at a: the fifth goes there")
      // The pool's scope closes only once its work is done.
      a.answer(3, [9])
      a.answer(5, [25])
      b.answer(2, [4])
      b.answer(4, [16])
      assert.deepStrictEqual(yield* Effect.forEach(callers, Fiber.join), [1, 4, 9, 16, 25])
    }).pipe(Effect.scoped))

  it.effect("a queued job whose caller gives up is dropped: never sent, and no longer counted", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, inFlightPerWorker: 1 })
      const worker = made[0]!
      worker.ready()
      const first = yield* submit(pool, 1)
      const second = yield* submit(pool, 2)
      yield* settle
      assert.include(String(pool), "pending=1")
      yield* Fiber.interrupt(second)
      assert.include(String(pool), "pending=0")
      worker.answer(1, [1])
      assert.strictEqual(yield* Fiber.join(first), 1)
      assert.deepStrictEqual(worker.chunks, [1], "the dropped job was not sent")
      assert.deepStrictEqual(worker.cancels, [], "nor cancelled: it never ran")
    }).pipe(Effect.scoped))

  it.effect("a running job whose caller gives up is cancelled in its worker, which takes no work until it confirms", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, inFlightPerWorker: 2 })
      const worker = made[0]!
      worker.ready()
      const running = yield* submit(pool, 1)
      yield* settle
      yield* Fiber.interrupt(running)
      assert.deepStrictEqual(worker.cancels, [1])
      const next = yield* submit(pool, 2)
      yield* settle
      assert.deepStrictEqual(worker.chunks, [1], "held back while a cancellation is outstanding")
      worker.confirmCancel(1)
      assert.deepStrictEqual(worker.chunks, [1, 2])
      yield* TestClock.adjust("1 minute")
      assert.isFalse(worker.killed, "it stopped in time: not killed")
      assert.strictEqual(made.length, 1, "nor replaced")
      worker.answer(2, [4])
      assert.strictEqual(yield* Fiber.join(next), 4)
    }).pipe(Effect.scoped))

  it.effect("a cancelled job that does not stop: its worker is replaced at once, then killed after the grace period", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, gracePeriod: "2 seconds" })
      const stuck = made[0]!
      stuck.ready()
      const running = yield* submit(pool, 1)
      yield* settle
      yield* Fiber.interrupt(running)
      yield* TestClock.adjust("19 millis")
      assert.strictEqual(made.length, 1, "not replaced yet: a task usually stops within a few ms")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(made.length, 2, "replaced: it looks stuck")
      const replacement = made[1]!
      replacement.ready()
      const next = yield* submit(pool, 3)
      yield* settle
      assert.deepStrictEqual(replacement.chunks, [2], "the next job goes to the replacement")
      yield* TestClock.adjust("1979 millis")
      assert.isFalse(stuck.killed, "still within the grace period")
      yield* TestClock.adjust("1 millis")
      assert.isTrue(stuck.killed, "killed at the end of the grace period")
      yield* settle
      assert.strictEqual(made.length, 2, "its replacement was started already: no second one")
      replacement.answer(2, [9])
      assert.strictEqual(yield* Fiber.join(next), 9)
    }).pipe(Effect.scoped))

  it.effect("a worker's exit fails the job it ran with WorkerCrashedError, carrying what it died of; those sent ahead run on its replacement", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, inFlightPerWorker: 3 })
      const worker = made[0]!
      worker.ready()
      const callers = yield* Effect.forEach([1, 2, 3], (n) => submit(pool, n))
      yield* settle
      assert.deepStrictEqual(worker.chunks, [1, 2, 3])
      worker.claim(1)
      const thrown = new UncaughtError({ name: "RangeError", message: "thrown outside any Effect", stack: "RangeError: at task" })
      worker.die(1, thrown)
      const reason = reasonOf(yield* Fiber.await(callers[0]!)) as ProcessPoolError.WorkerCrashedError
      assert.strictEqual(reason._tag, "WorkerCrashedError")
      assert.strictEqual(reason.exitCode, 1)
      assert.deepStrictEqual(reason.cause, thrown)
      assert.include(reason.message, "RangeError: thrown outside any Effect")
      yield* settle
      assert.strictEqual(made.length, 2, "a replacement")
      const replacement = made[1]!
      replacement.ready()
      assert.deepStrictEqual(replacement.chunks, [2, 3], "the jobs it had not begun, in their order")
      replacement.answer(2, [4])
      replacement.answer(3, [9])
      assert.deepStrictEqual(yield* Effect.forEach(callers.slice(1), Fiber.join), [4, 9])
    }).pipe(Effect.scoped))

  it.effect("a job sent to a worker that died before claiming it (killed while idle) runs on the replacement", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1 })
      const worker = made[0]!
      worker.ready()
      const caller = yield* submit(pool, 7)
      yield* settle
      assert.deepStrictEqual(worker.chunks, [1], "sent, before the pool learns the worker is gone")
      worker.die(-9)
      yield* settle
      const replacement = made[1]!
      replacement.ready()
      assert.deepStrictEqual(replacement.chunks, [1])
      replacement.answer(1, [49])
      assert.strictEqual(yield* Fiber.join(caller), 49)
    }).pipe(Effect.scoped))

  it.effect("a job whose workers keep dying before they claim it fails on the third such death, carrying it", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1 })
      made[0]!.ready()
      const caller = yield* submit(pool, 7)
      for (const round of [0, 1, 2]) {
        yield* settle
        const worker = made[round]!
        if (round > 0) worker.ready()
        assert.deepStrictEqual(worker.chunks, [1], `round ${round}: sent`)
        worker.die(-6)
      }
      const reason = reasonOf(yield* Fiber.await(caller)) as ProcessPoolError.WorkerCrashedError
      assert.strictEqual(reason._tag, "WorkerCrashedError")
      assert.strictEqual(reason.exitCode, -6)
      yield* settle
      const next = made[3]!
      next.ready()
      assert.deepStrictEqual(next.chunks, [], "not sent again")
    }).pipe(Effect.scoped))

  it.effect("a worker's exit fails the jobs it claimed; the rest, sent but never claimed, run again", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, inFlightPerWorker: 5 })
      const worker = made[0]!
      worker.ready()
      const callers = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => submit(pool, n))
      yield* settle
      worker.answer(1, [1])
      // Tiny jobs: it says it may begin 2, 3 and 4 without a word each.
      worker.claim(4)
      worker.die(-9)
      for (const caller of callers.slice(1, 4)) {
        assert.strictEqual(reasonOf(yield* Fiber.await(caller))._tag, "WorkerCrashedError")
      }
      yield* settle
      const replacement = made[1]!
      replacement.ready()
      assert.deepStrictEqual(replacement.chunks, [5], "only the job it could not have begun")
      replacement.answer(5, [25])
      assert.deepStrictEqual([yield* Fiber.join(callers[0]!), yield* Fiber.join(callers[4]!)], [1, 25])
    }).pipe(Effect.scoped))

  it.effect("maxTasksPerChild: a worker given its last task takes no more, is replaced at once, and closed once done", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, maxTasksPerChild: 2, inFlightPerWorker: 4 })
      const first = made[0]!
      first.ready()
      const callers = yield* Effect.forEach([1, 2, 3], (n) => submit(pool, n))
      yield* settle
      assert.deepStrictEqual(first.chunks, [1, 2], "its quota, though it has room for more")
      assert.strictEqual(made.length, 2, "its replacement started with its last task")
      const second = made[1]!
      second.ready()
      assert.deepStrictEqual(second.chunks, [3])
      first.answer(1, [1])
      assert.isFalse(first.closed, "still running its last task")
      first.answer(2, [4])
      assert.isTrue(first.closed, "closed once its last task is done")
      second.answer(3, [9])
      assert.deepStrictEqual(yield* Effect.forEach(callers, Fiber.join), [1, 4, 9])
      yield* settle
      assert.strictEqual(made.length, 2, "a retired worker's end starts no other")
    }).pipe(Effect.scoped))

  it.effect("workers dying before they are ready crashLoopLimit times fail the pool with CrashLoopError, with the cause", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, crashLoopLimit: 3 })
      const caller = yield* submit(pool, 1)
      const failed = new UncaughtError({ name: "Error", message: "the initializer failed" })
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(made.length, i + 1)
        made[i]!.die(1, failed)
        yield* settle
      }
      assert.strictEqual(made.length, 3, "no fourth worker")
      const reason = reasonOf(yield* Fiber.await(caller)) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.failures, 3)
      assert.deepStrictEqual(reason.cause, failed)
      const late = reasonOf(yield* Effect.exit(ProcessPool.run(pool, square, 2)))
      assert.strictEqual(late._tag, "CrashLoopError", "every later call fails the same way")
    }).pipe(Effect.scoped))

  it.effect("a worker that dies once it was ready does not count toward a crash loop", () =>
    Effect.gen(function*() {
      const { made } = yield* makePool({ size: 1, crashLoopLimit: 2 })
      made[0]!.die(1)
      yield* settle
      made[1]!.ready()
      made[1]!.die(1)
      yield* settle
      made[2]!.die(1)
      yield* settle
      assert.strictEqual(made.length, 4, "two deaths before ready, but not in a row")
    }).pipe(Effect.scoped))

  it.effect("make's wait: done once the first worker is ready, the others still starting", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 2 })
      const started = yield* Effect.forkChild(awaitStarted(pool), { startImmediately: true })
      yield* settle
      assert.isUndefined(started.pollUnsafe(), "no worker is ready yet")
      made[1]!.ready()
      yield* Fiber.join(started)
      assert.include(String(pool), "workers=2")
    }).pipe(Effect.scoped))

  it.effect("make's wait fails with the CrashLoopError when no worker gets ready", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 2, crashLoopLimit: 3 })
      const started = yield* Effect.forkChild(awaitStarted(pool), { startImmediately: true })
      made[0]!.die(9)
      made[1]!.die(9)
      yield* settle
      made[2]!.die(9)
      const reason = reasonOf(yield* Fiber.await(started)) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.exitCode, 9)
    }).pipe(Effect.scoped))

  it.effect("an early replacement that proves needless doubles the wait before the next", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, gracePeriod: "2 seconds" })
      made[0]!.ready()
      const first = yield* submit(pool, 1)
      yield* settle
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("20 millis")
      assert.strictEqual(made.length, 2, "replaced: it looked stuck")
      made[0]!.confirmCancel(1)
      made[1]!.ready()
      const second = yield* submit(pool, 2)
      yield* settle
      yield* Fiber.interrupt(second)
      yield* TestClock.adjust("39 millis")
      assert.strictEqual(made.length, 2, "the wait is 40 ms now")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(made.length, 3)
      made[1]!.confirmCancel(2)
    }).pipe(Effect.scoped))

  it.effect("one worker at a time is replaced early; the others wait for their kill", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 2, gracePeriod: "2 seconds" })
      made[0]!.ready()
      made[1]!.ready()
      const callers = yield* Effect.forEach([1, 2], (n) => submit(pool, n))
      yield* settle
      yield* Effect.forEach(callers, Fiber.interrupt)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(made.length, 3, "one early replacement")
      yield* TestClock.adjust("1 second")
      assert.isTrue(made[0]!.killed && made[1]!.killed, "both killed at the end of the grace period")
      yield* settle
      assert.strictEqual(made.length, 4, "the second replaced once it ended")
    }).pipe(Effect.scoped))

  it.effect("never more than size workers beyond the pool's size alive: a replacement waits for a retiring worker to end", () =>
    Effect.gen(function*() {
      const { made, pool } = yield* makePool({ size: 1, maxTasksPerChild: 1, inFlightPerWorker: 1 })
      made[0]!.ready()
      const callers = yield* Effect.forEach([1, 2], (n) => submit(pool, n))
      yield* settle
      assert.strictEqual(made.length, 2, "the first retired with its task, and its replacement started")
      made[1]!.ready()
      assert.deepStrictEqual(made[1]!.chunks, [2])
      yield* settle
      assert.strictEqual(made.length, 2, "the second retired too, but two are alive: no third yet")
      made[0]!.answer(1, [1])
      yield* settle
      assert.strictEqual(made.length, 3, "the first ended: the third starts")
      made[1]!.answer(2, [4])
      assert.deepStrictEqual(yield* Effect.forEach(callers, Fiber.join), [1, 4])
    }).pipe(Effect.scoped))

  it.effect("closing a pool that failed (a crash loop) waits for the jobs its live workers run", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { made, pool } = yield* makePool({ size: 2, crashLoopLimit: 1 }).pipe(Scope.provide(scope))
      made[0]!.ready()
      const caller = yield* submit(pool, 3)
      yield* settle
      made[1]!.die(1)
      yield* settle
      assert.include(String(pool), "failed")
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
      yield* settle
      assert.isUndefined(closing.pollUnsafe(), "still running a job")
      made[0]!.answer(1, [9])
      yield* Fiber.join(closing)
      assert.strictEqual(yield* Fiber.join(caller), 9)
    }))

  it.effect("a worker whose process cannot be spawned dies of that: the CrashLoopError carries why", () =>
    Effect.gen(function*() {
      const { makeWorker } = fakeWorkers()
      const failing: MakeWorker = (options, handlers) => ({
        ...makeWorker(options, handlers),
        start: Effect.fail(
          new ProcessError({ process: options.name, reason: new SpawnError({ message: "spawn EMFILE", exitCode: 42 }) })
        )
      })
      const pool = yield* internal.makeWith({ size: 1, crashLoopLimit: 2 }, 2, failing)
      const reason = reasonOf(yield* Effect.exit(awaitStarted(pool))) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.exitCode, 42)
      assert.strictEqual(reason.cause?.name, "SpawnError")
      assert.strictEqual(reason.cause?.message, "spawn EMFILE")
    }).pipe(Effect.scoped))
})
