/**
 * A worker's answer for a chunk, decoded with its target's Schemas into what the chunk's
 * caller gets.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import { DecodeError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import { errorMessage, uncaught, withRemoteStack } from "./errors.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import { allFail, type ChunkOutcome, type ItemExit, type Job, poolError, withExits } from "./poolState.ts"
import * as internalTarget from "./target.ts"

/** A chunk's outcome, from what its worker answered. */
export const chunkOutcome = (job: Job, chunk: PoolProtocol.ChunkResult): ChunkOutcome => {
  const count = job.args.length
  if (chunk.values !== undefined && chunk.values.length === count) {
    const codecs = internalTarget.codecs(job.target)
    // Values that are their own JSON need no decoding.
    if (codecs.allPlainSuccess(chunk.values)) {
      return { _tag: "Values", values: chunk.values }
    }
    const decoded = chunk.values.map((value) => codecs.decodeSuccess(value))
    if (decoded.every(Exit.isSuccess)) return { _tag: "Values", values: decoded.map((exit) => exit.value) }
    return withExits(decoded.map((exit): ItemExit => {
      if (Exit.isSuccess(exit)) return exit
      const message = errorMessage(Cause.squash(exit.cause))
      return Exit.fail(poolError(new DecodeError({ payload: "success", message })))
    }))
  }
  if (chunk.items !== undefined && chunk.items.length === count) {
    return withExits(chunk.items.map((item) => itemExit(job.target, item)))
  }
  return allFail(count, poolError(new DecodeError({ payload: "message", message: `chunk ${chunk.id}: no outcome for each item` })))
}

/** An item's outcome as the caller sees it: the task's own exit, or a ProcessPoolError. */
const itemExit = (target: Target.Any, item: PoolProtocol.ItemResult): ItemExit => {
  if ("failure" in item) return Exit.fail(poolError(item.failure))
  const decoded = internalTarget.codecs(target).decodeExit(item.exit)
  if (Exit.isFailure(decoded)) {
    return Exit.fail(poolError(new DecodeError({ payload: "success", message: errorMessage(Cause.squash(decoded.cause)) })))
  }
  const exit = decoded.value
  if (Exit.isFailure(exit) && !Cause.hasFails(exit.cause) && Cause.hasDies(exit.cause)) {
    return Exit.fail(poolError(uncaught(Cause.squash(exit.cause))))
  }
  return withRemoteStack(exit, "stack" in item ? item.stack : undefined)
}
