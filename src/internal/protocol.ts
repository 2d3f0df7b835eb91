/**
 * The connection's own messages, as Schemas: calls on remote objects, their replies,
 * cancellations and settlements. A `Connection` classifies each message it reads by its
 * `_tag`, in one place: these are decoded and handled there; any other tag goes to the
 * handler that a layer above registered for it (the process lifecycle's messages in
 * lifecycleMessages.ts, a pool's `Pool`), decoded with that handler's Schema. Nothing
 * from the other process is trusted by shape.
 */
import * as Schema from "effect/Schema"

/**
 * Parsed JSON carried as it is, for the receiver to check with the Schema it belongs to (a
 * target's, a queue item's). Under `Schema.toCodecJson`, `Schema.Unknown` and
 * `Schema.Json` both walk the whole value on every decode and encode; the JSON codec
 * leaves `Schema.Any` as it is (Effect's source calls it the escape hatch), so it is not
 * walked. Typed `unknown`, not `any`.
 */
export const Payload: Schema.Codec<unknown> = Schema.Any

/**
 * A batch of payloads (a queue's items, put or taken many at once): checked to be an array
 * and carried as it is, each element checked by the Schema it belongs to where it is used.
 * `Schema.Array(Payload)` would copy the array on each decode and encode, and a declaration
 * without its own JSON form would be walked as JSON.
 */
export const Payloads: Schema.Codec<ReadonlyArray<unknown>> = Schema.declare(
  (u: unknown): u is ReadonlyArray<unknown> => Array.isArray(u),
  { expected: "an array", toCodecJson: () => undefined }
)

/**
 * Run `op` on the object `ref` that the other side serves. Answered by one `Reply` with the
 * same `id`, unless cancelled first.
 */
export const Call = Schema.TaggedStruct("Call", {
  id: Schema.Int,
  ref: Schema.String,
  op: Schema.String,
  /** Checked by the operation's own Schema where it is served. */
  input: Payload
})
export type Call = typeof Call.Type

/** The caller of `id` gave up (it was interrupted): stop serving it. */
export const Cancel = Schema.TaggedStruct("Cancel", { id: Schema.Int })

/**
 * How a call ended: `ok` with the operation's encoded success, `error` with its encoded
 * error, `gone` (no `value`) when the object no longer exists, `refused` with a message
 * when the call could not be served as sent (an unknown operation, an input that does not
 * fit the operation's Schema).
 */
export const ReplyStatus = Schema.Literals(["ok", "error", "gone", "refused"])
export type ReplyStatus = typeof ReplyStatus.Type

/**
 * The answer to a `Call`. `deliveries` are the ids of the values it hands over (queue
 * items) that the receiver must settle.
 */
export const Reply = Schema.TaggedStruct("Reply", {
  id: Schema.Int,
  status: ReplyStatus,
  /** Checked by the caller, with the operation's Schemas. */
  value: Payload,
  deliveries: Schema.Array(Schema.Int)
})
export type Reply = typeof Reply.Type

/**
 * What became of delivered values the owner must not lose (queue items), by delivery id:
 * `ack`, handed to a caller; `back`, not taken (the caller gave up), so the value goes
 * back where it came from.
 */
export const Settle = Schema.TaggedStruct("Settle", {
  ack: Schema.Array(Schema.Int),
  back: Schema.Array(Schema.Int)
})
export type Settle = typeof Settle.Type

/** Append acknowledgements to the file at `path` from now on (see ackFile.ts). */
export const AckFile = Schema.TaggedStruct("AckFile", { path: Schema.String })

export const Envelope = Schema.Union([Call, Cancel, Reply, Settle, AckFile])
export type Envelope = typeof Envelope.Type
