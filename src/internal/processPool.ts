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
import { spawn, startWorker } from "./poolWorkers.ts"

export { run } from "./poolCalls.ts"
export { map, mapExits, mapUnordered, stream } from "./poolMap.ts"
export { invalidOption } from "./poolSettings.ts"
export { isProcessPool, TypeId } from "./poolState.ts"

/** Worker processes made by the process layer, running the pool's worker loop. */
const makeWorkerProcess = PoolTransport.makeWorker(workerTarget)

export const make = (
  options: ProcessPool.Options | undefined,
  cpus: number
): Effect.Effect<ProcessPool.ProcessPool, ProcessPoolError, Scope.Scope> => makeWith(options, cpus, makeWorkerProcess)

/** `make`, with the pool's worker processes made by `makeWorker` (a fake, in tests). */
export const makeWith = (
  options: ProcessPool.Options | undefined,
  cpus: number,
  makeWorker: PoolTransport.MakeWorker
): Effect.Effect<PoolImpl, ProcessPoolError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = validate(options, cpus)
    if (settings instanceof InvalidOptionsError) return yield* Effect.fail(poolError(settings))
    const fork = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    const pool = new PoolImpl(settings, (effect) => fork(effect), makeWorker, startWorker)
    yield* Effect.addFinalizer((exit) => close(pool, Exit.hasInterrupts(exit)))
    for (let i = 0; i < settings.size; i++) yield* spawn(pool)
    return pool
  })

/** Closing: pending and running work finishes first (Python's close + join); interrupted: everything stops now (terminate). */
const close = (pool: PoolImpl, interrupted: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!interrupted && pool.status._tag === "Open") {
      const idle = Deferred.makeUnsafe<void>()
      pool.status = { _tag: "Closing", idle }
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
