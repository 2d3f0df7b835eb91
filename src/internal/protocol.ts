/**
 * Every message that crosses the channel, as Schemas. Both sides decode what they
 * receive; nothing from the other process is trusted by shape.
 */
import * as Schema from "effect/Schema"
import { ProcessErrorReason } from "../ProcessError.ts"

const LogLevel = Schema.Literals(["All", "Fatal", "Error", "Warn", "Info", "Debug", "Trace", "None"])
const Severity = Schema.Literals(["Fatal", "Error", "Warn", "Info", "Debug", "Trace"])

/** Parent → child, once, first: what to run and who the child is. */
export const Start = Schema.TaggedStruct("Start", {
  module: Schema.String,
  target: Schema.String,
  name: Schema.String,
  identity: Schema.Array(Schema.Int),
  daemon: Schema.Boolean,
  args: Schema.Json,
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

/** Child → parent: the target's exit, encoded with the target's own Schemas. */
export const Result = Schema.TaggedStruct("Result", {
  exit: Schema.Json
})

/** Child → parent: the child cannot produce a result, and says why. */
export const Failed = Schema.TaggedStruct("Failed", {
  reason: ProcessErrorReason
})

export const ParentMessage = Schema.Union([Start])
export type ParentMessage = typeof ParentMessage.Type

export const ChildMessage = Schema.Union([Ready, Log, Result, Failed])
export type ChildMessage = typeof ChildMessage.Type

const parentCodec = Schema.toCodecJson(ParentMessage)
const childCodec = Schema.toCodecJson(ChildMessage)

export const decodeParentMessage = Schema.decodeUnknownResult(parentCodec)
export const encodeParentMessage = Schema.encodeUnknownSync(parentCodec)
export const decodeChildMessage = Schema.decodeUnknownResult(childCodec)
export const encodeChildMessage = Schema.encodeUnknownSync(childCodec)
