/**
 * A {@link ProcessQueue} that counts unfinished tasks: Python's
 * `multiprocessing.JoinableQueue`. Every `ProcessQueue` operation works on it.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Reference } from "./internal/remoteObject.ts"
import * as internal from "./internal/processQueue.ts"
import type { ProcessQueue, ProxyOptions } from "./ProcessQueue.ts"
import type { QueueClosedError, TaskDoneError } from "./ProcessQueueError.ts"

declare const JoinableBrand: unique symbol

/**
 * @since 0.1.0
 * @category models
 */
export interface JoinableQueue<in out A> extends ProcessQueue<A> {
  readonly [JoinableBrand]: "JoinableQueue"
}

/**
 * Makes a joinable queue owned by the current scope. Unbounded unless `capacity` is given.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { JoinableQueue, ProcessQueue } from "effect-multiprocessing"
 *
 * const program = Effect.gen(function*() {
 *   const tasks = yield* JoinableQueue.make({ item: Schema.Number })
 *   yield* ProcessQueue.put(tasks, 1)
 *   yield* ProcessQueue.get(tasks)
 *   yield* JoinableQueue.taskDone(tasks)
 *   yield* JoinableQueue.join(tasks) // every put item got its taskDone
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A>(options: {
  readonly item: Schema.Codec<A, any, never, never>
  readonly capacity?: number | undefined
  /** The largest item, as for `ProcessQueue.make`. */
  readonly maxMessageBytes?: number | undefined
}): Effect.Effect<JoinableQueue<A>, never, Scope.Scope> =>
  internal.make({ ...options, joinable: true }) as Effect.Effect<JoinableQueue<A>, never, Scope.Scope>

/**
 * The Schema of a joinable queue of `item`s as a target argument. See
 * `ProcessQueue.ProxyOptions` for `prefetch`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema = <A>(
  item: Schema.Codec<A, any, never, never>,
  options?: ProxyOptions
): Schema.Codec<JoinableQueue<A>, Reference<"JoinableQueue">> =>
  internal.schema(item, true, options) as Schema.Codec<JoinableQueue<A>, Reference<"JoinableQueue">>

/**
 * Says that a task taken from the queue is finished. One more call than items put fails
 * with `TaskDoneError`.
 *
 * In a child, a `taskDone` for an item that process took itself does not wait for the
 * owner (it goes out in one batch per turn, after the puts made before it), as Python's
 * does not: the owner's count cannot go below zero for it. Only when other processes marked
 * its items done for it could the owner refuse one; that `TaskDoneError` then fails this
 * process's next `taskDone`. A `taskDone` with no item of its own to cover it waits for the
 * owner's answer.
 *
 * **Python** `JoinableQueue.task_done()`.
 *
 * @since 0.1.0
 * @category operations
 */
export const taskDone: <A>(self: JoinableQueue<A>) => Effect.Effect<void, TaskDoneError | QueueClosedError> =
  internal.taskDone

/**
 * Waits until every item ever put has had its `taskDone`.
 *
 * **Python** `JoinableQueue.join()`.
 *
 * @since 0.1.0
 * @category operations
 */
export const join: <A>(self: JoinableQueue<A>) => Effect.Effect<void, QueueClosedError> = internal.join
