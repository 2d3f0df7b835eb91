/**
 * Calling a pool: a task or a chunk of items becomes a job in the pool's queue (waiting
 * for room if the queue is bounded), and its caller is resumed with the job's outcome. A
 * caller that is interrupted cancels its job (see `cancel` in processPool.ts).
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as ProcessPool from "../ProcessPool.ts"
import { PoolClosedError, type ProcessPoolError, TaskTimeoutError } from "../ProcessPoolError.ts"
import { EncodeError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import { errorMessage } from "./errors.ts"
import {
  allFail,
  type ChunkOutcome,
  exitsOf,
  firstExit,
  invalidOption,
  type ItemExit,
  type Job,
  poolError,
  type PoolImpl,
  withExits
} from "./poolState.ts"
import { cancel, dispatchSoon } from "./processPool.ts"
import * as internalTarget from "./target.ts"

/** Room in the queue of pending jobs (backpressure: waits while it is full). */
const admit = (pool: PoolImpl): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (pool.queued < pool.settings.maxQueued || pool.failure !== undefined) return Effect.void
    const waiter = Deferred.makeUnsafe<void>()
    pool.roomWaiters.push(waiter)
    return Effect.andThen(
      Deferred.await(waiter).pipe(Effect.onInterrupt(() => Effect.sync(() => remove(pool.roomWaiters, waiter)))),
      admit(pool)
    )
  })

const remove = <A>(list: Array<A>, value: A) => {
  const index = list.indexOf(value)
  if (index !== -1) list.splice(index, 1)
}

const refusedArguments = (cause: Cause.Cause<unknown>): ItemExit =>
  Exit.fail(poolError(new EncodeError({ payload: "arguments", message: errorMessage(Cause.squash(cause)) })))

/**
 * Runs one chunk (items of one target) and gives its outcome. Items whose arguments do not
 * fit the target's Schema fail with an EncodeError here and are never sent.
 */
export const submit = (
  self: ProcessPool.ProcessPool,
  target: Target.Any,
  items: ReadonlyArray<unknown>,
  timeout: Duration.Input | undefined
): Effect.Effect<ChunkOutcome> =>
  Effect.suspend(() => {
    const pool = self as PoolImpl
    const codecs = internalTarget.codecs(target)
    // Arguments that are their own JSON go as they are.
    if (codecs.allPlainArgs(items)) {
      return runJob(pool, target, items as ReadonlyArray<Schema.Json>, timeout)
    }
    const args: Array<Schema.Json> = []
    let refused: Array<ItemExit | undefined> | undefined
    for (let i = 0; i < items.length; i++) {
      const encoded = codecs.encodeArgs(items[i])
      if (Exit.isSuccess(encoded)) args.push(encoded.value)
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

/**
 * One task: its value, or its error. Without a timeout or a bound on the queue, this is a
 * single `Effect.callback` resumed with the task's own exit: most of what a task costs in
 * the parent is Effect's, and each wrapper (a `flatMap`, an `Effect.succeed`) adds ~0.7 µs.
 */
export const runOne = (
  self: ProcessPool.ProcessPool,
  target: Target.Any,
  item: unknown,
  timeout: Duration.Input | undefined
): Effect.Effect<unknown, unknown> => {
  const pool = self as PoolImpl
  if (timeout !== undefined || pool.settings.maxQueued !== Infinity) {
    return Effect.flatMap(submit(self, target, [item], timeout), firstExit)
  }
  return Effect.callback<unknown, unknown>((resume) => {
    const codecs = internalTarget.codecs(target)
    let arg = item as Schema.Json
    if (codecs.plainArgs?.(item) !== true) {
      const encoded = codecs.encodeArgs(item)
      if (Exit.isFailure(encoded)) return resume(refusedArguments(encoded.cause))
      arg = encoded.value
    }
    return enqueue(pool, target, [arg], (outcome) => resume(firstExit(outcome)))
  })
}

/**
 * Queues a job and gives `onOutcome` its outcome when it has one (at once if the pool is
 * closed or failed). Returns what cancels it, for the caller's `Effect.callback`.
 */
const enqueue = (
  pool: PoolImpl,
  target: Target.Any,
  args: ReadonlyArray<Schema.Json>,
  onOutcome: (outcome: ChunkOutcome) => void
): Effect.Effect<void> | undefined => {
  const refused = pool.failure ??
    (pool.status === "open" ? undefined : poolError(new PoolClosedError({ message: "the pool is closed" })))
  if (refused !== undefined) {
    onOutcome(allFail(args.length, refused))
    return undefined
  }
  const job: Job = {
    id: ++pool.nextJob,
    target,
    args,
    resume: onOutcome,
    worker: undefined,
    cancelled: false,
    dropped: false,
    killTimer: undefined
  }
  pool.pending.push(job)
  pool.queued++
  dispatchSoon(pool)
  // Run when the caller is interrupted while waiting.
  return Effect.sync(() => cancel(pool, job))
}

const runJob = (
  pool: PoolImpl,
  target: Target.Any,
  args: ReadonlyArray<Schema.Json>,
  timeout: Duration.Input | undefined
): Effect.Effect<ChunkOutcome> => {
  const waiting = Effect.callback<ChunkOutcome>((resume) =>
    enqueue(pool, target, args, (outcome) => resume(Effect.succeed(outcome)))
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

/**
 * A map's items in chunks: `chunkSize` each, or Python's default, `ceil(n / (4 × size))`.
 * An error thrown by the iterable surfaces as itself (a defect), before any task runs.
 */
export const chunksOf = <X>(
  self: ProcessPool.ProcessPool,
  items: Iterable<X>,
  chunkSize: number | undefined
): Effect.Effect<Array<Array<X>>, ProcessPoolError> =>
  Effect.suspend(() => {
    const all = Array.from(items)
    const size = chunkSize ?? Math.max(1, Math.ceil(all.length / (4 * self.size)))
    const invalid = invalidOption("chunkSize", size)
    if (invalid !== undefined) return Effect.fail(invalid)
    const chunks: Array<Array<X>> = []
    for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size))
    return Effect.succeed(chunks)
  })
