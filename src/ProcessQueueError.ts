/**
 * The errors of {@link ProcessQueue} and {@link JoinableQueue}. Each crosses processes:
 * an operation in a child fails with the same error as in the owner.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * `put` timed out, or `putNowait` found the queue full.
 *
 * **Python** `queue.Full`.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueFullError extends Schema.TaggedError<QueueFullError>()("QueueFullError", {
  message: Schema.String
}) {}

/**
 * `get` timed out, or `getNowait` found the queue empty.
 *
 * **Python** `queue.Empty`.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueEmptyError extends Schema.TaggedError<QueueEmptyError>()("QueueEmptyError", {
  message: Schema.String
}) {}

/**
 * The queue can no longer be used: it was shut down, the scope that owns it ended, or
 * the process that owns it is gone. Also what `put` gives after `end`.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueClosedError extends Schema.TaggedError<QueueClosedError>()("QueueClosedError", {
  message: Schema.String
}) {}

/**
 * `taskDone` was called more times than items were put.
 *
 * **Python** `ValueError: task_done() called too many times`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskDoneError extends Schema.TaggedError<TaskDoneError>()("TaskDoneError", {
  message: Schema.String
}) {}

/**
 * An item did not fit the queue's item Schema where it was put: nothing was sent.
 * Values that cannot be carried at all (functions, symbols, cycles) end here too.
 *
 * **Python** a `put` of an unpicklable object is silently dropped by the feeder thread.
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemEncodeError extends Schema.TaggedError<ItemEncodeError>()("ItemEncodeError", {
  message: Schema.String
}) {}

/**
 * An item whose JSON is larger than the queue's `maxMessageBytes`: refused by `put`
 * where it was encoded, before anything was sent. `size` is at least its size in bytes
 * (the count stops past the limit).
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemTooLargeError extends Schema.TaggedError<ItemTooLargeError>()("ItemTooLargeError", {
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `the item takes at least ${this.size} bytes, over the queue's limit of ${this.limit} (maxMessageBytes)`
  }
}

/**
 * An item that arrived did not fit the queue's item Schema (a producer with another
 * idea of the Schema, say). It was refused where it arrived.
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemDecodeError extends Schema.TaggedError<ItemDecodeError>()("ItemDecodeError", {
  message: Schema.String
}) {}

/**
 * Every error a queue operation can fail with, as one Schema (for the wire).
 *
 * @since 0.1.0
 * @category schemas
 */
export const QueueError = Schema.Union([
  QueueFullError,
  QueueEmptyError,
  QueueClosedError,
  TaskDoneError,
  ItemEncodeError,
  ItemDecodeError,
  ItemTooLargeError
])

/**
 * @since 0.1.0
 * @category models
 */
export type QueueError = typeof QueueError.Type
