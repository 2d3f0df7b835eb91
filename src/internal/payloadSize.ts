/**
 * The size of a payload on the wire, measured before it is written: `maxMessageBytes`
 * refuses an oversized payload before any buffer is built for it. The measure walks the
 * encoded value (what `JSON.stringify` would write, binary parts by their byte length)
 * without building anything, and stops as soon as it passes the limit, so an oversized
 * payload costs no more than the walk up to the limit.
 */
import { constants } from "node:buffer"

/**
 * The default of `maxMessageBytes`: 64 MiB. A payload crosses as JSON text built in the
 * sender, sits in the socket's buffers, and is parsed in the receiver: its peak cost is a
 * few times its size, across two processes. 64 MiB keeps that in the hundreds of MB on
 * both sides, and is far above what a message between processes usually carries; larger
 * data is better passed by reference (a file, a path), or allowed explicitly.
 */
export const defaultMaxMessageBytes = 64 * 1024 * 1024

/**
 * The line and part limits of a channel whose payloads are held to an explicit
 * `maxMessageBytes`: the payload, and its envelope. With the default, the channel keeps its
 * own limits (the largest message a writer can make): a batch of a queue's items, each
 * under the limit, may be over it, and must not be refused unless the user said so.
 */
export const channelLimits = (maxMessageBytes: number | undefined) => {
  const envelope = 1024 * 1024
  return maxMessageBytes === undefined || maxMessageBytes === Infinity
    ? undefined
    : {
      lineBytes: Math.min(maxMessageBytes + envelope, 3 * constants.MAX_STRING_LENGTH),
      partBytes: maxMessageBytes + envelope
    }
}

/** How a child learns its limit before it reads anything: an argument of its bootstrap. */
export const maxMessageBytesFlag = "--max-message-bytes="

/** The limit given to this process by its parent, if one was given explicitly. */
export const fromArgv = (argv: ReadonlyArray<string>): number | undefined => {
  const flag = argv.find((arg) => arg.startsWith(maxMessageBytesFlag))
  const limit = flag === undefined ? NaN : Number(flag.slice(maxMessageBytesFlag.length))
  return limit > 0 ? limit : undefined
}

/**
 * The size of `value` if it is over `limit`, else `undefined`. A number, boolean, `null` or
 * string whose longest form fits is passed without a walk: a pool checks each item of a
 * `map`, and that must cost nothing for numbers and short strings.
 */
export const over = (value: unknown, limit: number): number | undefined => {
  if (limit === Infinity) return undefined
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    if (limit >= maxNumberBytes) return undefined
  } else if (typeof value === "string" && maxStringBytes(value) <= limit) return undefined
  const size = measure(value, limit)
  return size > limit ? size : undefined
}

/** Whether every one of `values` is within `limit`: a plain loop, numbers skipped, for a chunk's many items. */
export const allWithin = (values: ReadonlyArray<unknown>, limit: number): boolean => {
  if (limit === Infinity) return true
  const numbersFit = limit >= maxNumberBytes
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    if (typeof value === "number" && numbersFit) continue
    if (over(value, limit) !== undefined) return false
  }
  return true
}

/** Nesting deeper than this is not walked further: `JSON.stringify` itself reports what it cannot write (a cycle). */
const maxDepth = 1000

/** The most bytes a number (or `true`, `false`, `null`) takes in JSON. */
export const maxNumberBytes = 24

/** The most bytes a string takes in JSON as measured here: its quotes and three per UTF-16 unit. */
export const maxStringBytes = (s: string): number => 2 + 3 * s.length

/** Digits of a number in JSON; a fraction or an exponent is counted at its longest. */
const numberBytes = (n: number): number =>
  Number.isSafeInteger(n) ? (n < 0 ? 2 : 1) + (n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)))) : maxNumberBytes

/**
 * The bytes `value` takes as JSON (strings by their UTF-8 length, without escapes), or a
 * number over `limit` as soon as it is known to be over.
 */
export const measure = (value: unknown, limit: number): number => {
  let total = 0
  const walk = (value: unknown, depth: number): void => {
    if (total > limit) return
    switch (typeof value) {
      case "string":
        // Counted without a copy: no buffer is built to measure it. A string longer than
        // what is left is over whatever its bytes are (at least one per UTF-16 unit).
        total += 2 + (value.length > limit - total ? value.length : Buffer.byteLength(value, "utf8"))
        return
      case "number":
        total += numberBytes(value)
        return
      case "boolean":
        total += value ? 4 : 5
        return
      case "object": {
        if (value === null) {
          total += 4
          return
        }
        if (depth > maxDepth) return
        if (ArrayBuffer.isView(value)) {
          total += value.byteLength
          return
        }
        if (Array.isArray(value)) {
          // Brackets and commas.
          total += Math.max(2, 1 + value.length)
          for (let i = 0; i < value.length && total <= limit; i++) walk(value[i], depth + 1)
          return
        }
        // Braces and commas: one each per key (`"key":value,`), and one more.
        total += 1
        let keys = 0
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue
          const field = (value as Record<string, unknown>)[key]
          if (field === undefined) continue
          keys++
          total += Buffer.byteLength(key, "utf8") + 4
          walk(field, depth + 1)
          if (total > limit) return
        }
        if (keys === 0) total += 1
        return
      }
      default:
        return
    }
  }
  walk(value, 0)
  return total
}
