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
 * the tasks it had begun with a typed `WorkerCrashedError` and is replaced, and the tasks
 * sent ahead to it that it had not begun run on another worker, once (or, with
 * `onWorkerCrash: "break"`, the pool breaks); interrupting a caller interrupts its task in
 * the worker, and kills and replaces the worker if the task does not stop within the grace
 * period; workers that keep dying at start fail the pool with a `CrashLoopError` instead
 * of spinning. The pool never has more than `size` worker processes beyond its size alive.
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
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { Pipeable } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/processPool.ts"
import type { ProcessPoolError } from "./ProcessPoolError.ts"
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
  /**
   * What a worker's crash (an end the pool did not ask for) does to the pool:
   *
   * - `"replace"` (default): the tasks it had begun fail with `WorkerCrashedError`, those
   *   sent ahead to it run on another worker, and a new worker takes its place.
   * - `"break"`: the pool is broken (Python's `BrokenProcessPool`). The tasks it had begun
   *   fail with `WorkerCrashedError`, every other unfinished task with `PoolBrokenError`
   *   (carrying that crash), its other workers are stopped, and it takes no more tasks.
   *   For work where a crash means the rest is not worth running.
   */
  readonly onWorkerCrash?: "replace" | "break" | undefined
  /** Set on top of what the workers inherit (see `inheritEnv`); `undefined` removes a variable. */
  readonly env?: Record<string, string | undefined> | undefined
  /**
   * The largest arguments, result or typed error of one task, in bytes as JSON: a task
   * whose arguments are over it fails with a `PayloadTooLargeError` before anything is
   * sent; one whose result or typed error is over it fails with it in the worker, before
   * the result's JSON is built, and its worker goes on. The other items of a `map` are not
   * affected. Default: 64 MiB (see `Process.Options.maxMessageBytes`); `Infinity` turns it
   * off.
   */
  readonly maxMessageBytes?: number | undefined
  /** What the workers inherit of this process's environment, as `Process.Options.inheritEnv`. Default: all of it. */
  readonly inheritEnv?: boolean | ReadonlyArray<string> | undefined
  /**
   * Node flags for the workers (a heap limit: `["--max-old-space-size=512"]`). Default: this
   * process's flags that decide how modules load (see `Process.defaultExecArgv`); resource
   * limits are not passed on.
   */
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcessPool: (u: unknown) => u is ProcessPool = internal.isProcessPool

/**
 * Starts a pool of workers owned by the current scope, and returns once one of them is
 * ready (started, and through its `initializer`): the others go on starting meanwhile.
 * When no worker can start (a Node flag that does not exist, an initializer that always
 * fails), it fails instead, with a `CrashLoopError` once `crashLoopLimit` workers in a row
 * died before they were ready (with the exit code and the error of the last one), or with
 * a `PoolBrokenError` at the first with `onWorkerCrash: "break"`.
 *
 * When the scope closes, queued and running tasks finish first (Python's `close()` +
 * `join()`); when it is interrupted, the workers are terminated at once and every waiting
 * caller gets a `PoolClosedError` (Python's `terminate()`). Invalid options fail with an
 * `InvalidOptionsError`.
 *
 * **Python** `Pool(...)` returns at once, and a failing initializer makes it respawn
 * workers forever; `ProcessPoolExecutor` starts workers with the first task and breaks.
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
} = internal.run

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
} = internal.mapExits

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
export const map: MapFunction = internal.map

/**
 * Like {@link map}, with the results in the order they complete (chunk by chunk).
 *
 * **Python** `Pool.imap_unordered`.
 *
 * @since 0.1.0
 * @category running
 */
export const mapUnordered: MapFunction = internal.mapUnordered

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
} = internal.stream

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
