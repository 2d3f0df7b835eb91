/**
 * Every message that crosses the channel, as Schemas. Both sides decode what they
 * receive; nothing from the other process is trusted by shape.
 */
import * as Schema from "effect/Schema"
import { ProcessErrorReason } from "../ProcessError.ts"

/**
 * Parsed JSON carried as it is, for the receiver to check with the Schema it belongs to (a
 * target's, a queue item's). Under `Schema.toCodecJson`, `Schema.Unknown` and
 * `Schema.Json` both walk the whole value on every decode and encode (~0.5 µs per object
 * in it: a pool's chunk of 10k items cost 5 ms per message, each way). The JSON codec
 * leaves `Schema.Any` as it is (Effect's source calls it the escape hatch), so it is not
 * walked. Typed `unknown`, not `any`.
 */
export const Payload: Schema.Codec<unknown> = Schema.Any

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

/** Child → parent: the child cannot produce a result, and says why. */
export const Failed = Schema.TaggedStruct("Failed", {
  reason: ProcessErrorReason
})

/**
 * Child → parent: run `op` on the object `ref` that the parent (or its own parent, through
 * it) serves. Answered by one `Reply` with the same `id`, unless cancelled first.
 */
export const Call = Schema.TaggedStruct("Call", {
  id: Schema.Int,
  ref: Schema.String,
  op: Schema.String,
  /** Checked by the op that takes it (a batch of puts can be large). */
  input: Payload
})
export type Call = typeof Call.Type

/** Child → parent: the caller of `id` gave up (it was interrupted); stop serving it. */
export const Cancel = Schema.TaggedStruct("Cancel", { id: Schema.Int })

/**
 * Child → parent: what became of delivered values the parent must not lose (queue items),
 * by delivery id: `ack`, handed to a caller; `back`, not taken (the caller gave up), so
 * the value goes back where it came from.
 */
export const Settle = Schema.TaggedStruct("Settle", {
  ack: Schema.Array(Schema.Int),
  back: Schema.Array(Schema.Int)
})
export type Settle = typeof Settle.Type

const isIntArray = (u: unknown): u is ReadonlyArray<number> => Array.isArray(u) && u.every(Number.isInteger)

/**
 * The message as a `Settle` if it is one, checked by hand: a prefetching consumer sends one
 * per item it takes, so the parent handles them as they are read, without the Schema walk
 * or the reader's queue.
 */
export const asSettle = (u: unknown): Settle | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const { _tag, ack, back } = u as { readonly _tag?: unknown; readonly ack?: unknown; readonly back?: unknown }
  return _tag === "Settle" && isIntArray(ack) && isIntArray(back) ? { _tag, ack, back } : undefined
}

/**
 * Parent → child: the answer to a `Call`. `value` is the op's result when `ok`, its
 * encoded error otherwise, and `null` with `ok: false` when the object no longer exists.
 * `deliveries` are the ids of the values it hands over (queue items) that must be settled.
 */
export const Reply = Schema.TaggedStruct("Reply", {
  id: Schema.Int,
  ok: Schema.Boolean,
  /** Checked by the caller (prefetched items can be many). */
  value: Payload,
  deliveries: Schema.Array(Schema.Int)
})
export type Reply = typeof Reply.Type

/**
 * Either way: a message for whatever the receiving side installed to handle pushes (a
 * pool's worker loop, the pool that feeds it). Its payload is decoded by that handler, so
 * it is not walked here (it is parsed JSON anyway; a pool's batch can be large).
 */
export const Push = Schema.TaggedStruct("Push", { payload: Payload })
export type Push = typeof Push.Type

/**
 * Parent → child: append acknowledgements to the file at `path` from now on (the current
 * one has grown; see ackFile.ts).
 */
export const AckFile = Schema.TaggedStruct("AckFile", { path: Schema.String })

export const ParentMessage = Schema.Union([Start, Reply, Push, AckFile])
export type ParentMessage = typeof ParentMessage.Type

export const ChildMessage = Schema.Union([Ready, Log, Result, Failed, Call, Cancel, Settle, Push])
export type ChildMessage = typeof ChildMessage.Type

const parentCodec = Schema.toCodecJson(ParentMessage)
const childCodec = Schema.toCodecJson(ChildMessage)

export const decodeParentMessage = Schema.decodeUnknownResult(parentCodec)
export const encodeParentMessage = Schema.encodeUnknownSync(parentCodec)
export const decodeChildMessage = Schema.decodeUnknownResult(childCodec)
export const encodeChildMessage = Schema.encodeUnknownSync(childCodec)
