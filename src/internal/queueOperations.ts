/**
 * A queue's operations as they cross processes: the table its owner serves and its proxies
 * call (see remoteObject.ts).
 */
import * as Cause from "effect/Cause"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import {
  ItemDecodeError,
  QueueClosedError,
  QueueEmptyError,
  QueueFullError,
  TaskDoneError
} from "../ProcessQueueError.ts"
import { Payload, Payloads } from "./protocol.ts"
import { noWait } from "./queueHandle.ts"
import type * as Store from "./queueStore.ts"
import type * as RemoteObject from "./remoteObject.ts"

const Done = Schema.TaggedStruct("Done", {}).pipe(
  Schema.decodeTo(
    Schema.declare(Cause.isDone),
    SchemaTransformation.transform({ decode: () => Cause.Done(), encode: () => ({ _tag: "Done" as const }) })
  )
)

/** How long a call waits: `null`, not at all; else blocking, with an optional timeout in ms. */
export const Wait = Schema.NullOr(Schema.Struct({ timeout: Schema.NullOr(Schema.Number) }))
export const waitFromWire = (wait: typeof Wait.Type): Store.Wait =>
  wait === null ? noWait : { _tag: "Block", timeout: wait.timeout ?? undefined }
export const waitToWire = (wait: Store.Wait): typeof Wait.Type => wait._tag === "NoWait" ? null : { timeout: wait.timeout ?? null }

/**
 * A queue's operations, as they cross processes. Items are carried as the JSON the item
 * Schema made (`Payload`), and checked with that Schema where they are used: the owner
 * validates what is put, the taker decodes what it takes.
 */
export const operations = {
  put: {
    input: Schema.Struct({ item: Payload, wait: Wait }),
    success: Schema.Null,
    error: Schema.Union([QueueFullError, QueueClosedError, ItemDecodeError])
  },
  /** A child's write-behind batch (unbounded queues only). */
  putMany: {
    input: Schema.Struct({ items: Payloads }),
    success: Schema.Null,
    error: Schema.Union([QueueClosedError, ItemDecodeError])
  },
  take: { input: Wait, success: Payload, error: Schema.Union([Done, QueueEmptyError, QueueClosedError]) },
  /**
   * A held take (`JoinableQueue.take`): the item stays the owner's until its delivery is
   * settled, `ack` (which marks its task done) when the taker's scope ends well, `back`
   * otherwise, or when the taker's process is gone.
   */
  takeHeld: { input: Wait, success: Payload, error: Schema.Union([Done, QueueEmptyError, QueueClosedError]) },
  /** A prefetching consumer: the first item as a take, then whatever else is there now, up to `max`. */
  takeMany: {
    input: Schema.Struct({ max: Schema.Int, wait: Wait }),
    success: Payloads,
    error: Schema.Union([Done, QueueEmptyError, QueueClosedError])
  },
  size: { input: Schema.Null, success: Schema.Number, error: QueueClosedError },
  isFull: { input: Schema.Null, success: Schema.Boolean, error: QueueClosedError },
  end: { input: Schema.Null, success: Schema.Null, error: QueueClosedError },
  shutdown: { input: Schema.Null, success: Schema.Null, error: Schema.Never },
  taskDone: {
    input: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThan(0)) }),
    success: Schema.Null,
    error: Schema.Union([TaskDoneError, QueueClosedError])
  },
  join: { input: Schema.Null, success: Schema.Null, error: QueueClosedError }
} satisfies RemoteObject.Table

export const gone = () => new QueueClosedError({ message: "the queue is gone: its owner process or scope has ended" })

