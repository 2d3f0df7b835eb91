/**
 * A child process running a {@link Target.Target}, as a scoped Effect resource.
 *
 * Lifetime rules: interrupting the fiber that owns a process terminates the child;
 * closing its scope normally joins a non-daemon child and terminates a daemon one; a
 * child never outlives its parent, even a parent killed with SIGKILL.
 *
 * @since 0.1.0
 */
import * as Os from "node:os"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import type { ProcessError } from "./ProcessError.ts"
import * as Current from "./internal/current.ts"
import * as MainGuard from "./internal/mainGuard.ts"
import * as internal from "./internal/process.ts"
import * as Spawn from "./internal/processSpawn.ts"
import * as internalRunMain from "./internal/runMain.ts"
import type * as Target from "./Target.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = "~effect-multiprocessing/Process"

/**
 * A handle on a child process. `A` and `E` are its target's success and error.
 *
 * The handle prints like Python's repr:
 * `<Process name='Process-1' pid=123 parent=45 stopped exitcode=-SIGTERM>`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Process<out A, out E> extends Pipeable {
  readonly [internal.TypeId]: Variance<A, E>
  /** `Process-N` (`<Kind>-N` for a kind) unless named; `Process-1:2` for a child's second child. */
  readonly name: string
  /** A daemon child is terminated, not joined, when its scope closes. */
  readonly daemon: boolean
  readonly target: Target.Any
  /** Undefined until the process is started. */
  readonly pid: number | undefined
  /** The pid of the process that made this handle. */
  readonly parentPid: number
}

/**
 * Carries the success and error types of a handle (nothing at run time).
 *
 * @since 0.1.0
 * @category models
 */
export interface Variance<out A, out E> {
  readonly _A: (_: never) => A
  readonly _E: (_: never) => E
}

/**
 * How to run a process. `args` is required when the target takes arguments.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<Args> {
  readonly args?: Args | undefined
  /** Defaults to `Process-N` (or `<Kind>-N`), counted per parent in creation order. */
  readonly name?: string | undefined
  /**
   * A daemon child is terminated, not joined, when its scope closes. Default: the flag
   * of the process that makes it (`false` in the main program, so a process made inside
   * a daemon child is a daemon too).
   *
   * **Python** `Process.daemon` defaults to `current_process().daemon`.
   */
  readonly daemon?: boolean | undefined
  /** How long `terminate` waits after SIGTERM before SIGKILL. Default: 5 seconds. */
  readonly gracePeriod?: Duration.Input | undefined
  /** Set on top of what the child inherits (see `inheritEnv`); `undefined` removes a variable. */
  readonly env?: Record<string, string | undefined> | undefined
  /**
   * What the child inherits of this process's environment: `true` (the default, as in
   * Python) all of it; `false` nothing; a list of names, those only. When not all of it,
   * the child still gets what it needs to run as this process does: `PATH`, and the
   * module-loading flags of `NODE_OPTIONS` (see {@link defaultExecArgv}); `env` can
   * override or remove those too.
   *
   * @example
   * ```ts
   * import { Process } from "effect-multiprocessing"
   * import { worker } from "./worker.ts"
   *
   * // Only LANG and TZ of this process's environment, plus one variable of its own: no secrets.
   * const p = Process.spawn(worker, { inheritEnv: ["LANG", "TZ"], env: { WORKER_MODE: "batch" } })
   * ```
   */
  readonly inheritEnv?: boolean | ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
  /**
   * The largest payload, in bytes as JSON, that may cross between this process and the
   * child: its arguments, its success or typed error. A payload over it fails where it
   * is encoded, before anything is written, with a `PayloadTooLargeError` (the arguments:
   * before the child is spawned; a result: in the child, and the parent gets the
   * error). Given explicitly, it also bounds the channel between the two: each side
   * refuses any message over it (plus 1 MiB for the envelope), so that neither can make
   * the other allocate more; set it above a batch of queue items the child may move
   * (batches are counted in items).
   *
   * Default: 64 MiB, for the payloads only. A payload costs a few times its size at its
   * peak (JSON text in the sender, socket buffers, the parsed value in the receiver), so
   * this keeps a message in the hundreds of MB across both processes; pass larger data
   * by reference (a file), or raise the limit. `Infinity` turns it off.
   */
  readonly maxMessageBytes?: number | undefined
  /**
   * Node flags for the child, exactly. Default: this process's flags that decide how
   * modules load (see {@link defaultExecArgv}); resource limits such as
   * `--max-old-space-size` are not passed on: give them here.
   */
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * `Options` with `args` required exactly when the target takes arguments.
 *
 * @since 0.1.0
 * @category models
 */
export type OptionsFor<Args> = [Args] extends [void] ? [options?: Options<Args>]
  : [options: Options<Args> & { readonly args: Args }]

/**
 * Name and pid of a process.
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  readonly name: string
  readonly pid: number
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcess: (u: unknown) => u is Process<unknown, unknown> = internal.isProcess

/**
 * The Node flags a child gets when `execArgv` is not given: those of this process's own
 * that decide how modules are found and loaded, so that the child imports its target as
 * this process would (`--import`, `--require`, `--loader`, `--conditions`, the TypeScript
 * and module-format switches such as `--experimental-strip-types` and their `--no-` forms,
 * `--preserve-symlinks`), and the permission model's flags (`--permission`,
 * `--allow-fs-read`...), which a child must not escape. Everything else stays with this
 * process: resource limits (`--max-old-space-size`, `--stack-size`), debugger flags (whose
 * port the child would bind again), `--env-file`, warning switches.
 *
 * **Python** a spawned child runs with the interpreter's own flags.
 *
 * @since 0.1.0
 * @category getters
 */
export const defaultExecArgv: () => ReadonlyArray<string> = Spawn.defaultExecArgv

/**
 * Makes a process handle without starting it (Python's `Process(...)` before
 * `start()`). Its default name is taken now, so names follow creation order.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { Process } from "effect-multiprocessing"
 * import { worker } from "./worker.ts"
 *
 * const program = Effect.gen(function*() {
 *   const p = yield* Process.make(worker)
 *   yield* Console.log(String(p)) // <Process name='Process-1' parent=4242 initial>
 *   yield* Process.start(p)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <Args, A, E>(
  target: Target.Target<Args, A, E>,
  ...[options]: OptionsFor<Args>
): Effect.Effect<Process<A, E>> => internal.make(target, options)

/**
 * Starts a process made by {@link make}. The arguments are encoded with the target's
 * Schema first: if they do not fit, it fails with an `EncodeError` and nothing is
 * spawned. It returns once the child is spawned, without waiting for the child to be
 * ready (see {@link ready}). The process belongs to the current scope.
 *
 * Starting a process twice is a defect, as in Python.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const start: <A, E>(self: Process<A, E>) => Effect.Effect<void, ProcessError, Scope.Scope> = internal.start

/**
 * Makes and starts a process: Python's `Process(target, args).start()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "effect-multiprocessing"
 * import { square } from "./targets.ts"
 *
 * const program = Effect.gen(function*() {
 *   const p = yield* Process.spawn(square, { args: 7 })
 *   return yield* Process.result(p) // 49
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const spawn = <Args, A, E>(
  target: Target.Target<Args, A, E>,
  ...[options]: OptionsFor<Args>
): Effect.Effect<Process<A, E>, ProcessError, Scope.Scope> =>
  Effect.tap(internal.make(target, options), internal.start)

/**
 * Runs a target in a new child process and returns its result: spawn, wait, done.
 *
 * @example
 * ```ts
 * import { Process } from "effect-multiprocessing"
 * import { square } from "./targets.ts"
 *
 * const fortyNine = Process.run(square, { args: 7 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <Args, A, E>(
  target: Target.Target<Args, A, E>,
  ...[options]: OptionsFor<Args>
): Effect.Effect<A, E | ProcessError> =>
  Effect.scoped(Effect.flatMap(internal.make(target, options), (p) => Effect.andThen(internal.start(p), () => internal.result(p))))

/**
 * Waits for the process to end and returns its exit code. With a `timeout`, returns
 * `None` if the process still runs when the time is up (and leaves it running).
 *
 * Exit codes follow Python: 0 for a normal end, `n & 0xFF` for `Process.exit(n)`, 1 for
 * an error, `-N` for death by signal N (-15 after `terminate`, -9 after `kill`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "effect-multiprocessing"
 *
 * declare const p: Process.Process<void, never>
 * const stillRunning = Process.join(p, { timeout: "1 second" }).pipe(Effect.map((o) => o._tag === "None"))
 * ```
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const join: {
  (options: { readonly timeout: Duration.Input }): <A, E>(self: Process<A, E>) => Effect.Effect<Option.Option<number>>
  <A, E>(self: Process<A, E>, options: { readonly timeout: Duration.Input }): Effect.Effect<Option.Option<number>>
  <A, E>(self: Process<A, E>): Effect.Effect<number>
} = internal.join

/**
 * Whether the process is started and not yet ended.
 *
 * @since 0.1.0
 * @category getters
 */
export const isAlive: <A, E>(self: Process<A, E>) => Effect.Effect<boolean> = internal.isAlive

/**
 * The exit code once the process has ended (`None` before).
 *
 * **Python** `exitcode`, which is `None` while the process runs.
 *
 * @since 0.1.0
 * @category getters
 */
export const exitCode: <A, E>(self: Process<A, E>) => Effect.Effect<Option.Option<number>> = internal.exitCode

/**
 * Sends SIGTERM and returns at once; SIGKILL follows, to the child's whole process
 * group, if the child still runs after its grace period. The child runs its finalizers
 * on SIGTERM and then reports -15. A child stuck in synchronous code cannot react, so it
 * ends with -9 after the grace period.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const terminate: <A, E>(self: Process<A, E>) => Effect.Effect<void> = internal.terminate

/**
 * Sends SIGKILL (to the child's process group, so its own children go too).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const kill: <A, E>(self: Process<A, E>) => Effect.Effect<void> = internal.kill

/**
 * Waits for the process to end and returns what its target produced: its success, its
 * own typed error, or a `ProcessError` saying what else happened (spawn failure, exit
 * code, signal, uncaught error with the remote stack, payload that failed its Schema,
 * lost channel).
 *
 * The result can be read as often as wanted, after `join` and after the scope that
 * started the process closed too: a handle keeps it (as a settled `Deferred` would),
 * but not the arguments, which it drops as soon as they are sent.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const result: <A, E>(self: Process<A, E>) => Effect.Effect<A, E | ProcessError> = internal.result

/**
 * Waits until the child has loaded its target and decoded its arguments, and is
 * running it. Fails with the `ProcessError` if the child ended before that.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const ready: <A, E>(self: Process<A, E>) => Effect.Effect<void, ProcessError> = internal.ready

/**
 * The process this code runs in: `MainProcess` in the parent program, the process's
 * name in a child.
 *
 * **Python** `multiprocessing.current_process()`.
 *
 * @since 0.1.0
 * @category getters
 */
export const current: Effect.Effect<Info> = Effect.sync(Current.info)

/**
 * The parent of this process, in a child; `None` in the main program.
 *
 * **Python** `multiprocessing.parent_process()`.
 *
 * @since 0.1.0
 * @category getters
 */
export const parent: Effect.Effect<Option.Option<Info>> = Effect.sync(() => Option.fromUndefinedOr(Current.parent()))

/**
 * The children of this process that are started and not yet ended.
 *
 * **Python** `multiprocessing.active_children()`.
 *
 * @since 0.1.0
 * @category getters
 */
export const activeChildren: Effect.Effect<ReadonlyArray<Process<unknown, unknown>>> = Effect.sync(() =>
  Array.from(Current.state.children)
)

/**
 * The number of CPUs this process may use (`os.availableParallelism()`).
 *
 * **Python** `multiprocessing.cpu_count()`.
 *
 * @since 0.1.0
 * @category getters
 */
export const cpuCount: Effect.Effect<number> = Effect.sync(() => Os.availableParallelism())

/**
 * Ends the current child with exit code `code & 0xFF` after its finalizers run; the
 * parent sees that code, and `result` fails with an `ExitCodeError`.
 *
 * **Python** `sys.exit(code)` inside a process.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const exit = (code: number): Effect.Effect<never> => Effect.die(new Current.ExitRequest(code))

/**
 * Runs the main program with Python's rules: the program gets a scope for its
 * processes; when it ends, daemon children are terminated and the others joined; the
 * exit status is 0, 1 on an error (printed to stderr), `n` after `Process.exit(n)`. On
 * SIGINT or SIGTERM the program is interrupted (children terminated, finalizers run)
 * and the process then dies by that signal; a second signal ends it at once.
 *
 * Keep the call behind `if (import.meta.main)`: a child imports the module to find its
 * target, and there `runMain` does not run the program; the child ends with
 * `MissingMainGuardError`, which the parent's call fails with.
 *
 * A `layer` is built around the whole run, scope closing included: provide the
 * program's services and loggers there (e.g. `ProcessLogger.layerStderr()`), so that
 * they also see the end of the program.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process, ProcessLogger } from "effect-multiprocessing"
 * import { worker } from "./worker.ts"
 *
 * if (import.meta.main) {
 *   Process.runMain(
 *     Effect.gen(function*() {
 *       for (let i = 0; i < 5; i++) yield* Process.spawn(worker, { args: i })
 *     }),
 *     { layer: ProcessLogger.layerStderr({ level: "Info" }) }
 *   )
 * }
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runMain: {
  <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): void
  <A, E, R, LE>(effect: Effect.Effect<A, E, Scope.Scope | R>, options: { readonly layer: Layer.Layer<R, LE> }): void
} = <A, E, R, LE>(
  effect: Effect.Effect<A, E, Scope.Scope | R>,
  options?: { readonly layer?: Layer.Layer<R, LE> | undefined }
): void => {
  // In a child this is a main program without its guard: not run (see mainGuard.ts).
  if (MainGuard.refusal() === undefined) internalRunMain.runMain(effect, options)
}
