/**
 * A pool's state, as data: its jobs, its workers, its status, and what a job's caller gets
 * back. Each of the three lives in a tagged union of its states. No I/O here: what moves
 * them is in poolScheduler.ts (jobs, capacity, cancellation) and poolWorkers.ts (workers).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as MutableList from "effect/MutableList"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type * as ProcessPool from "../ProcessPool.ts"
import { PoolClosedError, ProcessPoolError, type ProcessPoolErrorReason } from "../ProcessPoolError.ts"
import type * as Target from "../Target.ts"
import type { Settings } from "./poolSettings.ts"
import type { MakeWorker, WorkerProcess } from "./poolTransport.ts"

export const TypeId: ProcessPool.TypeId = "~effect-multiprocessing/ProcessPool"

export const isProcessPool = (u: unknown): u is ProcessPool.ProcessPool => Predicate.hasProperty(u, TypeId)

export const poolError = (reason: ProcessPoolErrorReason) => new ProcessPoolError({ reason })

// ---------------------------------------------------------------------------
// outcomes

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

/** The outcome of a one-item chunk: its exit. */
export const firstExit = (outcome: ChunkOutcome): ItemExit =>
  outcome._tag === "Values" ? Exit.succeed(outcome.values[0]) : outcome.exits[0]!

// ---------------------------------------------------------------------------
// jobs

/** A chunk of items of one target, from its caller's call until its caller has its outcome. */
export interface Job {
  readonly id: number
  readonly target: Target.Any
  readonly args: ReadonlyArray<Schema.Json>
  /**
   * Resumes the caller (its `Effect.callback`'s own `resume`, with no closure of ours
   * around it: one fewer object per task in flight): with the exit of the only item if
   * `single`, else with the chunk's outcome. Called once, in `Queued` or `Running` (see `finish`).
   */
  readonly resume: (effect: Effect.Effect<unknown, unknown>) => void
  readonly single: boolean
  state: JobState
}

/**
 * - `Queued`: in the pool's `pending` list, waiting for a worker.
 * - `Dropped`: its caller gave up while it was queued; left in `pending`, skipped when its turn comes.
 * - `Running`: sent to a worker (which runs it, or holds it until its turn). `claimed`: the
 *   worker said it may have begun it (see `Worker.claimed`).
 * - `Cancelling`: its caller gave up while it ran; its worker was asked to stop it, and is
 *   replaced, then killed, if it does not confirm within the grace period (`timer`).
 * - `Done`: its caller has its outcome, or gave up and it has stopped.
 */
export type JobState = JobState.Queued | JobState.Dropped | JobState.Running | JobState.Cancelling | JobState.Done

export declare namespace JobState {
  export interface Queued {
    readonly _tag: "Queued"
  }
  export interface Dropped {
    readonly _tag: "Dropped"
  }
  export interface Running {
    readonly _tag: "Running"
    readonly worker: Worker
    readonly claimed: boolean
  }
  export interface Cancelling {
    readonly _tag: "Cancelling"
    readonly worker: Worker
    readonly claimed: boolean
    timer: Fiber.Fiber<void> | undefined
  }
  export interface Done {
    readonly _tag: "Done"
  }
}

export const jobQueued: JobState.Queued = { _tag: "Queued" }
export const jobDropped: JobState.Dropped = { _tag: "Dropped" }
export const jobDone: JobState.Done = { _tag: "Done" }

/** Hands a job's outcome to its caller, unless it has it or gave up. */
export const finish = (job: Job, outcome: ChunkOutcome): void => {
  const tag = job.state._tag
  if (tag !== "Queued" && tag !== "Running") return
  job.state = jobDone
  job.resume(job.single ? firstExit(outcome) : Effect.succeed(outcome))
}

// ---------------------------------------------------------------------------
// workers

/**
 * - `Starting`: spawned, not yet initialized: it dying now counts toward a crash loop.
 * - `Ready`: takes jobs, up to its capacity, unless some of its cancelled jobs have not
 *   confirmed stopping (`cancelling`): it may be about to be killed.
 * - `Retiring`: takes no more jobs (it reached `maxTasksPerChild`, is stuck in a cancelled
 *   job, `stuck`, or sent what the pool cannot read); its replacement has started, or
 *   starts once fewer workers are alive. It is closed once it holds none.
 * - `Exited`: its process has ended, and it is out of the pool.
 */
export type WorkerState = WorkerState.Starting | WorkerState.Ready | WorkerState.Retiring | WorkerState.Exited

export declare namespace WorkerState {
  export interface Starting {
    readonly _tag: "Starting"
  }
  export interface Ready {
    readonly _tag: "Ready"
    cancelling: number
  }
  export interface Retiring {
    readonly _tag: "Retiring"
    /** The cancelled job it seemed stuck in, when that is why it retires. */
    readonly stuck: Job | undefined
  }
  export interface Exited {
    readonly _tag: "Exited"
  }
}

export const workerStarting: WorkerState.Starting = { _tag: "Starting" }
export const workerRetiring: WorkerState.Retiring = { _tag: "Retiring", stuck: undefined }
export const workerExited: WorkerState.Exited = { _tag: "Exited" }

export class Worker {
  readonly process: WorkerProcess
  /**
   * Its jobs (`Running` or `Cancelling`), by id, in the order they were sent: the order it
   * runs them in, and answers them in (but for those dropped by a cancellation).
   */
  readonly inFlight = new Map<number, Job>()
  /** The numbers this worker knows targets by (told in the first `Run` that uses each). */
  readonly targets = new Map<Target.Any, number>()
  /** The state of each of its running jobs: one for all, not one per job. */
  readonly running: JobState.Running = { _tag: "Running", worker: this, claimed: false }
  /**
   * The state of its jobs that it said it may have begun. A worker begins a job only once
   * its claim on it is in the kernel: so when it dies, its claimed jobs may have begun
   * (they fail), and the others had not (they run elsewhere). It claims tiny jobs in
   * groups, with the answers to those before them.
   */
  readonly claimed: JobState.Running = { _tag: "Running", worker: this, claimed: true }
  /** The pool asked it to end (closed or killed it): its end is no crash. */
  stopping = false
  /** Jobs it has finished (for `maxTasksPerChild`). */
  completed = 0
  state: WorkerState = workerStarting
  constructor(process: WorkerProcess) {
    this.process = process
  }
}

// ---------------------------------------------------------------------------
// the pool

/**
 * - `Open`: takes and runs jobs.
 * - `Closing`: its scope is closing: it takes no more jobs and finishes those it has;
 *   `idle` completes once it holds none.
 * - `Closed`: terminated: nothing runs.
 * - `Failed`: workers kept dying at start (a crash loop), or one crashed with the `"break"`
 *   policy: every new job fails with `error`; the jobs its live workers run go on, and
 *   closing its scope waits for them (`idle`).
 */
export type PoolStatus = PoolStatus.Open | PoolStatus.Closing | PoolStatus.Closed | PoolStatus.Failed

export declare namespace PoolStatus {
  export interface Open {
    readonly _tag: "Open"
  }
  export interface Closing {
    readonly _tag: "Closing"
    readonly idle: Deferred.Deferred<void>
  }
  export interface Closed {
    readonly _tag: "Closed"
  }
  export interface Failed {
    readonly _tag: "Failed"
    readonly error: ProcessPoolError
    /** Set while its scope closes: completes once its live workers hold no job. */
    idle: Deferred.Deferred<void> | undefined
  }
}

export const poolOpen: PoolStatus.Open = { _tag: "Open" }
export const poolClosed: PoolStatus.Closed = { _tag: "Closed" }

const closedError = poolError(new PoolClosedError({ message: "the pool is closed" }))

/** Why a pool in this status takes no new job, if it takes none. */
export const refusal = (status: PoolStatus): ProcessPoolError | undefined =>
  status._tag === "Open" ? undefined : status._tag === "Failed" ? status.error : closedError

/** Whether a pool in this status keeps its workers: replaces those that end. */
export const keepsWorkers = (status: PoolStatus): boolean => status._tag === "Open" || status._tag === "Closing"

export class PoolImpl implements ProcessPool.ProcessPool {
  readonly [TypeId]: ProcessPool.TypeId = TypeId
  readonly settings: Settings
  /** Runs an effect in a fiber the pool owns (interrupted when the pool's scope closes). */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** Makes its worker processes. */
  readonly makeWorker: MakeWorker
  /** Starts workers up to the pool's size (poolWorkers.ts): how the scheduler replaces one it retires. */
  readonly replenish: (pool: PoolImpl) => void
  /** Jobs waiting for a worker, oldest first (`Queued` or `Dropped`); `queued` counts the `Queued`. */
  readonly pending = MutableList.make<Job>()
  queued = 0
  /** Open while there is room in the queue (with `maxQueued`): callers wait on it. */
  readonly room = Latch.makeUnsafe(true)
  readonly workers = new Set<Worker>()
  status: PoolStatus = poolOpen
  /** Workers that died before they were ready, in a row. */
  crashes = 0
  /**
   * How often each job was given back by a worker that died before it claimed it (see
   * `takeBack`): only jobs that were, so weakly, and no field on every job.
   */
  readonly givenBack = new WeakMap<Job, number>()
  /** Done once a worker is ready (`make` returns), or failed with the pool's failure (`make` fails). */
  readonly started = Deferred.makeUnsafe<void, ProcessPoolError>()
  /**
   * How long a cancelled job may take to stop before its worker is thought stuck and
   * replaced early (see `killIfStuck` in poolScheduler.ts): doubled each time that proves
   * needless, halved each time a worker is killed for it.
   */
  stuckAfterMs = 20
  /** The worker replaced early, until that proves needless or it ends: one at a time. */
  earlyRetired: Worker | undefined = undefined
  nextJob = 0
  nextWorker = 0
  nextTarget = 0
  /** How long a chunk takes in a worker, in ms: a moving average of what workers report. */
  chunkMs: number | undefined = undefined
  /** A dispatch is due at the end of this tick (see `dispatchSoon`). */
  dispatchDue = false
  constructor(
    settings: Settings,
    fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>,
    makeWorker: MakeWorker,
    replenish: (pool: PoolImpl) => void
  ) {
    this.settings = settings
    this.fork = fork
    this.makeWorker = makeWorker
    this.replenish = replenish
  }
  get size(): number {
    return this.settings.size
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return `<ProcessPool size=${this.settings.size} workers=${this.workers.size} pending=${this.queued} ${this.status._tag.toLowerCase()}>`
  }
}
