/**
 * The child's logger: every log entry goes to the parent over the channel, where the
 * parent's own logger emits it, annotated with this process's name and pid.
 */
import * as Cause from "effect/Cause"
import * as Formatter from "effect/Formatter"
import { toJson } from "effect/Inspectable"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import type * as Connection from "./connection.ts"
import * as Messages from "./lifecycleMessages.ts"

export const encodeLog = Schema.encodeSync(Schema.toCodecJson(Messages.Log))

/** A value as JSON, or its printed form when it has none (functions, cycles, symbols). */
export const toJsonSafe = (u: unknown): Schema.Json => {
  if (typeof u === "string" || typeof u === "boolean" || u === null) return u
  try {
    const text = JSON.stringify(toJson(u))
    return text === undefined ? Formatter.format(u) : JSON.parse(text)
  } catch {
    return Formatter.format(u)
  }
}

export const make = (connection: Connection.Connection): Logger.Logger<unknown, void> =>
  Logger.make((options) => {
    const annotations: Record<string, Schema.Json> = {}
    for (const [key, value] of Object.entries(options.fiber.getRef(References.CurrentLogAnnotations))) {
      annotations[key] = toJsonSafe(value)
    }
    const message = Array.isArray(options.message) ? options.message : [options.message]
    connection.send(encodeLog({
      _tag: "Log",
      level: options.logLevel === "All" || options.logLevel === "None" ? "Info" : options.logLevel,
      message: message.map(toJsonSafe),
      annotations,
      spans: options.fiber.getRef(References.CurrentLogSpans),
      ...(options.cause.reasons.length > 0 ? { cause: Cause.pretty(options.cause) } : {})
    }))
  })
