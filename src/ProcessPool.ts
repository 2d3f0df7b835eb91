/**
 * A pool of worker processes that run typed targets: Python's `multiprocessing.Pool` and
 * `ProcessPoolExecutor`.
 *
 * A task is a target. For plain CPU-bound work, define it with `Target.sync` (a plain
 * function, as Python's pool takes): a worker then calls it in a loop over its chunk, the
 * fastest form. `Target.make` is for work that is an Effect (it waits, uses a scope or
 * services).
 *
 * A task that the pool cannot finish never strands its caller: a worker that dies fails
 * the tasks it held with a typed `WorkerCrashedError` (and is replaced); interrupting a
 * caller interrupts its task in the worker, and kills and replaces the worker if the task
 * does not stop within the grace period; workers that keep dying at start fail the pool
 * with a `CrashLoopError` instead of spinning.
 *
 * A worker runs one task (one chunk of a map) at a time, as Python's workers do; the tasks
 * sent ahead to it (see `inFlightPerWorker`) wait their turn. So, as in Python, tasks that
 * wait for one another (a task that waits on an event another task sets) can deadlock the
 * pool, and sooner here: a task waiting in a worker also holds up the tasks sent ahead of
 * it. Run tasks that wait on each other as their own processes (`Process.spawn`).
 *
 * @since 0.1.0
 */
import * as Os from "node:os"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as calls from "./internal/poolCalls.ts"
import * as internal from "./internal/processPool.ts"
import { isProcessPoolError, type ProcessPoolError } from "./ProcessPoolError.ts"
import type * as Target from "./Target.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = "~effect-multiprocessing/ProcessPool"

/**
 * @since 0.1.0
 * @category models
 */
export interface ProcessPool extends Pipeable {
  readonly [internal.TypeId]: TypeId
  /** The number of workers the pool keeps. */
  readonly size: number
}

/**
 * A target each worker runs once, before any task, and its arguments, typed by the target
 * (optional when it takes none): Python's `initializer` and `initargs`.
 *
 * @since 0.1.0
 * @category models
 */
export type Initializer<Args> =
  & { readonly target: Target.Target<Args, any, any> }
  & ([Args] extends [void] ? { readonly args?: Args } : { readonly args: Args })

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<InitArgs = any> {
  /** How many workers. Default: the CPU count. */
  readonly size?: number | undefined
  /** A target each worker runs once, before any task (Python's `initializer`, `initargs`). */
  readonly initializer?: Initializer<InitArgs> | undefined
  /**
   * A worker runs this many tasks (chunks), then is replaced: it takes no more once it has
   * been given its last one, and its replacement starts then, while that task runs.
   * Default: never.
   */
  readonly maxTasksPerChild?: number | undefined
  /** Submitting waits while this many tasks wait for a worker (backpressure). Default: no bound. */
  readonly maxQueued?: number | undefined
  /**
   * Tasks (chunks) a worker holds at once: the one it runs and those sent ahead of its
   * results, so that it never waits a round trip for the next one. Higher: more throughput
   * for tiny tasks; lower: fairer spread of long ones (a task sent ahead waits behind the
   * worker's current one even when another worker is free).
   *
   * Default: adaptive. The pool keeps about 1 ms of work in each worker, from the average
   * time workers report per chunk: up to 256 for tasks of a few µs, 2 for tasks of 0.5 ms
   * and more (and 2 until the first results come back). A fixed number turns that off.
   */
  readonly inFlightPerWorker?: number | undefined
  /** How long a cancelled or timed-out task may take to stop before its worker is killed. Default: 2 seconds. */
  readonly gracePeriod?: Duration.Input | undefined
  /** Workers dying before they are ready this many times in a row fail the pool. Default: 5. */
  readonly crashLoopLimit?: number | undefined
  /** The workers' environment: added to (not replacing) this process's; `undefined` removes a variable. */
  readonly env?: Record<string, string | undefined> | undefined
  /**
   * Node flags for the workers (a heap limit: `["--max-old-space-size=512"]`). Default: this
   * process's own, minus debugger flags such as `--inspect`.
   */
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcessPool: (u: unknown) => u is ProcessPool = internal.isProcessPool

/** For the data-last forms: the pool comes first in the data-first one. */
const isPoolFirst = (args: IArguments) => isProcessPool(args[0])

/**
 * Starts a pool of workers owned by the current scope. When the scope closes, queued and
 * running tasks finish first (Python's `close()` + `join()`); when it is interrupted, the
 * workers are terminated at once and every waiting caller gets a `PoolClosedError`
 * (Python's `terminate()`). Invalid options fail with an `InvalidOptionsError`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { ProcessPool, Target } from "effect-multiprocessing"
 *
 * export const square = Target.make("square", {
 *   module: import.meta.url,
 *   args: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.succeed(n * n)
 * })
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ProcessPool.make({ size: 2 })
 *   return yield* ProcessPool.map(pool, square, [1, 2, 3]) // [1, 4, 9]
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <InitArgs = never>(
  options?: Options<InitArgs>
): Effect.Effect<ProcessPool, ProcessPoolError, Scope.Scope> => internal.make(options, Os.availableParallelism())

/**
 * Runs one task and returns its result: its success, its own typed error, or a
 * `ProcessPoolError`. Interrupting the caller interrupts the task in its worker. With a
 * `timeout`, a task still running then fails with `TaskTimeoutError` and is stopped the
 * same way.
 *
 * **Python** `Pool.apply` / `ProcessPoolExecutor.submit(...).result()`.
 *
 * Like every function here that takes the pool first, it also has a data-last form:
 * `pool.pipe(ProcessPool.run(square, 3))`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ProcessPool } from "effect-multiprocessing"
 * import { square } from "./targets.ts"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ProcessPool.make({ size: 2 })
 *   return yield* ProcessPool.run(pool, square, 3) // 9
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  <Args, A, E>(
    target: Target.Target<Args, A, E>,
    args: Args,
    options?: TaskOptions
  ): (self: ProcessPool) => Effect.Effect<A, E | ProcessPoolError>
  <Args, A, E>(
    self: ProcessPool,
    target: Target.Target<Args, A, E>,
    args: Args,
    options?: TaskOptions
  ): Effect.Effect<A, E | ProcessPoolError>
} = dual(
  isPoolFirst,
  <Args, A, E>(
    self: ProcessPool,
    target: Target.Target<Args, A, E>,
    args: Args,
    options?: TaskOptions
  ): Effect.Effect<A, E | ProcessPoolError> =>
    (options?.retry === undefined
      ? calls.runOne(self, target, args, options?.timeout)
      : Effect.flatMap(submitChunk(self, target, [args], options), internal.firstExit)) as Effect.Effect<A, E | ProcessPoolError>
)

/**
 * Options of a task (or of each chunk of a map).
 *
 * - `timeout`: a task still running then fails with `TaskTimeoutError`, and is stopped.
 * - `retry`: for tasks known to be idempotent, a `Schedule` by which a task whose worker
 *   died (`WorkerCrashedError`) or that timed out (`TaskTimeoutError`) runs again. A
 *   chunk runs again whole. Its own typed errors are never retried.
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskOptions {
  readonly timeout?: Duration.Input | undefined
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
}

/** The outcome of a chunk that failed in a way a retry may help with. */
class Retryable {
  readonly outcome: internal.ChunkOutcome
  constructor(outcome: internal.ChunkOutcome) {
    this.outcome = outcome
  }
}

const isRetryable = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && exit.cause.reasons.some((reason) =>
    reason._tag === "Fail" && isProcessPoolError(reason.error) &&
    (reason.error.reason._tag === "WorkerCrashedError" || reason.error.reason._tag === "TaskTimeoutError")
  )

const submitChunk = (
  self: ProcessPool,
  target: Target.Any,
  items: ReadonlyArray<unknown>,
  options: TaskOptions | undefined
): Effect.Effect<internal.ChunkOutcome> => {
  const once = calls.submit(self, target, items, options?.timeout)
  const retry = options?.retry
  if (retry === undefined) return once
  return once.pipe(
    Effect.flatMap((outcome) =>
      outcome._tag === "Exits" && outcome.exits.some(isRetryable) ? Effect.fail(new Retryable(outcome)) : Effect.succeed(outcome)
    ),
    Effect.retry({ schedule: retry }),
    // Out of retries: the last outcome stands.
    Effect.catch((last) => Effect.succeed(last.outcome))
  )
}

/**
 * Options of the `map` family. `chunkSize` defaults to Python's `ceil(n / (4 × size))`;
 * `timeout` and `retry` apply to each chunk.
 *
 * @since 0.1.0
 * @category models
 */
export interface MapOptions extends TaskOptions {
  readonly chunkSize?: number | undefined
  /** Called after each chunk, with the items done so far and the total: for progress bars. */
  readonly onProgress?: ((progress: { readonly completed: number; readonly total: number }) => Effect.Effect<void>) | undefined
}

/** Runs every chunk, all submitted at once (the pool's queue bound applies), reporting progress. */
const runChunks = <X>(
  self: ProcessPool,
  target: Target.Any,
  chunks: ReadonlyArray<ReadonlyArray<X>>,
  options: MapOptions | undefined,
  each: (outcome: internal.ChunkOutcome, chunk: number) => Effect.Effect<void, any>
): Effect.Effect<void, any> => {
  const total = chunks.reduce((n, chunk) => n + chunk.length, 0)
  let completed = 0
  return Effect.forEach(
    chunks,
    (chunk, i) =>
      Effect.flatMap(submitChunk(self, target, chunk, options), (outcome) => {
        completed += chunk.length
        const progress = options?.onProgress?.({ completed, total }) ?? Effect.void
        return Effect.andThen(progress, each(outcome, i))
      }),
    { concurrency: "unbounded", discard: true }
  )
}

/** A chunk's values, or its first failure (fail-fast, in input order). */
const successes = (outcome: internal.ChunkOutcome): ReadonlyArray<unknown> | Exit.Failure<unknown, unknown> => {
  if (outcome._tag === "Values") return outcome.values
  const values: Array<unknown> = []
  for (const exit of outcome.exits) {
    if (Exit.isFailure(exit)) return exit
    values.push(exit.value)
  }
  return values
}

/**
 * The chunks' results, one after the other. `Array.prototype.concat` copies whole arrays of
 * numbers as they are, 2-3× faster than a loop (and `flat` is slower still). It takes the
 * chunks as arguments, which cannot be many: past 1024 chunks (tiny ones, `chunkSize: 1`,
 * say), a loop.
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

/**
 * Runs the target on every item, in chunks, and gives every item's outcome in input
 * order, failures included: one failing item does not stop the others. The call itself
 * fails only if `chunkSize` is not a positive integer (`InvalidOptionsError`).
 *
 * @since 0.1.0
 * @category running
 */
export const mapExits: {
  <Args, A, E>(
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: MapOptions
  ): (self: ProcessPool) => Effect.Effect<Array<Exit.Exit<A, E | ProcessPoolError>>, ProcessPoolError>
  <Args, A, E>(
    self: ProcessPool,
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: MapOptions
  ): Effect.Effect<Array<Exit.Exit<A, E | ProcessPoolError>>, ProcessPoolError>
} = dual(isPoolFirst, <Args, A, E>(
  self: ProcessPool,
  target: Target.Target<Args, A, E>,
  items: Iterable<Args>,
  options?: MapOptions
): Effect.Effect<Array<Exit.Exit<A, E | ProcessPoolError>>, ProcessPoolError> =>
  Effect.flatMap(calls.chunksOf(self, items, options?.chunkSize), (chunks) => {
    const results: Array<ReadonlyArray<Exit.Exit<unknown, unknown>>> = []
    return runChunks(self, target, chunks, options, (outcome, i) =>
      Effect.sync(() => {
        results[i] = internal.exitsOf(outcome)
      })).pipe(
        Effect.orDie,
        Effect.map(() => concat(results) as Array<Exit.Exit<A, E | ProcessPoolError>>)
      )
  }))

/**
 * The type of {@link map} and {@link mapUnordered}: pool first, or pool last (in a pipe).
 *
 * @since 0.1.0
 * @category models
 */
export interface MapFunction {
  <Args, A, E>(
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: MapOptions
  ): (self: ProcessPool) => Effect.Effect<Array<A>, E | ProcessPoolError>
  <Args, A, E>(
    self: ProcessPool,
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: MapOptions
  ): Effect.Effect<Array<A>, E | ProcessPoolError>
}

/**
 * Runs the target on every item, in chunks, and returns the results in input order. Fails
 * fast: at the first failing item, the map fails with its error and the chunks still
 * running are interrupted. Use {@link mapExits} to collect every outcome instead.
 *
 * The items are read in full before any task runs; an error the iterable throws surfaces
 * as itself, a defect. `chunkSize` defaults to Python's `ceil(n / (4 × size))`; one that is
 * not a positive integer fails the call with `InvalidOptionsError`.
 *
 * **Python** `Pool.map` (which raises the first error, after all items ran).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ProcessPool } from "effect-multiprocessing"
 * import { square } from "./targets.ts"
 *
 * declare const pool: ProcessPool.ProcessPool
 * const squares = ProcessPool.map(pool, square, Array.from({ length: 1000 }, (_, i) => i), {
 *   onProgress: ({ completed, total }) => Effect.log(`${completed}/${total}`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const map: MapFunction = dual(isPoolFirst, <Args, A, E>(
  self: ProcessPool,
  target: Target.Target<Args, A, E>,
  items: Iterable<Args>,
  options?: MapOptions
): Effect.Effect<Array<A>, E | ProcessPoolError> =>
  Effect.flatMap(calls.chunksOf(self, items, options?.chunkSize), (chunks) => {
    const results: Array<ReadonlyArray<unknown>> = []
    return runChunks(self, target, chunks, options, (outcome, i) => {
      const values = successes(outcome)
      if (!Array.isArray(values)) return values as Exit.Failure<unknown, unknown>
      results[i] = values
      return Effect.void
    }).pipe(Effect.map(() => concat(results))) as Effect.Effect<Array<A>, E | ProcessPoolError>
  }))

/**
 * Like {@link map}, with the results in the order they complete (chunk by chunk).
 *
 * **Python** `Pool.imap_unordered`.
 *
 * @since 0.1.0
 * @category running
 */
export const mapUnordered: MapFunction = dual(isPoolFirst, <Args, A, E>(
  self: ProcessPool,
  target: Target.Target<Args, A, E>,
  items: Iterable<Args>,
  options?: MapOptions
): Effect.Effect<Array<A>, E | ProcessPoolError> =>
  Effect.flatMap(calls.chunksOf(self, items, options?.chunkSize), (chunks) => {
    const results: Array<ReadonlyArray<unknown>> = []
    return runChunks(self, target, chunks, options, (outcome) => {
      const values = successes(outcome)
      if (!Array.isArray(values)) return values as Exit.Failure<unknown, unknown>
      results.push(values)
      return Effect.void
    }).pipe(Effect.map(() => concat(results))) as Effect.Effect<Array<A>, E | ProcessPoolError>
  }))

/**
 * {@link map} for a target whose arguments are a tuple: each item is one tuple.
 *
 * **Python** `Pool.starmap`.
 *
 * @since 0.1.0
 * @category running
 */
export const starmap: {
  <Args extends ReadonlyArray<unknown>, A, E>(
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: MapOptions
  ): (self: ProcessPool) => Effect.Effect<Array<A>, E | ProcessPoolError>
  <Args extends ReadonlyArray<unknown>, A, E>(
    self: ProcessPool,
    target: Target.Target<Args, A, E>,
    items: Iterable<Args>,
    options?: MapOptions
  ): Effect.Effect<Array<A>, E | ProcessPoolError>
} = map

/**
 * Runs the target on every element of a stream, for inputs too large or endless to hold:
 * at most `concurrency` tasks are in flight (default: four times the pool's size), and
 * results come out as they complete (in input order with `ordered: true`). The stream
 * fails at the first failing task.
 *
 * **Python** `Pool.imap_unordered` / `Pool.imap` over a generator.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { ProcessPool } from "effect-multiprocessing"
 * import { square } from "./targets.ts"
 *
 * declare const pool: ProcessPool.ProcessPool
 * const squares = ProcessPool.stream(pool, square, Stream.iterate(0, (n) => n + 1))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const stream: {
  <Args, A, E, E2, R>(
    target: Target.Target<Args, A, E>,
    input: Stream.Stream<Args, E2, R>,
    options?: StreamOptions
  ): (self: ProcessPool) => Stream.Stream<A, E | E2 | ProcessPoolError, R>
  <Args, A, E, E2, R>(
    self: ProcessPool,
    target: Target.Target<Args, A, E>,
    input: Stream.Stream<Args, E2, R>,
    options?: StreamOptions
  ): Stream.Stream<A, E | E2 | ProcessPoolError, R>
} = dual(isPoolFirst, <Args, A, E, E2, R>(
  self: ProcessPool,
  target: Target.Target<Args, A, E>,
  input: Stream.Stream<Args, E2, R>,
  options?: StreamOptions
): Stream.Stream<A, E | E2 | ProcessPoolError, R> => {
  const concurrency = options?.concurrency ?? self.size * 4
  const invalid = internal.invalidOption("concurrency", concurrency)
  if (invalid !== undefined) return Stream.fail(invalid)
  return Stream.mapEffect(input, (args) => run(self, target, args, options), {
    concurrency,
    unordered: options?.ordered !== true
  })
})

/**
 * Options of {@link stream}: a task's, plus how many tasks may be in flight (default: four
 * times the pool's size) and whether results keep the input's order (default: as they
 * complete).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions extends TaskOptions {
  readonly concurrency?: number | undefined
  readonly ordered?: boolean | undefined
}
