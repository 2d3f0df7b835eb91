/**
 * The errors of a {@link ProcessPool}, other than a task's own typed error: one umbrella
 * error with a tagged `reason`.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import {
  DecodeError,
  EncodeError,
  OutOfMemoryError,
  PayloadTooLargeError,
  SpawnError,
  UncaughtError
} from "./ProcessError.ts"

const TypeId = "~effect-multiprocessing/ProcessPoolError" as const

/** What a worker died of, if it died of an error or of an exhausted heap. */
const WorkerDeath = Schema.Union([UncaughtError, OutOfMemoryError])

/** `: name: message` of the error a worker died of, if it died of one. */
const diedOf = (cause: typeof WorkerDeath.Type | undefined) =>
  cause === undefined ? "" : cause._tag === "OutOfMemoryError" ? `: ${cause.message}` : `: ${cause.name}: ${cause.message}`

/** What an exit code of Node itself says, for the codes a worker that cannot start ends with. */
const nodeExitCode = (exitCode: number) =>
  exitCode === 9 ? ": Node rejected an invalid option or argument (see `execArgv`)" : ""

/**
 * The worker running the task died: it exited, crashed, ran out of memory, or was killed
 * from outside. Only the tasks it had begun fail so: those sent ahead to it that it had not
 * begun run on another worker. `exitCode` follows Python (`-9` after SIGKILL). `cause`: the error it died
 * of (an exception nothing caught, thrown by the task outside any Effect, say), with its
 * name, message and stack in the worker, when it died of one; an `OutOfMemoryError` (with
 * the worker's heap limit) when its heap was exhausted.
 *
 * **Python** `Pool` waits forever for such a task.
 *
 * @since 0.1.0
 * @category reasons
 */
export class WorkerCrashedError extends Schema.TaggedError<WorkerCrashedError>()("WorkerCrashedError", {
  worker: Schema.String,
  exitCode: Schema.Int,
  cause: Schema.optional(WorkerDeath)
}) {
  override get message(): string {
    return `worker ${this.worker} died (exit code ${this.exitCode}) while running the task${diedOf(this.cause)}`
  }
}

/**
 * The task ran longer than its `timeout`; it was interrupted in the worker (and the
 * worker replaced if it did not stop within the grace period).
 *
 * @since 0.1.0
 * @category reasons
 */
export class TaskTimeoutError extends Schema.TaggedError<TaskTimeoutError>()("TaskTimeoutError", {
  timeout: Schema.Number
}) {
  override get message(): string {
    return `the task did not finish within ${this.timeout} ms`
  }
}

/**
 * The pool no longer takes or runs tasks: it was terminated, or is closing.
 *
 * @since 0.1.0
 * @category reasons
 */
export class PoolClosedError extends Schema.TaggedError<PoolClosedError>()("PoolClosedError", {
  message: Schema.String
}) {}

/**
 * Every new worker died before it was ready, `failures` times in a row: the pool stopped
 * respawning and failed, rather than spin. `cause`: what the last one died of, when it
 * died of an error (its initializer's failure, say); otherwise its exit code tells (9: Node
 * rejected one of its `execArgv`). When no worker of a new pool gets ready, this is how
 * `ProcessPool.make` itself fails.
 *
 * @since 0.1.0
 * @category reasons
 */
export class CrashLoopError extends Schema.TaggedError<CrashLoopError>()("CrashLoopError", {
  failures: Schema.Int,
  exitCode: Schema.Int,
  cause: Schema.optional(WorkerDeath)
}) {
  override get message(): string {
    return `${this.failures} workers in a row died before they were ready (last exit code ${this.exitCode}${
      nodeExitCode(this.exitCode)
    })${diedOf(this.cause)}`
  }
}

/**
 * A worker died, and the pool's policy is `onWorkerCrash: "break"`: the pool is broken.
 * Every task it had not finished fails with this (but those the dead worker was running,
 * which fail with the `WorkerCrashedError` in `crash`), its other workers are stopped,
 * and it takes no more tasks.
 *
 * **Python** `concurrent.futures.process.BrokenProcessPool`.
 *
 * @since 0.1.0
 * @category reasons
 */
export class PoolBrokenError extends Schema.TaggedError<PoolBrokenError>()("PoolBrokenError", {
  crash: WorkerCrashedError
}) {
  override get message(): string {
    return `the pool is broken: worker ${this.crash.worker} died (exit code ${this.crash.exitCode}${
      nodeExitCode(this.crash.exitCode)
    })${diedOf(this.crash.cause)}`
  }
}

/**
 * The pool's options were not valid (a size that is not a positive integer, say).
 *
 * @since 0.1.0
 * @category reasons
 */
export class InvalidOptionsError extends Schema.TaggedError<InvalidOptionsError>()("InvalidOptionsError", {
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export const ProcessPoolErrorReason = Schema.Union([
  WorkerCrashedError,
  TaskTimeoutError,
  PoolClosedError,
  CrashLoopError,
  PoolBrokenError,
  InvalidOptionsError,
  SpawnError,
  EncodeError,
  DecodeError,
  UncaughtError,
  PayloadTooLargeError
])

/**
 * @since 0.1.0
 * @category models
 */
export type ProcessPoolErrorReason = typeof ProcessPoolErrorReason.Type

/**
 * A pool could not give a task's own outcome: `reason` says why. `SpawnError`: the task's
 * target could not be loaded in the worker; `EncodeError` / `DecodeError`: an argument or
 * result did not fit its Schema; `UncaughtError`: the task died of a defect (with the
 * remote stack).
 *
 * @since 0.1.0
 * @category errors
 */
export class ProcessPoolError extends Schema.TaggedError<ProcessPoolError>()("ProcessPoolError", {
  reason: ProcessPoolErrorReason
}) {
  readonly [TypeId]: typeof TypeId = TypeId

  override get message(): string {
    return this.reason.message
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcessPoolError = (u: unknown): u is ProcessPoolError => Predicate.hasProperty(u, TypeId)
