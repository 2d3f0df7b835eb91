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
 * Defines a target. Call it at the top level of a module and pass that module's
 * `import.meta.url`: the child imports the module, which defines the target again
 * there, and runs it. Keep the parent's own program under `if (import.meta.main)`, so
 * that importing the module in the child does not run it.
 *
 * `args` defaults to `Schema.Void` (no arguments), `success` to `Schema.Void`, `error`
 * to `Schema.Never`. With `kind: true` the target is a kind of process: its processes
 * get default names `<name>-N` instead of `Process-N`.
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
  options: {
    readonly module: string | URL
    readonly args?: ArgsS | undefined
    readonly success?: SuccessS | undefined
    readonly error?: ErrorS | undefined
    readonly kind?: boolean | undefined
    readonly run: (args: ArgsS["Type"]) => Effect.Effect<SuccessS["Type"], ErrorS["Type"], Scope.Scope>
  }
) => Target<ArgsS["Type"], SuccessS["Type"], ErrorS["Type"]> = internal.make
