/**
 * What a pool and its workers push to each other (inside `Push` messages), as Schemas.
 */
import * as Schema from "effect/Schema"
import { DecodeError, EncodeError, SpawnError, UncaughtError } from "../ProcessError.ts"

/** Why an item has no exit: its target could not be loaded, or a payload did not fit, or it died. */
export const TaskFailure = Schema.Union([SpawnError, EncodeError, DecodeError, UncaughtError])
export type TaskFailure = typeof TaskFailure.Type

/** What a worker process is started with. */
export type WorkerArgs = typeof WorkerArgs.Type
export const WorkerArgs = Schema.Struct({
  initializer: Schema.NullOr(Schema.Struct({ module: Schema.String, target: Schema.String, args: Schema.Json }))
})

/** Items of one target, run one after the other in a worker and answered together. */
export const Chunk = Schema.Struct({
  id: Schema.Int,
  module: Schema.String,
  target: Schema.String,
  args: Schema.Array(Schema.Json)
})
export type Chunk = typeof Chunk.Type

/** Pool → worker. */
export const PoolMessage = Schema.Union([
  Schema.TaggedStruct("Run", { chunks: Schema.Array(Chunk) }),
  Schema.TaggedStruct("Cancel", { id: Schema.Int })
])
export type PoolMessage = typeof PoolMessage.Type

/** One item's outcome: its exit encoded with the target's Schemas, or why it has none. */
export const ItemResult = Schema.Union([
  Schema.Struct({ exit: Schema.Json }),
  Schema.Struct({ failure: TaskFailure })
])
export type ItemResult = typeof ItemResult.Type

/** A chunk's items, or `cancelled` (no items) once a cancelled chunk has stopped. */
export const ChunkResult = Schema.Struct({
  id: Schema.Int,
  items: Schema.Array(ItemResult),
  cancelled: Schema.optionalKey(Schema.Boolean)
})
export type ChunkResult = typeof ChunkResult.Type

/** Worker → pool. `Idle`: initialized, ready for work. */
export const WorkerMessage = Schema.Union([
  Schema.TaggedStruct("Results", { chunks: Schema.Array(ChunkResult) }),
  Schema.TaggedStruct("Idle", {})
])
export type WorkerMessage = typeof WorkerMessage.Type

const poolCodec = Schema.toCodecJson(PoolMessage)
const workerCodec = Schema.toCodecJson(WorkerMessage)

export const encodePoolMessage = Schema.encodeUnknownSync(poolCodec) as (message: PoolMessage) => Schema.Json
export const decodePoolMessage = Schema.decodeUnknownResult(poolCodec)
export const encodeWorkerMessage = Schema.encodeUnknownSync(workerCodec) as (message: WorkerMessage) => Schema.Json
export const decodeWorkerMessage = Schema.decodeUnknownResult(workerCodec)
