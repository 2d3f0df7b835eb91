/**
 * A pool of worker processes. Jobs (a chunk of items of one target) wait in `pending`
 * until a ready worker has room, are pushed to it, and finish when its results come back.
 * A worker that dies fails the jobs it held with a typed error, and is replaced; workers
 * that keep dying before they are ready fail the pool instead of spinning.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import type * as ProcessPool from "../ProcessPool.ts"
import {
  CrashLoopError,
  InvalidOptionsError,
  PoolClosedError,
  type ProcessPoolError,
  WorkerCrashedError
} from "../ProcessPoolError.ts"
import { DecodeError, EncodeError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import { errorMessage, uncaught, withRemoteStack } from "./errors.ts"
import * as internalProcess from "./process.ts"
import * as PoolProtocol from "./poolProtocol.ts"
import {
  allFail,
  type ChunkOutcome,
  type ItemExit,
  type Job,
  poolError,
  PoolImpl,
  validate,
  withExits,
  type Worker
} from "./poolState.ts"
import { worker as workerTarget } from "./poolWorker.ts"
import * as internalTarget from "./target.ts"

export { type ChunkOutcome, exitsOf, firstExit, invalidOption, isProcessPool, TypeId } from "./poolState.ts"

// ---------------------------------------------------------------------------
// workers

const spawnWorker = (pool: PoolImpl): Effect.Effect<void> =>
  Effect.gen(function*() {
    // The pool owns its workers' scopes and closes them itself: as children of its own
    // scope they would close before the pool's finalizer had let queued work finish.
    const scope = Scope.makeUnsafe("sequential")
    const process = new internalProcess.ProcessImpl<void, never>(workerTarget, {
      args: { initializer: pool.settings.initializer },
      name: `PoolWorker-${++pool.nextWorker}`,
      daemon: true,
      gracePeriod: pool.settings.gracePeriod,
      env: pool.settings.env,
      execArgv: pool.settings.execArgv
    })
    const worker: Worker = {
      process,
      scope,
      inFlight: new Map(),
      targets: new Map(),
      ready: false,
      retiring: false,
      completed: 0,
      stopping: 0
    }
    pool.workers.add(worker)
    const started = yield* Effect.exit(Scope.provide(
      internalProcess.startWith(process, {
        connect: (connection) =>
          connection.register(
            "Pool",
            (message, binary) =>
              Result.mapError(
                PoolProtocol.decodeWorkerMessage(Predicate.hasProperty(message, "message") ? message.message : undefined, binary),
                (error) => error.message
              ),
            (message) => onWorkerMessage(pool, worker, message)
          ),
        onProtocolError: (error) => replaceUnreadable(pool, worker, error.message)
      }),
      scope
    ))
    if (Exit.isFailure(started)) return onWorkerExit(pool, worker, 1)
    pool.fork(Effect.flatMap(Deferred.await(process.exited), (code) => Effect.sync(() => onWorkerExit(pool, worker, code))))
  })

const onWorkerMessage = (pool: PoolImpl, worker: Worker, message: PoolProtocol.WorkerMessage) => {
  if (message._tag === "Idle") {
    worker.ready = true
    pool.crashes = 0
    return dispatch(pool)
  }
  for (const chunk of message.chunks) {
    const job = worker.inFlight.get(chunk.id)
    if (job === undefined) continue
    worker.inFlight.delete(chunk.id)
    clearTimeout(job.killTimer)
    if (job.cancelled) {
      worker.stopping--
      continue
    }
    worker.completed++
    pool.chunkMs = pool.chunkMs === undefined ? chunk.ms : pool.chunkMs * 0.8 + chunk.ms * 0.2
    finish(job, chunkOutcome(job, chunk))
  }
  retireIfDone(pool, worker)
  dispatch(pool)
  checkIdle(pool)
}

/** A chunk's outcome, from what its worker answered. */
const chunkOutcome = (job: Job, chunk: PoolProtocol.ChunkResult): ChunkOutcome => {
  const count = job.args.length
  if (chunk.values !== undefined && chunk.values.length === count) {
    const codecs = internalTarget.codecs(job.target)
    // Values that are their own JSON need no decoding.
    if (codecs.allPlainSuccess(chunk.values)) {
      return { _tag: "Values", values: chunk.values }
    }
    const decoded = chunk.values.map((value) => codecs.decodeSuccess(value))
    if (decoded.every(Exit.isSuccess)) return { _tag: "Values", values: decoded.map((exit) => exit.value) }
    return withExits(decoded.map((exit): ItemExit => {
      if (Exit.isSuccess(exit)) return exit
      const message = errorMessage(Cause.squash(exit.cause))
      return Exit.fail(poolError(new DecodeError({ payload: "success", message })))
    }))
  }
  if (chunk.items !== undefined && chunk.items.length === count) {
    return withExits(chunk.items.map((item) => itemExit(job.target, item)))
  }
  return allFail(count, poolError(new DecodeError({ payload: "message", message: `chunk ${chunk.id}: no outcome for each item` })))
}

/** Hands a job's outcome to its caller (once). */
const finish = (job: Job, outcome: ChunkOutcome) => {
  const resume = job.resume
  job.resume = undefined
  resume?.(outcome)
}

/** An item's outcome as the caller sees it: the task's own exit, or a ProcessPoolError. */
const itemExit = (target: Target.Any, item: PoolProtocol.ItemResult): ItemExit => {
  if ("failure" in item) return Exit.fail(poolError(item.failure))
  const decoded = internalTarget.codecs(target).decodeExit(item.exit)
  if (Exit.isFailure(decoded)) {
    return Exit.fail(poolError(new DecodeError({ payload: "success", message: errorMessage(Cause.squash(decoded.cause)) })))
  }
  const exit = decoded.value
  if (Exit.isFailure(exit) && !Cause.hasFails(exit.cause) && Cause.hasDies(exit.cause)) {
    return Exit.fail(poolError(uncaught(Cause.squash(exit.cause))))
  }
  return withRemoteStack(exit, "stack" in item ? item.stack : undefined)
}

const onWorkerExit = (pool: PoolImpl, worker: Worker, exitCode: number) => {
  if (!pool.workers.delete(worker)) return
  pool.fork(Scope.close(worker.scope, Exit.void))
  failInFlight(worker, poolError(new WorkerCrashedError({ worker: worker.process.name, exitCode })))
  if (pool.status === "closed") return checkIdle(pool)
  if (!worker.ready && ++pool.crashes >= pool.settings.crashLoopLimit) {
    return failPool(pool, poolError(new CrashLoopError({ failures: pool.crashes, exitCode })))
  }
  // A retiring worker's replacement was started before it retired.
  if (!worker.retiring) pool.fork(spawnWorker(pool))
  dispatch(pool)
  checkIdle(pool)
}

/** Fails every task a worker holds (the cancelled ones have no caller left). */
const failInFlight = (worker: Worker, error: ProcessPoolError) => {
  for (const job of worker.inFlight.values()) {
    clearTimeout(job.killTimer)
    if (!job.cancelled) finish(job, allFail(job.args.length, error))
  }
  worker.inFlight.clear()
}

/**
 * A worker sent a message the pool cannot read (a bug, or something else writing to its
 * channel): the results it held may be lost, so its tasks fail now with a `DecodeError`,
 * and it is replaced, not trusted with more.
 */
const replaceUnreadable = (pool: PoolImpl, worker: Worker, message: string) => {
  if (!pool.workers.has(worker)) return
  failInFlight(worker, poolError(new DecodeError({ payload: "message", message: `from ${worker.process.name}: ${message}` })))
  if (!worker.retiring) {
    worker.retiring = true
    if (pool.status !== "closed") pool.fork(spawnWorker(pool))
  }
  pool.fork(Scope.close(worker.scope, Exit.void))
  dispatch(pool)
  checkIdle(pool)
}

/**
 * Python's maxtasksperchild: a worker given its last task is retiring, and takes no more;
 * its replacement starts at once, while that task runs.
 */
const retireAtQuota = (pool: PoolImpl, worker: Worker) => {
  if (worker.retiring || worker.completed + worker.inFlight.size < pool.settings.maxTasksPerChild) return
  worker.retiring = true
  if (pool.status !== "closed") pool.fork(spawnWorker(pool))
}

/** A retiring worker ends once it is empty. */
const retireIfDone = (pool: PoolImpl, worker: Worker) => {
  if (worker.retiring && worker.inFlight.size === 0) pool.fork(Scope.close(worker.scope, Exit.void))
}

const failPool = (pool: PoolImpl, error: ProcessPoolError) => {
  pool.failure = error
  failQueued(pool, error)
  wakeRoomWaiters(pool)
  checkIdle(pool)
}

// ---------------------------------------------------------------------------
// jobs

/**
 * How many jobs a worker may hold at once. Adaptive by default: enough to keep about
 * `queuedWorkMs` of work waiting in each worker (so that it never idles for a round trip),
 * at least 2 and at most 256. Tiny tasks get many in flight; long ones two, so that few wait
 * behind a long task while another worker could have run them. The upper bound is about
 * what 1 ms holds of the tiniest tasks: at 64, 100k trivial tasks submitted at once went
 * out ~60 per write, and the parent and workers spent ~15% more CPU per task.
 */
const capacity = (pool: PoolImpl): number => {
  const fixed = pool.settings.inFlightPerWorker
  if (fixed !== undefined) return fixed
  if (pool.chunkMs === undefined) return 2
  return Math.max(2, Math.min(256, Math.floor(queuedWorkMs / Math.max(pool.chunkMs, 0.001))))
}
const queuedWorkMs = 1

/**
 * Dispatches at the end of the tick: callers that submit in the same tick (a `forEach`
 * refilling its window as results come in, say) share one message per worker instead of
 * one message each.
 */
export const dispatchSoon = (pool: PoolImpl) => {
  if (pool.dispatchDue) return
  pool.dispatchDue = true
  queueMicrotask(() => dispatch(pool))
}

/** Gives pending jobs to ready workers, the least busy first, one push per worker. */
const dispatch = (pool: PoolImpl) => {
  pool.dispatchDue = false
  if (pool.queued === 0) return
  const cap = capacity(pool)
  const batches = new Map<Worker, Batch>()
  const send = (worker: Worker, batch: Batch) => {
    try {
      pushTo(worker, { _tag: "Run", targets: batch.targets, chunks: batch.chunks })
    } catch (error) {
      // Too large for one message (its JSON text longer than V8 can make a string): each
      // chunk goes alone, with the targets, which the worker may not have learned now.
      for (const { ref } of batch.targets) forgetTarget(worker, ref)
      if (batch.chunks.length > 1) {
        for (const chunk of batch.chunks) send(worker, { targets: batch.targets, chunks: [chunk], items: 0 })
      } else {
        failUnsent(pool, worker, batch.chunks[0]!.id, `its arguments are too large to send: ${errorMessage(error)}`)
      }
    }
  }
  while (pool.queued > 0) {
    let best: Worker | undefined
    for (const worker of pool.workers) {
      if (!worker.ready || worker.retiring || worker.stopping > 0 || worker.inFlight.size >= cap) continue
      if (best === undefined || worker.inFlight.size < best.inFlight.size) best = worker
    }
    if (best === undefined) break
    const job = pool.pending.shift()!
    if (job.dropped) continue
    pool.queued--
    job.worker = best
    best.inFlight.set(job.id, job)
    retireAtQuota(pool, best)
    let batch = batches.get(best)
    // Big chunks go in messages of their own: a worker starts on a chunk only once its
    // whole message is in, and a line has a maximum length.
    if (batch !== undefined && batch.items + job.args.length > batchItems) {
      send(best, batch)
      batch = undefined
    }
    if (batch === undefined) batches.set(best, batch = { targets: [], chunks: [], items: 0 })
    batch.items += job.args.length
    let ref = best.targets.get(job.target)
    if (ref === undefined) {
      best.targets.set(job.target, ref = ++pool.nextTarget)
      batch.targets.push({ ref, module: job.target.module, name: job.target.name })
    }
    batch.chunks.push({ id: job.id, target: ref, args: job.args })
  }
  for (const [worker, batch] of batches) send(worker, batch)
  wakeRoomWaiters(pool)
}

/** Sends a message to a worker, with the binary parts its encoding made. */
const pushTo = (worker: Worker, message: PoolProtocol.PoolMessage) => {
  const wire = PoolProtocol.encodePoolMessage(message)
  if (worker.process.state._tag === "Running") worker.process.state.connection.send({ _tag: "Pool", message: wire.json }, wire.binary)
}

/** Makes the pool name a target to `worker` again before its next chunk. */
const forgetTarget = (worker: Worker, ref: number) => {
  for (const [target, known] of worker.targets) {
    if (known === ref) worker.targets.delete(target)
  }
}

/** Fails a chunk that could not be sent to its worker. */
const failUnsent = (pool: PoolImpl, worker: Worker, id: number, message: string) => {
  const job = worker.inFlight.get(id)
  if (job === undefined) return
  worker.inFlight.delete(id)
  clearTimeout(job.killTimer)
  finish(job, allFail(job.args.length, poolError(new EncodeError({ payload: "arguments", message }))))
  retireIfDone(pool, worker)
  queueMicrotask(() => checkIdle(pool))
}

/** The chunks going to one worker in one message. */
interface Batch {
  readonly targets: Array<PoolProtocol.TargetRef>
  readonly chunks: Array<PoolProtocol.Chunk>
  items: number
}

/** A message holds chunks up to this many items in all (or one bigger chunk). */
const batchItems = 1024

/** Fails every job still queued. */
const failQueued = (pool: PoolImpl, error: ProcessPoolError) => {
  for (const job of pool.pending.drain()) {
    if (!job.dropped) finish(job, allFail(job.args.length, error))
  }
  pool.queued = 0
}

const wakeRoomWaiters = (pool: PoolImpl) => {
  while (pool.roomWaiters.length > 0 && (pool.queued < pool.settings.maxQueued || pool.failure !== undefined)) {
    Deferred.doneUnsafe(pool.roomWaiters.shift()!, Exit.void)
  }
}

const checkIdle = (pool: PoolImpl) => {
  if (pool.queued > 0) return
  for (const worker of pool.workers) if (worker.inFlight.size > 0) return
  for (const waiter of pool.idleWaiters.splice(0)) Deferred.doneUnsafe(waiter, Exit.void)
}

/** The caller gave up on a job: drop it if it waits, else stop it in its worker (killing the worker if it does not stop). */
export const cancel = (pool: PoolImpl, job: Job) => {
  if (job.resume === undefined) return
  const worker = job.worker
  if (worker === undefined) {
    if (job.dropped) return
    job.dropped = true
    pool.queued--
    wakeRoomWaiters(pool)
    return checkIdle(pool)
  }
  if (!worker.inFlight.has(job.id)) return
  job.cancelled = true
  worker.stopping++
  pushTo(worker, { _tag: "Cancel", id: job.id })
  // A task that can be interrupted stops within a millisecond or so. One that has not
  // stopped after `stuckAfterMs` is likely in synchronous code, and its worker about to be
  // killed: its replacement starts now rather than after the kill (the old worker retires,
  // and ends as usual if it stops in time after all).
  const grace = Duration.toMillis(pool.settings.gracePeriod)
  const probe = Math.min(stuckAfterMs, grace / 2)
  job.killTimer = setTimeout(() => {
    if (!worker.inFlight.has(job.id)) return
    if (!worker.retiring && pool.status !== "closed") {
      worker.retiring = true
      pool.fork(spawnWorker(pool))
    }
    job.killTimer = setTimeout(() => {
      if (worker.inFlight.has(job.id)) worker.process.signal("SIGKILL", true)
    }, grace - probe)
  }, probe)
}
const stuckAfterMs = 20

// ---------------------------------------------------------------------------
// the pool as a resource

export const make = (
  options: ProcessPool.Options | undefined,
  cpus: number
): Effect.Effect<ProcessPool.ProcessPool, ProcessPoolError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = validate(options, cpus)
    if (settings instanceof InvalidOptionsError) return yield* Effect.fail(poolError(settings))
    const fork = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    const pool = new PoolImpl(settings, (effect) => fork(effect))
    yield* Effect.addFinalizer((exit) => close(pool, Exit.hasInterrupts(exit)))
    for (let i = 0; i < settings.size; i++) yield* spawnWorker(pool)
    return pool
  })

/** Closing: pending and running work finishes first (Python's close + join); interrupted: everything stops now (terminate). */
const close = (pool: PoolImpl, interrupted: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!interrupted) {
      pool.status = "closing"
      const idle = Deferred.makeUnsafe<void>()
      pool.idleWaiters.push(idle)
      checkIdle(pool)
      yield* Deferred.await(idle)
    }
    pool.status = "closed"
    const terminated = poolError(new PoolClosedError({ message: "the pool was terminated" }))
    failQueued(pool, terminated)
    for (const worker of pool.workers) failInFlight(worker, terminated)
    wakeRoomWaiters(pool)
    yield* Effect.forEach(pool.workers, (worker) => Scope.close(worker.scope, Exit.interrupt()), {
      concurrency: "unbounded",
      discard: true
    })
  })
