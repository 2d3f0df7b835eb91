/**
 * A pool's state: its jobs, its workers, their settings, and what a job's caller gets back.
 * The pool's behaviour (workers, dispatch, closing) is in processPool.ts.
 */
import * as Cause from "effect/Cause"
import type * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as ProcessPool from "../ProcessPool.ts"
import { InvalidOptionsError, ProcessPoolError, type ProcessPoolErrorReason } from "../ProcessPoolError.ts"
import type * as Target from "../Target.ts"
import { errorMessage } from "./errors.ts"
import type * as internalProcess from "./process.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import * as internalTarget from "./target.ts"

export const TypeId: ProcessPool.TypeId = "~effect-multiprocessing/ProcessPool"

export const isProcessPool = (u: unknown): u is ProcessPool.ProcessPool => Predicate.hasProperty(u, TypeId)

export type ItemExit = Exit.Exit<unknown, unknown>

/**
 * What the caller of a chunk gets: every item's value when all of them succeeded (the
 * common case, with no exit per item), else one exit per item (the task's own, or a
 * ProcessPoolError).
 */
export type ChunkOutcome =
  | { readonly _tag: "Values"; readonly values: ReadonlyArray<unknown> }
  | { readonly _tag: "Exits"; readonly exits: ReadonlyArray<ItemExit> }

export const withExits = (exits: ReadonlyArray<ItemExit>): ChunkOutcome => ({ _tag: "Exits", exits })

/** The same exit for every item of a job (a crash, a timeout, a closed pool...). */
export const allFail = (count: number, error: ProcessPoolError): ChunkOutcome => {
  const exit = Exit.fail(error)
  return withExits(Array.from({ length: count }, () => exit))
}

/** One exit per item, whichever form the outcome has. */
export const exitsOf = (outcome: ChunkOutcome): ReadonlyArray<ItemExit> =>
  outcome._tag === "Exits" ? outcome.exits : outcome.values.map((value) => Exit.succeed(value))

export interface Job {
  readonly id: number
  readonly target: Target.Any
  readonly args: ReadonlyArray<Schema.Json>
  /** Resumes the caller with the chunk's outcome; set to `undefined` once called. */
  resume: ((outcome: ChunkOutcome) => void) | undefined
  worker: Worker | undefined
  /** The caller gave up: the worker was asked to stop it, and its results are dropped. */
  cancelled: boolean
  /** Given up while still queued: left in the queue, skipped when its turn comes. */
  dropped: boolean
  killTimer: ReturnType<typeof setTimeout> | undefined
}

export interface Worker {
  readonly process: internalProcess.ProcessImpl<void, never>
  readonly scope: Scope.Closeable
  readonly inFlight: Map<number, Job>
  /** The numbers this worker knows targets by (told in the first `Run` that uses each). */
  readonly targets: Map<Target.Any, number>
  ready: boolean
  retiring: boolean
  completed: number
  /** Cancelled chunks it has not confirmed stopping: it may be about to be killed, so it gets no new work. */
  stopping: number
}

export interface Settings {
  readonly size: number
  readonly initializer: PoolProtocol.WorkerArgs["initializer"]
  readonly maxTasksPerChild: number
  readonly maxQueued: number
  /** `undefined`: adaptive (see `capacity`). */
  readonly inFlightPerWorker: number | undefined
  readonly gracePeriod: Duration.Duration
  readonly crashLoopLimit: number
  readonly env: Record<string, string | undefined> | undefined
  readonly execArgv: ReadonlyArray<string> | undefined
}

export class PoolImpl implements ProcessPool.ProcessPool {
  readonly [TypeId]: ProcessPool.TypeId = TypeId
  readonly settings: Settings
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => unknown
  /** Jobs waiting for a worker, oldest first; `queued` counts those not dropped. */
  readonly pending = new Fifo<Job>()
  queued = 0
  readonly workers = new Set<Worker>()
  readonly roomWaiters: Array<Deferred.Deferred<void>> = []
  readonly idleWaiters: Array<Deferred.Deferred<void>> = []
  status: "open" | "closing" | "closed" = "open"
  failure: ProcessPoolError | undefined = undefined
  crashes = 0
  nextJob = 0
  nextWorker = 0
  nextTarget = 0
  /** How long a chunk takes in a worker, in ms: a moving average of what workers report. */
  chunkMs: number | undefined = undefined
  /** A dispatch is due at the end of this tick (see `dispatchSoon`). */
  dispatchDue = false
  constructor(settings: Settings, fork: <A, E>(effect: Effect.Effect<A, E>) => unknown) {
    this.settings = settings
    this.fork = fork
  }
  get size(): number {
    return this.settings.size
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return `<ProcessPool size=${this.settings.size} workers=${this.workers.size} pending=${this.queued} ${this.status}>`
  }
}

export const poolError = (reason: ProcessPoolErrorReason) => new ProcessPoolError({ reason })

/** A queue with O(1) push and shift (`Array.prototype.shift` is O(n): 100k queued jobs made dispatch quadratic). */
export class Fifo<A> {
  items: Array<A | undefined> = []
  head = 0
  push(item: A): void {
    this.items.push(item)
  }
  shift(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
  drain(): Array<A> {
    const rest = this.items.slice(this.head) as Array<A>
    this.items = []
    this.head = 0
    return rest
  }
}

/** The outcome of a one-item chunk: its exit. */
export const firstExit = (outcome: ChunkOutcome): ItemExit =>
  outcome._tag === "Values" ? Exit.succeed(outcome.values[0]) : outcome.exits[0]!

// ---------------------------------------------------------------------------
// settings

/** Why an option is not a positive integer (or Infinity, where allowed), if it is not. */
const positive = (name: string, value: number, allowInfinity = false) =>
  (Number.isInteger(value) && value > 0) || (allowInfinity && value === Infinity)
    ? undefined
    : `${name} must be a positive integer${allowInfinity ? " (or Infinity)" : ""}, got ${value}`

/** An option of a call (`chunkSize`, `concurrency`) that is not a positive integer: the call fails with this. */
export const invalidOption = (name: string, value: number): ProcessPoolError | undefined => {
  const problem = positive(name, value)
  return problem === undefined ? undefined : poolError(new InvalidOptionsError({ message: problem }))
}

export const validate = (options: ProcessPool.Options | undefined, cpus: number): Settings | InvalidOptionsError => {
  const size = options?.size ?? cpus
  const problem = positive("size", size) ??
    positive("maxTasksPerChild", options?.maxTasksPerChild ?? Infinity, true) ??
    positive("maxQueued", options?.maxQueued ?? Infinity, true) ??
    positive("inFlightPerWorker", options?.inFlightPerWorker ?? 1) ??
    positive("crashLoopLimit", options?.crashLoopLimit ?? 5)
  if (problem !== undefined) return new InvalidOptionsError({ message: problem })
  let initializer: Settings["initializer"] = null
  if (options?.initializer !== undefined) {
    const encoded = internalTarget.codecs(options.initializer.target).encodeArgs(options.initializer.args)
    if (Exit.isFailure(encoded)) {
      return new InvalidOptionsError({ message: `the initializer's arguments: ${errorMessage(Cause.squash(encoded.cause))}` })
    }
    initializer = { module: options.initializer.target.module, target: options.initializer.target.name, args: encoded.value }
  }
  return {
    size,
    initializer,
    maxTasksPerChild: options?.maxTasksPerChild ?? Infinity,
    maxQueued: options?.maxQueued ?? Infinity,
    inFlightPerWorker: options?.inFlightPerWorker,
    gracePeriod: Duration.fromInputUnsafe(options?.gracePeriod ?? "2 seconds"),
    crashLoopLimit: options?.crashLoopLimit ?? 5,
    env: options?.env,
    execArgv: options?.execArgv
  }
}
