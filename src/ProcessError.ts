/**
 * The errors a child process can end with, other than its target's own typed error.
 *
 * One umbrella error, {@link ProcessError}, carries a tagged `reason` that says what
 * happened. Every reason is a Schema, so a `ProcessError` can itself cross a process
 * boundary (a child may report the failure of its own child).
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { MissingMainGuardError } from "./internal/missingMainGuardError.ts"

const TypeId = "~effect-multiprocessing/ProcessError" as const

/**
 * The child could not be started, or it ended before it was ready to run its target
 * (its module failed to load, the target was not found in it, or it died on the way).
 *
 * @since 0.1.0
 * @category reasons
 */
export class SpawnError extends Schema.TaggedError<SpawnError>()("SpawnError", {
  message: Schema.String,
  exitCode: Schema.optional(Schema.Int)
}) {}

/**
 * The child exited with this code without reporting a result: it called
 * `Process.exit(n)` or `process.exit(n)`, or it was stopped before its target returned.
 *
 * **Python** `exitcode` is `n & 0xFF` for `sys.exit(n)`.
 *
 * @since 0.1.0
 * @category reasons
 */
export class ExitCodeError extends Schema.TaggedError<ExitCodeError>()("ExitCodeError", {
  exitCode: Schema.Int
}) {
  override get message(): string {
    return `exited with code ${this.exitCode} without a result`
  }
}

/**
 * The child was ended by a signal (`exitCode` is minus the signal number, as in Python).
 *
 * @since 0.1.0
 * @category reasons
 */
export class SignalError extends Schema.TaggedError<SignalError>()("SignalError", {
  signal: Schema.String,
  exitCode: Schema.Int
}) {
  override get message(): string {
    return `killed by ${this.signal}`
  }
}

/**
 * The child's target died with a defect (a thrown exception, `Effect.die`). The remote
 * error's name, message and stack are kept.
 *
 * **Python** the equivalent of an uncaught exception in `run()`: exit code 1 and a
 * traceback on the child's stderr.
 *
 * @since 0.1.0
 * @category reasons
 */
export class UncaughtError extends Schema.TaggedError<UncaughtError>()("UncaughtError", {
  name: Schema.String,
  message: Schema.String,
  stack: Schema.optional(Schema.String)
}) {}

/**
 * Which payload failed to cross the process boundary.
 *
 * @since 0.1.0
 * @category models
 */
export const Payload = Schema.Literals(["arguments", "success", "error", "message"])

/**
 * A payload did not match its Schema where it was encoded (before it was sent).
 *
 * @since 0.1.0
 * @category reasons
 */
export class EncodeError extends Schema.TaggedError<EncodeError>()("EncodeError", {
  payload: Payload,
  message: Schema.String
}) {}

/**
 * A payload that arrived did not match its Schema (or was not even valid JSON).
 *
 * @since 0.1.0
 * @category reasons
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  payload: Payload,
  message: Schema.String
}) {}

/**
 * A payload is larger than the `maxMessageBytes` of the process it would cross to or
 * from: it was refused where it was encoded, before anything was written. `size` is its
 * size in bytes as JSON (or at least that: the count stops past the limit).
 *
 * @since 0.1.0
 * @category reasons
 */
export class PayloadTooLargeError extends Schema.TaggedError<PayloadTooLargeError>()("PayloadTooLargeError", {
  payload: Payload,
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `the ${this.payload} take at least ${this.size} bytes, over the limit of ${this.limit} (maxMessageBytes)`
  }
}

/**
 * The channel to the child closed while the child was still running, and no result
 * came through it.
 *
 * @since 0.1.0
 * @category reasons
 */
export class ConnectionLostError extends Schema.TaggedError<ConnectionLostError>()("ConnectionLostError", {
  message: Schema.String
}) {}

/**
 * A child tried to start a process from outside its target: the module it imported to
 * find its target runs its main program at the top level, not behind
 * `if (import.meta.main) { ... }`, so every child would run it again and spawn without
 * end. The child is ended and nothing is spawned; its message shows the fix.
 *
 * **Python** the spawn start method's `RuntimeError: An attempt has been made to start a
 * new process before the current process has finished its bootstrapping phase`.
 *
 * @since 0.1.0
 * @category reasons
 */
export { MissingMainGuardError }

/**
 * The child died of V8 heap exhaustion: it was aborted (SIGABRT, `exitCode` -6) after
 * V8 reported that the JavaScript heap was out of memory. `heapLimit` is the heap limit
 * the child reported when it became ready, in bytes (absent if it died before); raise it
 * with `execArgv: ["--max-old-space-size=<MiB>"]`.
 *
 * **Python** a process that runs out of memory gets a `MemoryError` it may catch; in
 * Node an exhausted heap is fatal, and this is how the parent hears of it.
 *
 * @since 0.1.0
 * @category reasons
 */
export class OutOfMemoryError extends Schema.TaggedError<OutOfMemoryError>()("OutOfMemoryError", {
  heapLimit: Schema.optional(Schema.Number),
  exitCode: Schema.Int,
  signal: Schema.String
}) {
  override get message(): string {
    const limit = this.heapLimit === undefined ? "" : ` (heap limit ${Math.round(this.heapLimit / 2 ** 20)} MiB)`
    return `ran out of memory${limit}: the JavaScript heap is exhausted, killed by ${this.signal}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type ProcessErrorReason =
  | SpawnError
  | ExitCodeError
  | SignalError
  | UncaughtError
  | EncodeError
  | DecodeError
  | ConnectionLostError
  | MissingMainGuardError
  | OutOfMemoryError
  | PayloadTooLargeError

/**
 * @since 0.1.0
 * @category schemas
 */
export const ProcessErrorReason = Schema.Union([
  SpawnError,
  ExitCodeError,
  SignalError,
  UncaughtError,
  EncodeError,
  DecodeError,
  ConnectionLostError,
  MissingMainGuardError,
  OutOfMemoryError,
  PayloadTooLargeError
])

/**
 * A child process ended without producing its target's success or typed error.
 * `process` and `pid` say which child; `reason` says what happened.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "effect-multiprocessing"
 *
 * declare const p: Process.Process<number, never>
 * const handled = Process.result(p).pipe(
 *   Effect.catchReason("ProcessError", "SignalError", (reason) => Effect.succeed(reason.exitCode))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ProcessError extends Schema.TaggedError<ProcessError>()("ProcessError", {
  process: Schema.String,
  pid: Schema.optional(Schema.Int),
  reason: ProcessErrorReason
}) {
  readonly [TypeId]: typeof TypeId = TypeId

  override get message(): string {
    const pid = this.pid === undefined ? "" : ` (pid ${this.pid})`
    return `process ${this.process}${pid}: ${this.reason.message}`
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcessError = (u: unknown): u is ProcessError => Predicate.hasProperty(u, TypeId)
