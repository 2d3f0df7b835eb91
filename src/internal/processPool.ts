/**
 * A pool as a resource: made with its workers in the current scope, closed when the scope
 * closes. The rest of the public API is gathered here from the modules that implement it.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type * as ProcessPool from "../ProcessPool.ts"
import { InvalidOptionsError, PoolClosedError, type ProcessPoolError } from "../ProcessPoolError.ts"
import { checkIdle, failInFlight, failQueued } from "./poolScheduler.ts"
import { validate } from "./poolSettings.ts"
import { poolClosed, poolError, PoolImpl } from "./poolState.ts"
import * as PoolTransport from "./poolTransport.ts"
import { worker as workerTarget } from "./poolWorker.ts"
import { awaitStarted, replenish } from "./poolWorkers.ts"

export { run } from "./poolCalls.ts"
export { map, mapExits, mapUnordered, stream } from "./poolMap.ts"
export { invalidOption } from "./poolSettings.ts"
export { isProcessPool, TypeId } from "./poolState.ts"

/** Worker processes made by the process layer, running the pool's worker loop. */
const makeWorkerProcess = PoolTransport.makeWorker(workerTarget)

/**
 * A pool, once one of its workers is ready: that a worker gets through its start (Node's
 * flags, the bootstrap, the initializer) is the evidence that the pool can run tasks at
 * all. The others start meanwhile, and may still be starting when it returns; a first task
 * would wait for a ready worker anyway. If none can start, it fails with the pool's failure
 * (`CrashLoopError`, or `PoolBrokenError` with the `"break"` policy).
 */
export const make = (
  options: ProcessPool.Options | undefined,
  cpus: number
): Effect.Effect<ProcessPool.ProcessPool, ProcessPoolError, Scope.Scope> =>
  Effect.flatMap(makeWith(options, cpus, makeWorkerProcess), (pool) =>
    Effect.as(
      // Failed: its workers end now, not when the caller's scope closes.
      Effect.onError(awaitStarted(pool), () => close(pool, true)),
      pool
    ))

/** `make` without waiting for a ready worker, its worker processes made by `makeWorker` (a fake, in tests). */
export const makeWith = (
  options: ProcessPool.Options | undefined,
  cpus: number,
  makeWorker: PoolTransport.MakeWorker
): Effect.Effect<PoolImpl, ProcessPoolError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = validate(options, cpus)
    if (settings instanceof InvalidOptionsError) return yield* Effect.fail(poolError(settings))
    const fork = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    const pool = new PoolImpl(settings, (effect) => fork(effect), makeWorker, replenish)
    yield* Effect.addFinalizer((exit) => close(pool, Exit.hasInterrupts(exit)))
    replenish(pool)
    return pool
  })

/** Closing: pending and running work finishes first (Python's close + join); interrupted: everything stops now (terminate). */
const close = (pool: PoolImpl, interrupted: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    const status = pool.status
    if (!interrupted && (status._tag === "Open" || status._tag === "Failed")) {
      const idle = Deferred.makeUnsafe<void>()
      // A failed pool takes no job, but its live workers finish those they run.
      if (status._tag === "Failed") status.idle = idle
      else pool.status = { _tag: "Closing", idle }
      checkIdle(pool)
      yield* Deferred.await(idle)
    }
    // A failed pool keeps its failure: later callers are told why it failed.
    if (pool.status._tag !== "Failed") pool.status = poolClosed
    const terminated = poolError(new PoolClosedError({ message: "the pool was terminated" }))
    failQueued(pool, terminated)
    for (const worker of pool.workers) failInFlight(worker, terminated)
    yield* Effect.forEach(pool.workers, (worker) => worker.process.close, { concurrency: "unbounded", discard: true })
  })
