/**
 * A FIFO queue shared between processes: Python's `multiprocessing.Queue`, typed by an
 * item Schema.
 *
 * The queue lives in the process that makes it, for as long as the scope it was made
 * in. Passed to a child as a target argument (its Schema is {@link schema}), it becomes
 * a proxy there with the same operations. Any number of producers and consumers, in any
 * processes, the owner included; a child may pass the queue on to its own children.
 *
 * Guarantees: an item is validated by the item Schema where it is put (nothing is sent
 * if it does not fit) and where it arrives; an item handed to a consumer that is
 * interrupted, or dies, before it has the item goes back to the queue; a bounded queue
 * blocks producers in every process; closing the owner's scope fails every waiter in
 * every process with {@link QueueClosedError}.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { Pipeable } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Reference } from "./internal/remoteObject.ts"
import * as internal from "./internal/processQueue.ts"
import type {
  ItemDecodeError,
  ItemEncodeError,
  ItemTooLargeError,
  QueueClosedError,
  QueueEmptyError,
  QueueFullError
} from "./ProcessQueueError.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = "~effect-multiprocessing/ProcessQueue"

/**
 * Carries the item type of a queue (nothing at run time).
 *
 * @since 0.1.0
 * @category models
 */
export interface Variance<in out A> {
  readonly _A: (_: A) => A
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProcessQueue<in out A> extends Pipeable {
  readonly [internal.TypeId]: Variance<A>
}

/**
 * How a queue or an event crosses a process boundary: a reference to the owner's object
 * (and what a proxy needs to know of it), never the items themselves.
 *
 * @since 0.1.0
 * @category models
 */
export type { Reference } from "./internal/remoteObject.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type PutError = QueueFullError | QueueClosedError | ItemEncodeError | ItemDecodeError | ItemTooLargeError

/**
 * `Done` is the end of the queue (after {@link end}, once drained).
 *
 * @since 0.1.0
 * @category models
 */
export type GetError = Cause.Done | QueueEmptyError | QueueClosedError | ItemDecodeError

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcessQueue: (u: unknown) => u is ProcessQueue<unknown> = internal.isProcessQueue

/**
 * Makes a queue owned by the current scope. Unbounded unless `capacity` is given.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Process, ProcessQueue, Target } from "effect-multiprocessing"
 *
 * export const consumer = Target.make("consumer", {
 *   module: import.meta.url,
 *   args: ProcessQueue.schema(Schema.Number),
 *   success: Schema.Number,
 *   run: (queue) => ProcessQueue.get(queue).pipe(Effect.orDie)
 * })
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* ProcessQueue.make({ item: Schema.Number, capacity: 100 })
 *   const p = yield* Process.spawn(consumer, { args: queue })
 *   yield* ProcessQueue.put(queue, 42)
 *   return yield* Process.result(p) // 42
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A>(options: {
  readonly item: Schema.Codec<A, any, never, never>
  readonly capacity?: number | undefined
  /**
   * The largest item, in bytes as JSON: a `put` of a larger one fails with an
   * `ItemTooLargeError` where it is encoded (in the owner or in a child), before anything
   * is sent. Default: 64 MiB (see `Process.Options.maxMessageBytes`); `Infinity` turns it off.
   */
  readonly maxMessageBytes?: number | undefined
}): Effect.Effect<ProcessQueue<A>, never, Scope.Scope> => internal.make({ ...options, joinable: false })

/**
 * Options of a queue's proxy, chosen where the queue arrives (in the consuming target's
 * argument Schema).
 *
 * - `prefetch`: how many items a `get` may fetch at once. Fetched items are kept for the
 *   next `get`s; they stay the owner's until taken, and go back to the front of the queue,
 *   in their order, if the consumer ends first (so nothing is lost or taken twice), or if
 *   it stops taking them for a while (50 ms, or 4 times its usual time per item), so that
 *   another consumer can.
 *   - Default: adaptive. A consumer asks for as many items as it gets through in one round
 *     trip to the owner (from moving averages of both), between 1 and 256: a consumer that
 *     spends milliseconds on each item fetches one at a time and leaves the rest to others;
 *     a tight loop over small items fetches them in batches, at many times the throughput.
 *   - `1`: every `get` is one round trip, and items go to whichever consumer asks first
 *     (Python's fairness, at any speed).
 *   - `n`: always up to `n` at once: the most throughput, but a consumer may sit on up to
 *     `n - 1` items that an idle consumer could have had.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProxyOptions {
  readonly prefetch?: number | undefined
}

/**
 * The Schema of a queue of `item`s as a target argument: it crosses as a reference, and
 * the child gets a proxy to the owner's queue.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ProcessQueue } from "effect-multiprocessing"
 *
 * const Args = Schema.Struct({
 *   tasks: ProcessQueue.schema(Schema.String),
 *   // long tasks: strictly one at a time, to whoever asks first
 *   jobs: ProcessQueue.schema(Schema.String, { prefetch: 1 })
 * })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema = <A>(
  item: Schema.Codec<A, any, never, never>,
  options?: ProxyOptions
): Schema.Codec<ProcessQueue<A>, Reference<"ProcessQueue">> =>
  internal.schema(item, false, options) as Schema.Codec<ProcessQueue<A>, Reference<"ProcessQueue">>

/**
 * Puts an item, waiting while a bounded queue is full. With a `timeout`, fails with
 * `QueueFullError` if it stays full that long. An item that does not fit the Schema
 * fails with `ItemEncodeError`, one over the queue's `maxMessageBytes` with
 * `ItemTooLargeError`, and nothing is sent.
 *
 * @since 0.1.0
 * @category operations
 */
export const put: {
  <A>(item: A, options?: { readonly timeout?: Duration.Input | undefined }): (self: ProcessQueue<A>) => Effect.Effect<void, PutError>
  <A>(self: ProcessQueue<A>, item: A, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<void, PutError>
} = internal.put

/**
 * Puts an item if there is room now, else fails with `QueueFullError`.
 *
 * **Python** `Queue.put_nowait`.
 *
 * @since 0.1.0
 * @category operations
 */
export const putNowait: {
  <A>(item: A): (self: ProcessQueue<A>) => Effect.Effect<void, PutError>
  <A>(self: ProcessQueue<A>, item: A): Effect.Effect<void, PutError>
} = internal.putNowait

/**
 * Takes the next item, waiting while the queue is empty. With a `timeout`, fails with
 * `QueueEmptyError` if it stays empty that long. After {@link end}, once the queue is
 * drained, fails with `Done`.
 *
 * @since 0.1.0
 * @category operations
 */
export const get: {
  (options: { readonly timeout?: Duration.Input | undefined }): <A>(self: ProcessQueue<A>) => Effect.Effect<A, GetError>
  <A>(self: ProcessQueue<A>, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<A, GetError>
} = internal.get

/**
 * Takes the next item if there is one now, else fails with `QueueEmptyError`.
 *
 * **Python** `Queue.get_nowait`.
 *
 * @since 0.1.0
 * @category operations
 */
export const getNowait: <A>(self: ProcessQueue<A>) => Effect.Effect<A, GetError> = internal.getNowait

/**
 * The number of items waiting in the queue (not counting those handed out and not yet
 * acknowledged by a child).
 *
 * **Python** `Queue.qsize`.
 *
 * @since 0.1.0
 * @category getters
 */
export const size: <A>(self: ProcessQueue<A>) => Effect.Effect<number, QueueClosedError> = internal.size

/**
 * @since 0.1.0
 * @category getters
 */
export const isEmpty: <A>(self: ProcessQueue<A>) => Effect.Effect<boolean, QueueClosedError> = internal.isEmpty

/**
 * Whether a `put` would wait now (always `false` for an unbounded queue).
 *
 * @since 0.1.0
 * @category getters
 */
export const isFull: <A>(self: ProcessQueue<A>) => Effect.Effect<boolean, QueueClosedError> = internal.isFull

/**
 * Ends the queue: the built-in poison pill. Puts fail from now on; consumers take what
 * is left, then every `get` fails with `Done`.
 *
 * **Python** the `None` a producer puts once per consumer, and `Queue.close()`.
 *
 * @since 0.1.0
 * @category operations
 */
export const end: <A>(self: ProcessQueue<A>) => Effect.Effect<void, QueueClosedError> = internal.end

/**
 * Waits until the puts this process has made reached the owner, and fails with the error
 * of any the owner refused. Puts from a child to an unbounded queue are write-behind (as
 * in Python: encoded, and so checked, at once, then sent in batches), so an item the
 * owner refuses, because it does not fit the owner's Schema, is otherwise only reported
 * at this proxy's next operation. Nothing to wait for in the owner's own process, nor for
 * a bounded queue, whose puts wait for their slot.
 *
 * **Python** `Queue.close()` + `Queue.join_thread()`.
 *
 * @since 0.1.0
 * @category operations
 */
export const flush: <A>(self: ProcessQueue<A>) => Effect.Effect<void, PutError> = internal.flush

/**
 * Shuts the queue down at once: its items are dropped, and every waiter in every process
 * fails with `QueueClosedError`.
 *
 * @since 0.1.0
 * @category operations
 */
export const shutdown: <A>(self: ProcessQueue<A>) => Effect.Effect<void> = internal.shutdown
