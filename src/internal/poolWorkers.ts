/**
 * A pool's workers: started through the pool's `makeWorker`, ready once they say so, and
 * replaced when they end, never more than `size` beyond the pool's size alive at once. A
 * worker that dies fails the jobs it had begun with a typed error (carrying the error it
 * died of, if it died of one), and gives those it had not begun back to the queue; with
 * the `"break"` policy, it breaks the pool instead. Workers that keep dying before they are
 * ready fail the pool instead of spinning.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { type DecodeError, type ProcessError, UncaughtError } from "../ProcessError.ts"
import { CrashLoopError, PoolBrokenError, type ProcessPoolError, WorkerCrashedError } from "../ProcessPoolError.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import { checkIdle, claim, dispatch, failInFlight, failQueued, onResults, requeue, retire, takeBack } from "./poolScheduler.ts"
import { allFail, finish, type Job, keepsWorkers, poolError, type PoolImpl, refusal, Worker, workerExited } from "./poolState.ts"
import type { WorkerExit } from "./poolTransport.ts"

/** Starts a worker now (its process in a fiber of the pool's), and sees to what follows its end. */
export const startWorker = (pool: PoolImpl): void => {
  const settings = pool.settings
  const process = pool.makeWorker({
    name: `PoolWorker-${++pool.nextWorker}`,
    initializer: settings.initializer,
    env: settings.env,
    execArgv: settings.execArgv,
    inheritEnv: settings.inheritEnv,
    gracePeriod: settings.gracePeriod,
    maxMessageBytes: settings.maxMessageBytes
  }, {
    onMessage: (message) => onMessage(pool, worker, message),
    onUnreadable: (error) => replaceUnreadable(pool, worker, error)
  })
  const worker = new Worker(process)
  pool.workers.add(worker)
  pool.fork(Effect.matchEffect(process.start, {
    onFailure: (error) => Effect.sync(() => onExit(pool, worker, startFailure(error))),
    onSuccess: () => Effect.flatMap(process.exit, (exit) => Effect.sync(() => onExit(pool, worker, exit)))
  }))
}

/** A worker whose process could not start ends as one that died before it was ready, with why. */
const startFailure = (error: ProcessError): WorkerExit => {
  const reason = error.reason
  return {
    exitCode: reason._tag === "SpawnError" ? reason.exitCode ?? 1 : 1,
    uncaught: new UncaughtError({ name: reason._tag, message: reason.message })
  }
}

/**
 * Starts workers until `size` of them take jobs (or will, once ready), within the bound of
 * `2 × size` worker processes alive: the retiring ones (stuck, or at `maxTasksPerChild`)
 * count, so that replacements wait for them to end past that bound.
 */
export const replenish = (pool: PoolImpl): void => {
  if (!keepsWorkers(pool.status)) return
  const size = pool.settings.size
  let active = 0
  for (const worker of pool.workers) if (worker.state._tag === "Starting" || worker.state._tag === "Ready") active++
  for (; active < size && pool.workers.size < 2 * size; active++) startWorker(pool)
}

/**
 * Completes once a worker of the pool is ready, or fails with the pool's failure if none
 * can be (a crash loop, or a broken pool): what `make` waits for.
 */
export const awaitStarted = (pool: PoolImpl): Effect.Effect<void, ProcessPoolError> => Deferred.await(pool.started)

const onMessage = (pool: PoolImpl, worker: Worker, message: PoolProtocol.WorkerMessage): void => {
  if (message._tag === "Results") return onResults(pool, worker, message.chunks)
  if (message._tag === "Started") return claim(worker, message.through)
  // Idle: initialized, ready for work.
  if (worker.state._tag !== "Starting") return
  worker.state = { _tag: "Ready", cancelling: 0 }
  pool.crashes = 0
  Deferred.doneUnsafe(pool.started, Exit.void)
  dispatch(pool)
}

const onExit = (pool: PoolImpl, worker: Worker, exit: WorkerExit): void => {
  if (!pool.workers.delete(worker)) return
  const previous = worker.state
  worker.state = workerExited
  if (pool.earlyRetired === worker) pool.earlyRetired = undefined
  pool.fork(worker.process.close)
  const { exitCode, uncaught } = exit
  const crash = new WorkerCrashedError({ worker: worker.process.name, exitCode, ...(uncaught === undefined ? {} : { cause: uncaught }) })
  const notBegun = takeBack(pool, worker, poolError(crash))
  if (!worker.stopping && pool.settings.onWorkerCrash === "break" && keepsWorkers(pool.status)) {
    return breakPool(pool, crash, notBegun)
  }
  const refused = refusal(pool.status)
  if (refused !== undefined) {
    for (const job of notBegun) finish(job, allFail(job.args.length, refused))
    return checkIdle(pool)
  }
  requeue(pool, notBegun)
  if (previous._tag === "Starting" && ++pool.crashes >= pool.settings.crashLoopLimit) {
    return failPool(pool, poolError(new CrashLoopError({ failures: pool.crashes, exitCode, ...(uncaught === undefined ? {} : { cause: uncaught }) })))
  }
  replenish(pool)
  dispatch(pool)
  checkIdle(pool)
}

/**
 * A worker sent a message the pool cannot read (a bug, or something else writing to its
 * channel): the results it held may be lost, so its jobs fail now with a `DecodeError`,
 * and it is replaced, not trusted with more.
 */
const replaceUnreadable = (pool: PoolImpl, worker: Worker, error: DecodeError): void => {
  if (!pool.workers.has(worker)) return
  failInFlight(worker, poolError(error))
  if (worker.state._tag !== "Retiring") retire(pool, worker)
  stop(pool, worker)
  dispatch(pool)
  checkIdle(pool)
}

/** Closes a worker (SIGTERM, then SIGKILL after the grace period): its end is no crash. */
const stop = (pool: PoolImpl, worker: Worker): void => {
  worker.stopping = true
  pool.fork(worker.process.close)
}

/**
 * The `"break"` policy: a crash fails every job the pool has not finished with a
 * `PoolBrokenError` (but those the dead worker had begun: theirs is the crash), stops
 * the other workers, and every later job fails the same way.
 */
const breakPool = (pool: PoolImpl, crash: WorkerCrashedError, notBegun: ReadonlyArray<Job>): void => {
  const error = poolError(new PoolBrokenError({ crash }))
  for (const job of notBegun) finish(job, allFail(job.args.length, error))
  failPool(pool, error)
  for (const other of pool.workers) {
    failInFlight(other, error)
    stop(pool, other)
  }
  checkIdle(pool)
}

/**
 * Every job queued, and every later one, fails with `error`; `make` fails with it if no
 * worker was ready yet. A closing pool still waits for the jobs its live workers run.
 */
const failPool = (pool: PoolImpl, error: ProcessPoolError): void => {
  const status = pool.status
  pool.status = { _tag: "Failed", error, idle: status._tag === "Closing" ? status.idle : undefined }
  Deferred.doneUnsafe(pool.started, Exit.fail(error))
  failQueued(pool, error)
  checkIdle(pool)
}
