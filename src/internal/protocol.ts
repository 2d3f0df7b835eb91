/**
 * Every message that crosses a channel, as Schemas. A `Connection` classifies each message
 * it reads by its `_tag`, in one place: the connection's own messages (calls on remote
 * objects, their replies, cancellations and settlements) are decoded and handled there;
 * any other tag goes to the handler that the owning layer registered for it (the process
 * lifecycle's `Start`, `Ready`, `Log`, `Result`, `Failed`; a pool's `Pool`), decoded with
 * that handler's Schema. Nothing from the other process is trusted by shape.
 */
import * as Schema from "effect/Schema"
import { ProcessErrorReason } from "../ProcessError.ts"

/**
 * Parsed JSON carried as it is, for the receiver to check with the Schema it belongs to (a
 * target's, a queue item's). Under `Schema.toCodecJson`, `Schema.Unknown` and
 * `Schema.Json` both walk the whole value on every decode and encode; the JSON codec
 * leaves `Schema.Any` as it is (Effect's source calls it the escape hatch), so it is not
 * walked. Typed `unknown`, not `any`.
 */
export const Payload: Schema.Codec<unknown> = Schema.Any

// ---------------------------------------------------------------------------
// the connection's own messages (either way)

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

// ---------------------------------------------------------------------------
// the process lifecycle

const LogLevel = Schema.Literals(["All", "Fatal", "Error", "Warn", "Info", "Debug", "Trace", "None"])
const Severity = Schema.Literals(["Fatal", "Error", "Warn", "Info", "Debug", "Trace"])

/** Parent → child, once, first: what to run and who the child is. */
export const Start = Schema.TaggedStruct("Start", {
  module: Schema.String,
  target: Schema.String,
  name: Schema.String,
  identity: Schema.Array(Schema.Int),
  daemon: Schema.Boolean,
  /** Encoded with the target's Schema (which decodes it in the child). */
  args: Payload,
  parentName: Schema.String,
  parentPid: Schema.Int,
  logLevel: LogLevel,
  lifecycleLogs: Schema.Boolean
})
export type Start = typeof Start.Type

/** Child → parent: the target was found and its arguments decoded; it runs now. */
export const Ready = Schema.TaggedStruct("Ready", {})

/** Child → parent: one log entry, to be re-emitted by the parent's logger. */
export const Log = Schema.TaggedStruct("Log", {
  level: Severity,
  message: Schema.Array(Schema.Json),
  annotations: Schema.Record(Schema.String, Schema.Json),
  spans: Schema.Array(Schema.Tuple([Schema.String, Schema.Number])),
  cause: Schema.optional(Schema.String)
})
export type Log = typeof Log.Type

/** Child → parent: the target's exit, encoded with the target's own Schemas (and its typed error's stack). */
export const Result = Schema.TaggedStruct("Result", {
  exit: Payload,
  stack: Schema.optionalKey(Schema.String)
})
export type Result = typeof Result.Type

/** Child → parent: the child cannot produce a result, and says why. */
export const Failed = Schema.TaggedStruct("Failed", {
  reason: ProcessErrorReason
})
export type Failed = typeof Failed.Type
