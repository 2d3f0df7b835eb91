/**
 * How a pool of real worker processes recovers from what goes wrong: workers that cannot
 * start, workers killed (SIGKILL) with tasks sent ahead to them, the "break" policy, and
 * cancellations under CPU contention.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import { ProcessPool, ProcessPoolError } from "../src/index.ts"
import * as PoolTransport from "../src/internal/poolTransport.ts"
import { worker as workerTarget } from "../src/internal/poolWorker.ts"
import * as internal from "../src/internal/processPool.ts"
import * as P from "./fixtures/pool.ts"
import { tempDir, until } from "./utils/files.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const reasonOf = (error: unknown) => {
  assert.isTrue(ProcessPoolError.isProcessPoolError(error), `expected a ProcessPoolError, got ${String(error)}`)
  return (error as ProcessPoolError.ProcessPoolError).reason
}

const exitReason = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  return reasonOf(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause))
}

/** Fails the test instead of hanging when `effect` does not end within a (generous) bound. */
const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.timeoutOrElse(effect, { duration: "60 seconds", orElse: () => Effect.die(new Error(`${what} did not end in 60 s`)) })

/** Completes with the pid a `waitToBeKilled` task logs. */
const pidLog = Effect.gen(function*() {
  const seen = yield* Deferred.make<number>()
  const layer = Logger.layer([
    Logger.make((options) => {
      const match = /^pid (\d+)$/.exec(String(options.message))
      if (match) Deferred.doneUnsafe(seen, Exit.succeed(Number(match[1])))
    })
  ])
  return { seen, layer }
})

/** The lines of the file at `path` (none if it does not exist). */
const linesOf = (path: string) => Fs.existsSync(path) ? Fs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "") : []

describe("ProcessPool recovery", () => {
  it.live("make fails at once, typed, when its workers cannot start: a Node flag that does not exist", () =>
    Effect.gen(function*() {
      const error = yield* within(Effect.flip(ProcessPool.make({ size: 2, execArgv: ["--no-such-flag-emp"] })), "make")
      const reason = reasonOf(error) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.exitCode, 9, "Node's exit code for an invalid option")
      assert.strictEqual(reason.failures, 5, "the default crashLoopLimit")
      assert.include(reason.message, "invalid")
      // With the "break" policy, the first worker that cannot start breaks the pool.
      const broken = reasonOf(yield* within(
        Effect.flip(ProcessPool.make({ size: 2, execArgv: ["--no-such-flag-emp"], onWorkerCrash: "break" })),
        "make"
      )) as ProcessPoolError.PoolBrokenError
      assert.strictEqual(broken._tag, "PoolBrokenError")
      assert.strictEqual(broken.crash.exitCode, 9)
    }).pipe(Effect.scoped))

  it.live("make fails with the initializer's error when no worker gets through it", () =>
    Effect.gen(function*() {
      const error = yield* within(
        Effect.flip(ProcessPool.make({ size: 1, initializer: { target: P.initializeAndThrow }, crashLoopLimit: 2 })),
        "make"
      )
      const reason = reasonOf(error) as ProcessPoolError.CrashLoopError
      assert.strictEqual(reason._tag, "CrashLoopError")
      assert.strictEqual(reason.failures, 2)
      assert.strictEqual(reason.cause?.name, "RangeError")
      assert.strictEqual(reason.cause?.message, "the initializer broke")
      assert.include(reason.cause?.stack ?? "", "fixtures/pool.ts")
    }).pipe(Effect.scoped))

  it.live("a SIGKILLed worker: its running task fails with WorkerCrashedError, those sent ahead run once on another worker", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = Path.join(dir, "runs")
      const { layer, seen } = yield* pidLog
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 4 }).pipe(Effect.provide(layer))
      const running = yield* Effect.forkChild(ProcessPool.run(pool, P.waitToBeKilled, undefined))
      const ahead = yield* Effect.forkChild(
        Effect.forEach(["b", "c", "d"], (tag) => ProcessPool.run(pool, P.recordRun, { path: runs, tag }), {
          concurrency: "unbounded"
        })
      )
      const pid = yield* Deferred.await(seen)
      // Every task is in the worker (sent ahead, behind the running one) before the kill.
      yield* until(() => String(pool).includes("pending=0"))
      process.kill(pid, "SIGKILL")
      const crashed = reasonOf(yield* Effect.flip(Fiber.join(running))) as ProcessPoolError.WorkerCrashedError
      assert.strictEqual(crashed._tag, "WorkerCrashedError")
      assert.strictEqual(crashed.exitCode, -9)
      const pids = yield* within(Fiber.join(ahead), "the tasks sent ahead")
      assert.isTrue(pids.every((p) => p !== pid), "they ran on the replacement")
      assert.deepStrictEqual(linesOf(runs).sort(), ["b", "c", "d"], "each ran exactly once")
    }).pipe(Effect.scoped))

  it.live("a worker SIGKILLed while idle: tasks submitted at once, sent to it before its death is seen, run on its replacement", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 4 })
      for (const round of range(5)) {
        const { pid } = yield* ProcessPool.run(pool, P.whoRuns, undefined)
        process.kill(pid, "SIGKILL")
        // Nothing waits for the pool to see the death: these go to the dead worker.
        const pids = yield* within(
          Effect.forEach(range(4), () => ProcessPool.run(pool, P.whoRuns, undefined), { concurrency: "unbounded" }),
          "the tasks sent to a dead worker"
        )
        assert.isTrue(pids.every((p) => p.pid !== pid), `round ${round}: they ran on the replacement`)
      }
    }).pipe(Effect.scoped))

  it.live("a worker killed in a burst of tiny tasks: no task runs twice, and each success ran once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = Path.join(dir, "runs")
      const pool = yield* ProcessPool.make({ size: 1, inFlightPerWorker: 64 })
      // Learn the target (and that it is tiny) first.
      yield* ProcessPool.run(pool, P.recordOrKill, { path: Path.join(dir, "warm"), n: 0, killAt: -1 })
      const exits = yield* within(
        Effect.forEach(range(200), (n) => Effect.exit(ProcessPool.run(pool, P.recordOrKill, { path: runs, n, killAt: 100 })), {
          concurrency: "unbounded"
        }),
        "the burst"
      )
      const counts = new Map<number, number>()
      for (const line of linesOf(runs)) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1)
      assert.strictEqual(exitReason(exits[100]!)._tag, "WorkerCrashedError")
      exits.forEach((exit, n) => {
        if (n === 100) return
        if (Exit.isSuccess(exit)) return assert.strictEqual(counts.get(n), 1, `task ${n} succeeded: it ran once`)
        assert.strictEqual(exitReason(exit)._tag, "WorkerCrashedError", `task ${n}`)
        assert.isAtMost(counts.get(n) ?? 0, 1, `task ${n} failed: it ran at most once`)
      })
      assert.isTrue(Exit.isSuccess(exits[199]!), "the last task, never sent to the killed worker or re-queued, ran")
    }).pipe(Effect.scoped))

  it.live("onWorkerCrash \"break\": the first crash fails every pending task with PoolBrokenError and refuses new ones", () =>
    Effect.gen(function*() {
      const { layer, seen } = yield* pidLog
      const pool = yield* ProcessPool.make({ size: 2, inFlightPerWorker: 2, onWorkerCrash: "break" }).pipe(Effect.provide(layer))
      const killed = yield* Effect.forkChild(ProcessPool.run(pool, P.waitToBeKilled, undefined))
      const pid = yield* Deferred.await(seen)
      // One on the other worker, and more than the workers hold (some wait in the pool).
      const others = yield* Effect.forEach(range(6), () => Effect.forkChild(ProcessPool.run(pool, P.forever, undefined)))
      yield* until(() => String(pool).includes("pending=3"))
      process.kill(pid, "SIGKILL")
      const crashed = reasonOf(yield* Effect.flip(Fiber.join(killed))) as ProcessPoolError.WorkerCrashedError
      assert.strictEqual(crashed._tag, "WorkerCrashedError")
      for (const fiber of others) {
        const reason = reasonOf(yield* within(Effect.flip(Fiber.join(fiber)), "a pending task")) as ProcessPoolError.PoolBrokenError
        assert.strictEqual(reason._tag, "PoolBrokenError")
        assert.strictEqual(reason.crash.exitCode, -9)
        assert.strictEqual(reason.crash.worker, crashed.worker)
      }
      const late = reasonOf(yield* Effect.flip(ProcessPool.run(pool, P.square, 2)))
      assert.strictEqual(late._tag, "PoolBrokenError", "a task submitted after the break")
    }).pipe(Effect.scoped))

  it.live("interrupted tasks under CPU contention: at most `size` extra workers alive, and replacements bounded by the backoff", () =>
    Effect.gen(function*() {
      // Two busy loops beside the pool: on this machine's 2 CPUs, cancellations are often
      // confirmed after the 20 ms that make a worker look stuck.
      yield* Effect.acquireRelease(
        Effect.sync(() => range(2).map(() => ChildProcess.spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }))),
        (burners) => Effect.sync(() => burners.forEach((burner) => burner.kill("SIGKILL")))
      )
      const real = PoolTransport.makeWorker(workerTarget)
      let spawned = 0
      let alive = 0
      let mostAlive = 0
      const counting: PoolTransport.MakeWorker = (options, handlers) => {
        const worker = real(options, handlers)
        return {
          ...worker,
          start: Effect.tap(worker.start, () =>
            Effect.sync(() => {
              spawned++
              mostAlive = Math.max(mostAlive, ++alive)
            })),
          exit: Effect.tap(worker.exit, () => Effect.sync(() => alive--))
        }
      }
      const size = 2
      const pool = yield* internal.makeWith({ size, inFlightPerWorker: 1, gracePeriod: "60 seconds" }, 2, counting)
      yield* Effect.forEach(
        range(1000),
        () => Effect.timeoutOption(ProcessPool.run(pool, P.forever, undefined), "5 millis"),
        { concurrency: 2, discard: true }
      )
      assert.strictEqual(yield* ProcessPool.run(pool, P.square, 3), 9, "the pool still works")
      assert.isAtMost(mostAlive, 2 * size, "never more than `size` workers beyond the pool's size")
      // A worker is replaced early (before its grace period) one at a time, and each early
      // replacement that proves needless doubles the wait before the next, from 20 ms up
      // to half the grace period (30 s): at most 11 before a cancellation would have to take
      // 30 s to be confirmed.
      assert.isAtMost(spawned - size, 11, `replacements spawned (of ${spawned} workers)`)
    }).pipe(Effect.scoped), { timeout: 180_000 })
})
