/**
 * A target is what a child process runs: a named, typed unit of work defined in a
 * module that the child can import. Its arguments, success value and error are
 * Schemas, so every payload is checked where it crosses the process boundary.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Pipeable } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/target.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = "~effect-multiprocessing/Target"

/**
 * A Schema usable at a process boundary: it needs no services to encode or decode.
 *
 * @since 0.1.0
 * @category models
 */
export type Codec<T> = Schema.Codec<T, any, never, never>

/**
 * @since 0.1.0
 * @category models
 */
export interface Target<Args, A, E> extends Pipeable {
  readonly [internal.TypeId]: TypeId
  /** Unique within its module; the child finds the target by it. */
  readonly name: string
  /** The `file:` URL of the module that defines the target (`import.meta.url`). */
  readonly module: string
  /** `"Process"`, or the target's name when it is a kind: the prefix of default names. */
  readonly kind: string
  readonly args: Codec<Args>
  readonly success: Codec<A>
  readonly error: Codec<E>
  /** Runs in the child, inside a scope that closes (joining the child's own children) before the child exits. */
  readonly run: (args: Args) => Effect.Effect<A, E, Scope.Scope>
}

/**
 * Any target, whatever its types.
 *
 * @since 0.1.0
 * @category models
 */
export type Any = Target<any, any, any>

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Target {
  /**
   * @since 0.1.0
   */
  export type Args<T> = T extends Target<infer Args, any, any> ? Args : never
  /**
   * @since 0.1.0
   */
  export type Success<T> = T extends Target<any, infer A, any> ? A : never
  /**
   * @since 0.1.0
   */
  export type Error<T> = T extends Target<any, any, infer E> ? E : never
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isTarget: (u: unknown) => u is Any = internal.isTarget

/**
 * What {@link make} and {@link sync} take besides `run`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<ArgsS extends Codec<any>, SuccessS extends Codec<any>, ErrorS extends Codec<any>> {
  /** The module that defines the target: its `import.meta.url` (or its absolute path; a relative path is refused, since it would be resolved against the working directory). */
  readonly module: string | URL
  /** The arguments' Schema; default `Schema.Void` (none). */
  readonly args?: ArgsS | undefined
  /** The success value's Schema; default `Schema.Void`. */
  readonly success?: SuccessS | undefined
  /** The typed error's Schema; default `Schema.Never`. */
  readonly error?: ErrorS | undefined
  /** A kind of process: its processes are named `<name>-N`. */
  readonly kind?: boolean | undefined
}

/**
 * Defines a target. Call it at the top level of a module and pass that module's
 * `import.meta.url`: the child imports the module, which defines the target again
 * there, and runs it. Keep the parent's own program under `if (import.meta.main)`, so
 * that importing the module in the child does not run it.
 *
 * `args` defaults to `Schema.Void` (no arguments), `success` to `Schema.Void`, `error`
 * to `Schema.Never`. With `kind: true` the target is a kind of process: its processes
 * get default names `<name>-N` instead of `Process-N`.
 *
 * In a `ProcessPool`, a `run` whose effect is already done (`Effect.succeed(f(x))`,
 * `Effect.fail(e)`: an `Exit`) costs no fiber step per item, almost as little as a
 * {@link sync} target; `Effect.sync(() => f(x))` runs through the fiber loop.
 *
 * **Python** `Process(target=f, args=...)` takes any callable and pickles its
 * arguments; here the target and its arguments are typed, and the arguments are
 * validated in the parent before anything is spawned. A kind replaces a subclass of
 * `Process` that overrides `run()`.
 *
 * @example
 * ```ts
 * import { Console, Effect, Schema } from "effect"
 * import { Target } from "effect-multiprocessing"
 *
 * export const square = Target.make("square", {
 *   module: import.meta.url,
 *   args: Schema.Number,
 *   success: Schema.Number,
 *   run: (n) => Effect.succeed(n * n)
 * })
 *
 * export const Worker = Target.make("Worker", {
 *   module: import.meta.url,
 *   kind: true,
 *   run: () => Console.log("working")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <
  ArgsS extends Codec<any> = typeof Schema.Void,
  SuccessS extends Codec<any> = typeof Schema.Void,
  ErrorS extends Codec<any> = typeof Schema.Never
>(
  name: string,
  options: Options<ArgsS, SuccessS, ErrorS> & {
    readonly run: (args: ArgsS["Type"]) => Effect.Effect<SuccessS["Type"], ErrorS["Type"], Scope.Scope>
  }
) => Target<ArgsS["Type"], SuccessS["Type"], ErrorS["Type"]> = internal.make

/**
 * Defines a target whose work is a plain synchronous function, as in Python: its return
 * value is the success, a thrown value that fits `error` is the target's typed error, and
 * anything else it throws is a defect (an `UncaughtError` in the parent). Everything else is
 * as in {@link make}: the same Schemas at the boundary, the same `import.meta.url` rule.
 *
 * Use it for CPU-bound functions. A `ProcessPool` calls such a target's items one after
 * the other in a plain loop, with no fiber step per item, which makes `ProcessPool.map`
 * over trivial items markedly faster than with `run: (x) => Effect.sync(() => f(x))` (see
 * bench/README.md).
 * Between slices of a few milliseconds, the loop lets a cancellation in; a single long call
 * is stopped by the pool's grace period, like all synchronous work. `run` must finish its
 * work before it returns: for anything asynchronous (a Promise, a timer, a queue), use
 * {@link make}. A `run` that returns a Promise anyway (an `async` function passes where no
 * success is declared) fails its item with a defect that says so.
 *
 * **Python** `Pool.map(f, ...)` with a plain function `f`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Target } from "effect-multiprocessing"
 *
 * class NegativeError extends Schema.TaggedError<NegativeError>()("NegativeError", {
 *   n: Schema.Number
 * }) {}
 *
 * export const sqrt = Target.sync("sqrt", {
 *   module: import.meta.url,
 *   args: Schema.Number,
 *   success: Schema.Number,
 *   error: NegativeError,
 *   run: (n) => {
 *     if (n < 0) throw new NegativeError({ n })
 *     return Math.sqrt(n)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const sync: <
  ArgsS extends Codec<any> = typeof Schema.Void,
  SuccessS extends Codec<any> = typeof Schema.Void,
  ErrorS extends Codec<any> = typeof Schema.Never
>(
  name: string,
  options: Options<ArgsS, SuccessS, ErrorS> & {
    readonly run: (args: ArgsS["Type"]) => SuccessS["Type"]
  }
) => Target<ArgsS["Type"], SuccessS["Type"], ErrorS["Type"]> = internal.makeSync
