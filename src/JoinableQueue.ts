/**
 * A {@link ProcessQueue} that counts unfinished tasks: Python's
 * `multiprocessing.JoinableQueue`. Every `ProcessQueue` operation works on it.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Reference } from "./internal/remoteObject.ts"
import * as internal from "./internal/processQueue.ts"
import type { GetError, ProcessQueue, ProxyOptions } from "./ProcessQueue.ts"
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

/**
 * Takes the next item and holds it until the current scope ends: at-least-once
 * consumption. When the scope ends well, the item's task is marked done (do not call
 * {@link taskDone} for it). When the scope ends by failure or interruption, or the process
 * holding the item dies (even by SIGKILL), the item goes back to the front of the queue,
 * before the items that were behind it, for the next taker; its task stays unfinished,
 * so {@link join} stays exact: it returns once every item was processed to the end of a
 * scope. An item may so be processed more than once (its consumer died after its work,
 * before its scope ended): make that work idempotent.
 *
 * A held item counts as handed out but not yet taken: it keeps its slot in a bounded
 * queue (so giving it back never overfills the queue), and after {@link ProcessQueue.end}
 * takers see `Done` only once no item is held any more. It waits and times out as
 * `ProcessQueue.get` does, and a timed-out or interrupted take holds nothing. An item
 * that does not fit this taker's Schema fails the take with `ItemDecodeError` and counts
 * as done, as no taker with this Schema could finish it.
 *
 * **Python** no equivalent: an item taken by a consumer that crashes before `task_done`
 * is lost, and `join` waits forever.
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { JoinableQueue } from "effect-multiprocessing"
 * declare const tasks: JoinableQueue.JoinableQueue<number>
 * declare const work: (n: number) => Effect.Effect<void>
 * // one task: marked done if `work` succeeds, back in the queue if it fails or is interrupted
 * const one = Effect.scoped(Effect.gen(function*() {
 *   const n = yield* JoinableQueue.take(tasks)
 *   yield* work(n)
 * }))
 * ```
 * @since 0.2.0
 * @category operations
 */
export const take: {
  (options?: { readonly timeout?: Duration.Input | undefined }): <A>(self: JoinableQueue<A>) => Effect.Effect<A, GetError, Scope.Scope>
  <A>(self: JoinableQueue<A>, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<A, GetError, Scope.Scope>
} = internal.takeHeld

/**
 * Takes the next item and runs `f` on it, holding the item until `f` ends: the task is
 * marked done if `f` succeeds, and the item goes back to the front of the queue if `f`
 * fails, is interrupted, or its process dies. {@link take} in a scope of its own.
 * **Python** no equivalent (see {@link take}).
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "effect-multiprocessing"
 * declare const tasks: JoinableQueue.JoinableQueue<number>
 * declare const work: (n: number) => Effect.Effect<void>
 * // a consumer loop: ends with `Done` once the queue is ended and every item is done
 * const consumer = Effect.forever(JoinableQueue.process(tasks, work))
 * ```
 * @since 0.2.0
 * @category operations
 */
export const process: {
  <A, B, E, R>(
    f: (item: A) => Effect.Effect<B, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): (self: JoinableQueue<A>) => Effect.Effect<B, E | GetError, Exclude<R, Scope.Scope>>
  <A, B, E, R>(
    self: JoinableQueue<A>,
    f: (item: A) => Effect.Effect<B, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): Effect.Effect<B, E | GetError, Exclude<R, Scope.Scope>>
} = internal.processHeld
