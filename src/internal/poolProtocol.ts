/**
 * What a pool and its workers push to each other (inside `Push` messages), as Schemas.
 *
 * Arguments and results are carried as they are: they are the JSON the target's own
 * Schemas encoded, and the other side decodes them with those Schemas, so walking them
 * here as well would only check the same values twice. A chunk's arguments or results
 * that are many numbers travel as binary parts of the message (packedNumbers.ts).
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { DecodeError, EncodeError, PayloadTooLargeError, SpawnError, UncaughtError } from "../ProcessError.ts"
import * as Channel from "./channel.ts"
import * as PackedNumbers from "./packedNumbers.ts"
import { Payload } from "./protocol.ts"

/** Why an item has no exit: its target could not be loaded, or a payload did not fit, or it died. */
export const TaskFailure = Schema.Union([SpawnError, EncodeError, DecodeError, UncaughtError, PayloadTooLargeError])
export type TaskFailure = typeof TaskFailure.Type

/** What a worker process is started with. */
export type WorkerArgs = typeof WorkerArgs.Type
export const WorkerArgs = Schema.Struct({
  initializer: Schema.NullOr(Schema.Struct({ module: Schema.String, target: Schema.String, args: Schema.Json })),
  /** The pool's `maxMessageBytes` for a result or typed error; absent: none. */
  maxMessageBytes: Schema.optional(Schema.Number)
})

/** Encoded values, each checked by the target's own Schemas. */
const Encoded = Schema.Array(Payload)

/** A target, by module and name, under the number the pool's chunks name it by from now on. */
export const TargetRef = Schema.Struct({ ref: Schema.Int, module: Schema.String, name: Schema.String })
export type TargetRef = typeof TargetRef.Type

/** Items of one target, run one after the other in a worker and answered together. */
export const Chunk = Schema.Struct({
  id: Schema.Int,
  target: Schema.Int,
  args: Encoded
})
export type Chunk = typeof Chunk.Type

/** Pool → worker. A `Run` first names the targets its chunks use for the first time. */
export const PoolMessage = Schema.Union([
  Schema.TaggedStruct("Run", { targets: Schema.Array(TargetRef), chunks: Schema.Array(Chunk) }),
  Schema.TaggedStruct("Cancel", { id: Schema.Int })
])
export type PoolMessage = typeof PoolMessage.Type

/** One item's outcome: its exit encoded with the target's Schemas, or why it has none. */
export const ItemResult = Schema.Union([
  // `stack`: the typed error's, where it was made (its Schema does not carry it).
  Schema.Struct({ exit: Payload, stack: Schema.optionalKey(Schema.String) }),
  Schema.Struct({ failure: TaskFailure })
])
export type ItemResult = typeof ItemResult.Type

/**
 * A chunk's outcome: `values` when every item succeeded (each encoded with the target's
 * success Schema: the common case, and the cheapest), else one `ItemResult` per item, or
 * `cancelled` (no items) once a cancelled chunk has stopped. `ms`: how long it ran.
 */
export const ChunkResult = Schema.Struct({
  id: Schema.Int,
  ms: Schema.Number,
  values: Schema.optionalKey(Encoded),
  items: Schema.optionalKey(Schema.Array(ItemResult)),
  cancelled: Schema.optionalKey(Schema.Boolean)
})
export type ChunkResult = typeof ChunkResult.Type

/**
 * Worker → pool. `Idle`: initialized, ready for work. `Started`: it may have begun the
 * chunks sent to it up to `through` (see `Worker.claimed` in poolState.ts).
 */
export const WorkerMessage = Schema.Union([
  Schema.TaggedStruct("Results", { chunks: Schema.Array(ChunkResult) }),
  Schema.TaggedStruct("Started", { through: Schema.Int }),
  Schema.TaggedStruct("Idle", {})
])
export type WorkerMessage = typeof WorkerMessage.Type

const poolCodec = Schema.toCodecJson(PoolMessage)
const workerCodec = Schema.toCodecJson(WorkerMessage)
const decodePoolMessageSchema = Schema.decodeUnknownResult(poolCodec)
const encodePoolMessageSchema = Schema.encodeUnknownSync(poolCodec) as (message: PoolMessage) => Schema.Json
const decodeWorkerMessageSchema = Schema.decodeUnknownResult(workerCodec)
const encodeWorkerMessageSchema = Schema.encodeUnknownSync(workerCodec) as (message: WorkerMessage) => Schema.Json

// The hot messages (a `Run`, and `Results` whose chunks all succeeded) hold only numbers,
// strings and values already encoded by the targets' Schemas: they are their own JSON, and
// a hand check of their shape replaces a Schema walk, which costs more than a trivial
// task's own work (see BENCHMARKS-pool.md). Anything else (a `Cancel`, failures to encode
// as tagged errors) goes through the Schemas.

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const isPlainChunk = (u: unknown): boolean =>
  isObject(u) && Number.isInteger(u.id) && Number.isInteger(u.target) && Array.isArray(u.args)

const isPlainRun = (u: unknown): u is PoolMessage =>
  isObject(u) && u._tag === "Run" && Array.isArray(u.targets) && u.targets.length === 0 &&
  Array.isArray(u.chunks) && u.chunks.every(isPlainChunk)

const isPlainChunkResult = (u: unknown): boolean =>
  isObject(u) && Number.isInteger(u.id) && typeof u.ms === "number" && u.items === undefined &&
  (Array.isArray(u.values) ? u.cancelled === undefined : u.values === undefined && u.cancelled === true)

const isPlainResults = (u: unknown): u is WorkerMessage =>
  isObject(u) && u._tag === "Results" && Array.isArray(u.chunks) && u.chunks.every(isPlainChunkResult)

const isStarted = (u: unknown): u is WorkerMessage =>
  isObject(u) && u._tag === "Started" && Number.isInteger(u.through) && Object.keys(u).length === 2

// Chunks' arguments and results that are numbers travel in binary (see packedNumbers.ts):
// a binary part of the message, named in the JSON by its index, `{ "f64": 0 }`. They are
// packed once the message is JSON, and unpacked before it is checked.

/** A message as the channel carries it: JSON, and the binary parts it names. */
export interface Wire {
  readonly json: Schema.Json
  readonly binary: Channel.Binary
}

/** `json` with the `key` array of each of its chunks packed (the chunks are copied, not changed). */
const packChunks = <M extends { readonly chunks: ReadonlyArray<object> }>(json: M, key: "args" | "values"): Wire => {
  let chunks: Array<object> | undefined
  const binary: Array<Uint8Array> = []
  json.chunks.forEach((chunk, i) => {
    const values = (chunk as Record<string, unknown>)[key]
    if (!Array.isArray(values)) return
    const packed = PackedNumbers.pack(values)
    if (packed === undefined) return
    chunks ??= json.chunks.slice()
    chunks[i] = { ...chunk, [key]: { [packed.kind]: binary.push(packed.bytes) - 1 } }
  })
  return { json: (chunks === undefined ? json : { ...json, chunks }) as unknown as Schema.Json, binary }
}

/** The array a packed value names, if it is one (anything malformed is left to the checks). */
const unpacked = (u: unknown, binary: Channel.Binary): Array<number> | undefined => {
  if (!isObject(u) || Array.isArray(u)) return undefined
  const kind = "i32" in u ? "i32" : "f64"
  const index = u[kind]
  const bytes = typeof index === "number" ? binary[index] : undefined
  return bytes === undefined ? undefined : PackedNumbers.unpack(kind, bytes)
}

/** Unpacks, in place, the `key` of each chunk of a message just parsed. */
const unpackChunks = (u: unknown, key: "args" | "values", binary: Channel.Binary): void => {
  if (binary.length === 0 || !isObject(u) || !Array.isArray(u.chunks)) return
  for (const chunk of u.chunks) {
    if (!isObject(chunk)) continue
    // Only a pack is replaced: a key left out must stay out (an optional key set to `undefined` is refused).
    const values = unpacked(chunk[key], binary)
    if (values !== undefined) chunk[key] = values
  }
}

export const encodePoolMessage = (message: PoolMessage): Wire => {
  if (message._tag === "Cancel") return { json: encodePoolMessageSchema(message), binary: Channel.noBinary }
  return packChunks(message.targets.length === 0 ? message : encodePoolMessageSchema(message) as unknown as typeof message, "args")
}

export const decodePoolMessage = (u: unknown, binary: Channel.Binary): Result.Result<PoolMessage, Schema.SchemaError> => {
  unpackChunks(u, "args", binary)
  return isPlainRun(u) ? Result.succeed(u) : decodePoolMessageSchema(u)
}

export const encodeWorkerMessage = (message: WorkerMessage): Wire => {
  if (message._tag === "Started") return { json: message, binary: Channel.noBinary }
  if (message._tag === "Idle") return { json: encodeWorkerMessageSchema(message), binary: Channel.noBinary }
  return packChunks(isPlainResults(message) ? message : encodeWorkerMessageSchema(message) as unknown as typeof message, "values")
}

export const decodeWorkerMessage = (u: unknown, binary: Channel.Binary): Result.Result<WorkerMessage, Schema.SchemaError> => {
  unpackChunks(u, "values", binary)
  return isPlainResults(u) || isStarted(u) ? Result.succeed(u) : decodeWorkerMessageSchema(u)
}
