/**
 * A pool's workers: started through the pool's `makeWorker`, ready once they say so, and
 * replaced when they end. A worker that dies fails the jobs it held with a typed error
 * (carrying the error it died of, if it died of one); workers that keep dying before they
 * are ready fail the pool instead of spinning.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { DecodeError } from "../ProcessError.ts"
import { CrashLoopError, type ProcessPoolError, WorkerCrashedError } from "../ProcessPoolError.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import { checkIdle, dispatch, failInFlight, failQueued, onResults, retire } from "./poolScheduler.ts"
import { keepsWorkers, poolError, type PoolImpl, Worker, workerExited } from "./poolState.ts"
import type { WorkerExit } from "./poolTransport.ts"

/** Starts a worker, and sees to what follows its end. */
export const spawn = (pool: PoolImpl): Effect.Effect<void> =>
  Effect.suspend(() => {
    const settings = pool.settings
    const process = pool.makeWorker({
      name: `PoolWorker-${++pool.nextWorker}`,
      initializer: settings.initializer,
      env: settings.env,
      execArgv: settings.execArgv,
      inheritEnv: settings.inheritEnv,
      gracePeriod: settings.gracePeriod
    }, {
      onMessage: (message) => onMessage(pool, worker, message),
      onUnreadable: (error) => replaceUnreadable(pool, worker, error)
    })
    const worker = new Worker(process)
    pool.workers.add(worker)
    return Effect.matchEffect(process.start, {
      onFailure: () => Effect.sync(() => onExit(pool, worker, { exitCode: 1, uncaught: undefined })),
      onSuccess: () =>
        Effect.sync(() => {
          pool.fork(Effect.flatMap(process.exit, (exit) => Effect.sync(() => onExit(pool, worker, exit))))
        })
    })
  })

/** Starts a worker in a fiber of the pool's (how `pool.startWorker` is given). */
export const startWorker = (pool: PoolImpl): void => {
  pool.fork(spawn(pool))
}

const onMessage = (pool: PoolImpl, worker: Worker, message: PoolProtocol.WorkerMessage): void => {
  if (message._tag === "Results") return onResults(pool, worker, message.chunks)
  // Idle: initialized, ready for work.
  if (worker.state._tag !== "Starting") return
  worker.state = { _tag: "Ready", cancelling: 0 }
  pool.crashes = 0
  dispatch(pool)
}

const onExit = (pool: PoolImpl, worker: Worker, exit: WorkerExit): void => {
  if (!pool.workers.delete(worker)) return
  const previous = worker.state
  worker.state = workerExited
  pool.fork(worker.process.close)
  const { exitCode, uncaught } = exit
  const cause = uncaught === undefined ? {} : { cause: uncaught }
  failInFlight(worker, poolError(new WorkerCrashedError({ worker: worker.process.name, exitCode, ...cause })))
  if (!keepsWorkers(pool.status)) return checkIdle(pool)
  if (previous._tag === "Starting" && ++pool.crashes >= pool.settings.crashLoopLimit) {
    return failPool(pool, poolError(new CrashLoopError({ failures: pool.crashes, exitCode, ...cause })))
  }
  // A retiring worker's replacement was started when it retired.
  if (previous._tag !== "Retiring") pool.startWorker(pool)
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
  pool.fork(worker.process.close)
  dispatch(pool)
  checkIdle(pool)
}

/** Every job queued, and every later one, fails with `error`; a closing pool stops waiting for its work. */
const failPool = (pool: PoolImpl, error: ProcessPoolError): void => {
  const status = pool.status
  pool.status = { _tag: "Failed", error }
  if (status._tag === "Closing") Deferred.doneUnsafe(status.idle, Exit.void)
  failQueued(pool, error)
}
