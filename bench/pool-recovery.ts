/**
 * The recovery samples of the pool benchmark (bench/pool.ts, metric 6), our pool only: a
 * worker SIGKILLed mid-task, and a task past its timeout in a synchronous loop. Each
 * sample makes a fresh pool of 2 with one task in flight per worker and worker A held by a
 * long task, so that the task after the failure can only run on the worker that replaces B.
 * Times are on CLOCK_MONOTONIC, shared by all processes.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { ProcessPool, ProcessPoolError } from "../src/index.ts"
import * as Targets from "./fixtures/pool-targets.ts"
import { nowMs } from "./fixtures/pool-work.ts"

/** The pools' `gracePeriod`, ms. */
export const grace = 100
/** The timeout of the task that runs a synchronous loop, ms. */
export const timeoutMs = 200

/**
 * A pool of 2 with one task in flight per worker, and worker A held by a long task, so
 * that the next task can only run on the worker that replaces B.
 */
const withHeldPool = <A>(body: (pool: ProcessPool.ProcessPool) => Effect.Effect<A, unknown>) =>
  Effect.scoped(Effect.gen(function*() {
    const pool = yield* ProcessPool.make({ size: 2, inFlightPerWorker: 1, gracePeriod: Duration.millis(grace) })
    yield* Effect.all([ProcessPool.run(pool, Targets.square, 1), ProcessPool.run(pool, Targets.square, 2)], { concurrency: 2 })
    const hold = yield* Effect.forkChild(ProcessPool.run(pool, Targets.hold, 60_000))
    const result = yield* body(pool)
    yield* Fiber.interrupt(hold)
    return result
  }))

const expectReason = (exit: Exit.Exit<unknown, unknown>, tag: string) => {
  const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  if (!(error instanceof ProcessPoolError.ProcessPoolError && error.reason._tag === tag)) {
    throw new Error(`expected a ${tag}, got ${Exit.isFailure(exit) ? String(exit.cause) : "a success"}`)
  }
}

let killFiles = 0
/** A task SIGKILLs its own worker (after writing the time): how long until its caller fails, and a replacement answers. */
export const crash = () =>
  Effect.runPromise(withHeldPool((pool) =>
    Effect.gen(function*() {
      const file = Path.join(Os.tmpdir(), `effect-multiprocessing-pool-bench-${process.pid}-${++killFiles}`)
      const exit = yield* Effect.exit(ProcessPool.run(pool, Targets.selfKill, file))
      const failed = nowMs()
      const killed = Number(Fs.readFileSync(file, "utf8"))
      Fs.rmSync(file, { force: true })
      expectReason(exit, "WorkerCrashedError")
      const ran = yield* ProcessPool.run(pool, Targets.now, undefined)
      const answered = nowMs()
      return { callerFails: failed - killed, replacementRuns: ran - killed, replacementAnswers: answered - killed }
    })
  ))

/** A synchronous loop past its timeout: how late the TaskTimeoutError is, and how long until the next task runs. */
export const timeout = () =>
  Effect.runPromise(withHeldPool((pool) =>
    Effect.gen(function*() {
      const t0 = nowMs()
      const exit = yield* Effect.exit(ProcessPool.run(pool, Targets.spin, 10_000, { timeout: Duration.millis(timeoutMs) }))
      const timedOut = nowMs()
      expectReason(exit, "TaskTimeoutError")
      const ran = yield* ProcessPool.run(pool, Targets.now, undefined)
      const answered = nowMs()
      return { timeoutLate: timedOut - t0 - timeoutMs, nextRuns: ran - timedOut, nextAnswers: answered - timedOut }
    })
  ))
