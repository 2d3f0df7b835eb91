/**
 * The pool's maps: items in chunks, every chunk submitted at once (the queue's bound
 * applies), progress reported as chunks complete, and the results joined; and `stream`,
 * which runs the elements of a stream one task each.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Stream from "effect/Stream"
import type * as ProcessPool from "../ProcessPool.ts"
import type { ProcessPoolError } from "../ProcessPoolError.ts"
import type * as Target from "../Target.ts"
import { isPoolFirst, run, submit } from "./poolCalls.ts"
import { invalidOption } from "./poolSettings.ts"
import { type ChunkOutcome, exitsOf, type ItemExit, type PoolImpl } from "./poolState.ts"

/**
 * A map's items in chunks: `chunkSize` each, or Python's default, `ceil(n / (4 × size))`.
 * An error thrown by the iterable surfaces as itself (a defect), before any task runs.
 */
const chunksOf = <X>(
  self: ProcessPool.ProcessPool,
  items: Iterable<X>,
  chunkSize: number | undefined
): Effect.Effect<Array<Array<X>>, ProcessPoolError> =>
  Effect.suspend(() => {
    const all = Array.from(items)
    const size = chunkSize ?? Math.max(1, Math.ceil(all.length / (4 * self.size)))
    const invalid = invalidOption("chunkSize", size)
    if (invalid !== undefined) return Effect.fail(invalid)
    const chunks: Array<Array<X>> = []
    for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size))
    return Effect.succeed(chunks)
  })

/**
 * Runs every item in chunks, all submitted at once, reporting progress, and hands each
 * chunk's outcome to `each` (which may fail the map), with the chunk's index.
 */
const runChunks = (
  self: ProcessPool.ProcessPool,
  target: Target.Any,
  items: Iterable<unknown>,
  options: ProcessPool.MapOptions | undefined,
  each: (outcome: ChunkOutcome, chunk: number) => Effect.Effect<void, unknown>
): Effect.Effect<void, unknown> =>
  Effect.flatMap(chunksOf(self, items, options?.chunkSize), (chunks) => {
    const total = chunks.reduce((n, chunk) => n + chunk.length, 0)
    let completed = 0
    return Effect.forEach(
      chunks,
      (chunk, i) =>
        Effect.flatMap(submit(self as PoolImpl, target, chunk, options), (outcome) => {
          completed += chunk.length
          const progress = options?.onProgress?.({ completed, total }) ?? Effect.void
          return Effect.andThen(progress, each(outcome, i))
        }),
      { concurrency: "unbounded", discard: true }
    )
  })

/** A chunk's values, or its first failure (fail-fast, in input order). */
const successes = (outcome: ChunkOutcome): ReadonlyArray<unknown> | Exit.Failure<unknown, unknown> => {
  if (outcome._tag === "Values") return outcome.values
  const values: Array<unknown> = []
  for (const exit of outcome.exits) {
    if (Exit.isFailure(exit)) return exit
    values.push(exit.value)
  }
  return values
}

/**
 * The chunks' results, one after the other. `Array.prototype.concat` copies whole arrays
 * of numbers as they are, faster than a loop (and `flat`). It takes the chunks as
 * arguments, which cannot be many: past 1024 chunks (tiny ones, `chunkSize: 1`, say), a loop.
 */
const concat = <A>(parts: ReadonlyArray<ReadonlyArray<A>>): Array<A> => {
  if (parts.length <= 1024) return ([] as Array<A>).concat(...parts)
  let length = 0
  for (const part of parts) length += part.length
  const all = new Array<A>(length)
  let next = 0
  for (const part of parts) for (let i = 0; i < part.length; i++) all[next++] = part[i]!
  return all
}

export const mapExits: {
  <Args, A, E>(
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: ProcessPool.MapOptions
  ): (self: ProcessPool.ProcessPool) => Effect.Effect<Array<Exit.Exit<A, E | ProcessPoolError>>, ProcessPoolError>
  <Args, A, E>(
    self: ProcessPool.ProcessPool,
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: ProcessPool.MapOptions
  ): Effect.Effect<Array<Exit.Exit<A, E | ProcessPoolError>>, ProcessPoolError>
} = dual(isPoolFirst, (
  self: ProcessPool.ProcessPool,
  target: Target.Any,
  items: Iterable<unknown>,
  options?: ProcessPool.MapOptions
): Effect.Effect<Array<ItemExit>, unknown> => {
  const results: Array<ReadonlyArray<ItemExit>> = []
  return runChunks(self, target, items, options, (outcome, i) =>
    Effect.sync(() => {
      results[i] = exitsOf(outcome)
    })).pipe(Effect.map(() => concat(results)))
})

/** `map` (in input order) or `mapUnordered` (in the order chunks complete). */
const mapValues = (ordered: boolean): ProcessPool.MapFunction =>
  dual(isPoolFirst, (
    self: ProcessPool.ProcessPool,
    target: Target.Any,
    items: Iterable<unknown>,
    options?: ProcessPool.MapOptions
  ): Effect.Effect<Array<unknown>, unknown> => {
    const results: Array<ReadonlyArray<unknown>> = []
    return runChunks(self, target, items, options, (outcome, i) => {
      const values = successes(outcome)
      if (!Array.isArray(values)) return values as Exit.Failure<unknown, unknown>
      if (ordered) results[i] = values
      else results.push(values)
      return Effect.void
    }).pipe(Effect.map(() => concat(results)))
  })

export const map: ProcessPool.MapFunction = mapValues(true)

export const mapUnordered: ProcessPool.MapFunction = mapValues(false)

export const stream: {
  <Args, A, E, E2, R>(
    target: Target.Target<Args, A, E>,
    input: Stream.Stream<Args, E2, R>,
    options?: ProcessPool.StreamOptions
  ): (self: ProcessPool.ProcessPool) => Stream.Stream<A, E | E2 | ProcessPoolError, R>
  <Args, A, E, E2, R>(
    self: ProcessPool.ProcessPool,
    target: Target.Target<Args, A, E>,
    input: Stream.Stream<Args, E2, R>,
    options?: ProcessPool.StreamOptions
  ): Stream.Stream<A, E | E2 | ProcessPoolError, R>
} = dual(isPoolFirst, <Args, A, E, E2, R>(
  self: ProcessPool.ProcessPool,
  target: Target.Target<Args, A, E>,
  input: Stream.Stream<Args, E2, R>,
  options?: ProcessPool.StreamOptions
): Stream.Stream<A, E | E2 | ProcessPoolError, R> => {
  const concurrency = options?.concurrency ?? self.size * 4
  const invalid = invalidOption("concurrency", concurrency)
  if (invalid !== undefined) return Stream.fail(invalid)
  return Stream.mapEffect(input, (args) => run(self, target, args, options), {
    concurrency,
    unordered: options?.ordered !== true
  })
})
