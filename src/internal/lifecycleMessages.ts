/**
 * What a parent and its child say of the child's lifecycle, as Schemas: registered on the
 * child's connection by each side (processLifecycle.ts in the parent, child.ts in the
 * child).
 */
import * as Schema from "effect/Schema"
import { ProcessErrorReason } from "../ProcessError.ts"
import { Payload } from "./protocol.ts"

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

/**
 * Child → parent: the target was found and its arguments decoded; it runs now. With the
 * child's V8 heap limit, in bytes, for the report of an out-of-memory death.
 */
export const Ready = Schema.TaggedStruct("Ready", {
  heapLimit: Schema.optionalKey(Schema.Number)
})

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
