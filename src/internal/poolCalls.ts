/**
 * Calling a pool: a task or a chunk of items becomes a job in the pool's queue (waiting
 * for room if the queue is bounded), and its caller is resumed with the job's outcome,
 * after retries if it asked for them. A caller that is interrupted cancels its job.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as ProcessPool from "../ProcessPool.ts"
import { EncodeError, PayloadTooLargeError } from "../ProcessError.ts"
import { isProcessPoolError, type ProcessPoolError, TaskTimeoutError } from "../ProcessPoolError.ts"
import type * as Target from "../Target.ts"
import { errorMessage } from "./errors.ts"
import * as PayloadSize from "./payloadSize.ts"
import { cancel, enqueue } from "./poolScheduler.ts"
import {
  allFail,
  type ChunkOutcome,
  exitsOf,
  firstExit,
  isProcessPool,
  type ItemExit,
  type Job,
  jobQueued,
  poolError,
  type PoolImpl,
  refusal,
  withExits
} from "./poolState.ts"
import * as internalTarget from "./target.ts"

/** For the data-last forms: the pool comes first in the data-first one. */
export const isPoolFirst = (args: IArguments) => isProcessPool(args[0])

const refusedArguments = (cause: Cause.Cause<unknown>): ItemExit =>
  Exit.fail(poolError(new EncodeError({ payload: "arguments", message: errorMessage(Cause.squash(cause)) })))

/** An item's encoded arguments over the pool's `maxMessageBytes`: refused before they are sent. */
const oversized = (pool: PoolImpl, arg: unknown): ItemExit | undefined => {
  const limit = pool.settings.maxMessageBytes
  const size = PayloadSize.over(arg, limit)
  return size === undefined ? undefined : Exit.fail(poolError(new PayloadTooLargeError({ payload: "arguments", size, limit })))
}

/**
 * Runs one task. With no option that needs more (a timeout, retries, a bounded queue),
 * this is a single `Effect.callback` resumed with the task's own exit: most of what a task
 * costs in the parent is Effect's, and any wrapper (a `flatMap`, an `Effect.succeed`)
 * would add to it. Otherwise, it is a chunk of one item.
 */
export const run: {
  <Args, A, E>(
    target: Target.Target<Args, A, E>,
    args: Args,
    options?: ProcessPool.TaskOptions
  ): (self: ProcessPool.ProcessPool) => Effect.Effect<A, E | ProcessPoolError>
  <Args, A, E>(
    self: ProcessPool.ProcessPool,
    target: Target.Target<Args, A, E>,
    args: Args,
    options?: ProcessPool.TaskOptions
  ): Effect.Effect<A, E | ProcessPoolError>
} = dual(isPoolFirst, (
  self: ProcessPool.ProcessPool,
  target: Target.Any,
  item: unknown,
  options?: ProcessPool.TaskOptions
): Effect.Effect<unknown, unknown> => {
  const pool = self as PoolImpl
  if (options?.timeout !== undefined || options?.retry !== undefined || pool.settings.maxQueued !== Infinity) {
    return Effect.flatMap(submit(pool, target, [item], options), firstExit)
  }
  return Effect.callback<unknown, unknown>((resume) => {
    const codecs = internalTarget.codecs(target)
    let arg = item as Schema.Json
    if (codecs.plainArgs?.(item) !== true) {
      const encoded = codecs.encodeArgs(item)
      if (Exit.isFailure(encoded)) return resume(refusedArguments(encoded.cause))
      arg = encoded.value
    }
    const refused = oversized(pool, arg)
    if (refused !== undefined) return resume(refused)
    return call(pool, target, [arg], resume, true)
  })
})

/**
 * Runs one chunk (items of one target) and gives its outcome, after retries if `options`
 * ask for them. Items whose arguments do not fit the target's Schema fail with an
 * EncodeError here and are never sent.
 */
export const submit = (
  pool: PoolImpl,
  target: Target.Any,
  items: ReadonlyArray<unknown>,
  options: ProcessPool.TaskOptions | undefined
): Effect.Effect<ChunkOutcome> => {
  const once = encodeAndRun(pool, target, items, options?.timeout)
  const retry = options?.retry
  if (retry === undefined) return once
  return once.pipe(
    Effect.flatMap((outcome) =>
      outcome._tag === "Exits" && outcome.exits.some(isRetryable) ? Effect.fail(new Retryable(outcome)) : Effect.succeed(outcome)
    ),
    Effect.retry({ schedule: retry }),
    // Out of retries: the last outcome stands.
    Effect.catch((last) => Effect.succeed(last.outcome))
  )
}

/** The outcome of a chunk that failed in a way a retry may help with. */
class Retryable {
  readonly outcome: ChunkOutcome
  constructor(outcome: ChunkOutcome) {
    this.outcome = outcome
  }
}

const isRetryable = (exit: ItemExit): boolean =>
  Exit.isFailure(exit) && exit.cause.reasons.some((reason) =>
    reason._tag === "Fail" && isProcessPoolError(reason.error) &&
    (reason.error.reason._tag === "WorkerCrashedError" || reason.error.reason._tag === "TaskTimeoutError")
  )

/** A chunk: its arguments encoded (those that do not fit failing on their own), then run as one job. */
const encodeAndRun = (
  pool: PoolImpl,
  target: Target.Any,
  items: ReadonlyArray<unknown>,
  timeout: Duration.Input | undefined
): Effect.Effect<ChunkOutcome> =>
  Effect.suspend(() => {
    const codecs = internalTarget.codecs(target)
    // Arguments that are their own JSON go as they are.
    if (codecs.allPlainArgs(items) && PayloadSize.allWithin(items, pool.settings.maxMessageBytes)) {
      return runJob(pool, target, items as ReadonlyArray<Schema.Json>, timeout)
    }
    const args: Array<Schema.Json> = []
    let refused: Array<ItemExit | undefined> | undefined
    for (let i = 0; i < items.length; i++) {
      const encoded = codecs.encodeArgs(items[i])
      const tooLarge = Exit.isSuccess(encoded) ? oversized(pool, encoded.value) : undefined
      if (tooLarge !== undefined) (refused ??= [])[i] = tooLarge
      else if (Exit.isSuccess(encoded)) args.push(encoded.value)
      else (refused ??= [])[i] = refusedArguments(encoded.cause)
    }
    if (refused === undefined) return runJob(pool, target, args, timeout)
    // Put the refused items back among the others' exits, in order.
    const merge = (outcome: ChunkOutcome): ChunkOutcome => {
      const sent = exitsOf(outcome)
      let next = 0
      return withExits(items.map((_, i) => refused[i] ?? sent[next++]!))
    }
    if (args.length === 0) return Effect.succeed(merge(withExits([])))
    return Effect.map(runJob(pool, target, args, timeout), merge)
  })

/** A job, waiting for room in the queue first if it is bounded, and for its outcome until `timeout`. */
const runJob = (
  pool: PoolImpl,
  target: Target.Any,
  args: ReadonlyArray<Schema.Json>,
  timeout: Duration.Input | undefined
): Effect.Effect<ChunkOutcome> => {
  const waiting = Effect.callback<ChunkOutcome>((resume) =>
    call(pool, target, args, resume as (effect: Effect.Effect<unknown, unknown>) => void, false)
  )
  const timed = timeout === undefined ? waiting : Effect.timeoutOption(waiting, timeout).pipe(
    Effect.map((outcome) =>
      Option.getOrElse(outcome, () => {
        const timedOut = poolError(new TaskTimeoutError({ timeout: Duration.toMillis(Duration.fromInputUnsafe(timeout)) }))
        return allFail(args.length, timedOut)
      })
    )
  )
  return pool.settings.maxQueued === Infinity ? timed : Effect.andThen(admit(pool), timed)
}

/** Room in the queue of pending jobs (backpressure: waits while it is full). */
const admit = (pool: PoolImpl): Effect.Effect<void> =>
  Effect.suspend(() =>
    pool.queued < pool.settings.maxQueued || pool.status._tag !== "Open"
      ? Effect.void
      // Every waiter wakes when room opens; those that find it taken wait again.
      : Effect.andThen(pool.room.await, admit(pool))
  )

/**
 * Queues a job and resumes its caller with its outcome when it has one (at once if the
 * pool takes no jobs): the exit of its only item if `single`, else the chunk's outcome.
 * Returns what cancels it, for the caller's `Effect.callback`.
 */
const call = (
  pool: PoolImpl,
  target: Target.Any,
  args: ReadonlyArray<Schema.Json>,
  resume: (effect: Effect.Effect<unknown, unknown>) => void,
  single: boolean
): Effect.Effect<void> | undefined => {
  const refused = refusal(pool.status)
  if (refused !== undefined) {
    const outcome = allFail(args.length, refused)
    resume(single ? firstExit(outcome) : Effect.succeed(outcome))
    return undefined
  }
  const job: Job = { id: ++pool.nextJob, target, args, resume, single, state: jobQueued }
  enqueue(pool, job)
  // Run when the caller is interrupted while waiting.
  return Effect.sync(() => cancel(pool, job))
}
