/**
 * The pool's scheduler: jobs wait in `pending` until a ready worker has room, are sent to
 * it, and finish when its results come back; a job whose caller gives up is dropped, or
 * stopped in its worker. It reaches workers only through their `WorkerProcess`
 * (poolTransport.ts), and starts new ones through `pool.replenish`.
 *
 * Dispatching and taking results in are the pool's hot path in the parent, run for every
 * task: they stay plain loops over mutable state, with no Effect, fiber or allocation per
 * job beyond the job itself (see BENCHMARKS-pool.md for what each of these cost).
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as MutableList from "effect/MutableList"
import { EncodeError } from "../ProcessError.ts"
import type { ProcessPoolError } from "../ProcessPoolError.ts"
import { errorMessage } from "./errors.ts"
import { movingAverage } from "./movingAverage.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import { chunkOutcome } from "./poolResults.ts"
import {
  allFail,
  finish,
  type Job,
  jobDone,
  jobDropped,
  jobQueued,
  type JobState,
  keepsWorkers,
  poolError,
  type PoolImpl,
  type Worker,
  workerRetiring
} from "./poolState.ts"

// ---------------------------------------------------------------------------
// capacity

/**
 * How many jobs a worker may hold at once. Adaptive by default: enough to keep about
 * `queuedWorkMs` of work waiting in each worker (so that it never idles for a round trip),
 * at least 2 and at most 256. Tiny tasks get many in flight; long ones two, so that few wait
 * behind a long task while another worker could have run them. The upper bound is about
 * what 1 ms holds of the tiniest tasks: more only made bigger messages, at a higher cost
 * per task in the parent and the workers.
 */
export const capacity = (pool: PoolImpl): number => {
  const fixed = pool.settings.inFlightPerWorker
  if (fixed !== undefined) return fixed
  if (pool.chunkMs === undefined) return 2
  return Math.max(2, Math.min(256, Math.floor(queuedWorkMs / Math.max(pool.chunkMs, 0.001))))
}
const queuedWorkMs = 1

// ---------------------------------------------------------------------------
// dispatch

/** Adds a job to the queue; it is dispatched at the end of the tick. */
export const enqueue = (pool: PoolImpl, job: Job): void => {
  MutableList.append(pool.pending, job)
  pool.queued++
  updateRoom(pool)
  dispatchSoon(pool)
}

/**
 * Dispatches at the end of the tick: callers that submit in the same tick (a `forEach`
 * refilling its window as results come in, say) share one message per worker instead of
 * one message each.
 */
export const dispatchSoon = (pool: PoolImpl): void => {
  if (pool.dispatchDue) return
  pool.dispatchDue = true
  queueMicrotask(() => dispatch(pool))
}

/** Gives pending jobs to ready workers, the least busy first, one message per worker. */
export const dispatch = (pool: PoolImpl): void => {
  pool.dispatchDue = false
  if (pool.queued === 0) return
  const cap = capacity(pool)
  const batches = new Map<Worker, Batch>()
  while (pool.queued > 0) {
    let best: Worker | undefined
    for (const worker of pool.workers) {
      const state = worker.state
      if (state._tag !== "Ready" || state.cancelling > 0 || worker.inFlight.size >= cap) continue
      if (best === undefined || worker.inFlight.size < best.inFlight.size) best = worker
    }
    if (best === undefined) break
    const job = MutableList.take(pool.pending) as Job
    if (job.state._tag === "Dropped") continue
    pool.queued--
    job.state = best.running
    best.inFlight.set(job.id, job)
    retireAtQuota(pool, best)
    let batch = batches.get(best)
    // Big chunks go in messages of their own: a worker starts on a chunk only once its
    // whole message is in, and a line has a maximum length.
    if (batch !== undefined && batch.items + job.args.length > batchItems) {
      send(pool, best, batch)
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
  for (const [worker, batch] of batches) send(pool, worker, batch)
  updateRoom(pool)
}

/** The chunks going to one worker in one message. */
interface Batch {
  readonly targets: Array<PoolProtocol.TargetRef>
  readonly chunks: Array<PoolProtocol.Chunk>
  items: number
}

/** A message holds chunks up to this many items in all (or one bigger chunk). */
const batchItems = 1024

const send = (pool: PoolImpl, worker: Worker, batch: Batch): void => {
  try {
    worker.process.send({ _tag: "Run", targets: batch.targets, chunks: batch.chunks })
  } catch (error) {
    // Too large for one message (its JSON text longer than V8 can make a string): each
    // chunk goes alone, with the targets, which the worker may not have learned now.
    for (const { ref } of batch.targets) forgetTarget(worker, ref)
    if (batch.chunks.length > 1) {
      for (const chunk of batch.chunks) send(pool, worker, { targets: batch.targets, chunks: [chunk], items: 0 })
    } else {
      failUnsent(pool, worker, batch.chunks[0]!.id, `its arguments are too large to send: ${errorMessage(error)}`)
    }
  }
}

/** Makes the pool name a target to `worker` again before its next chunk. */
const forgetTarget = (worker: Worker, ref: number): void => {
  for (const [target, known] of worker.targets) {
    if (known === ref) worker.targets.delete(target)
  }
}

/** Fails a chunk that could not be sent to its worker. */
const failUnsent = (pool: PoolImpl, worker: Worker, id: number, message: string): void => {
  const job = worker.inFlight.get(id)
  if (job === undefined) return
  worker.inFlight.delete(id)
  finish(job, allFail(job.args.length, poolError(new EncodeError({ payload: "arguments", message }))))
  closeIfRetired(pool, worker)
  queueMicrotask(() => checkIdle(pool))
}

// ---------------------------------------------------------------------------
// results

/** A worker's answers: each job finishes, or, if it was cancelled, is done. */
export const onResults = (pool: PoolImpl, worker: Worker, chunks: ReadonlyArray<PoolProtocol.ChunkResult>): void => {
  for (const chunk of chunks) {
    const job = worker.inFlight.get(chunk.id)
    if (job === undefined) continue
    worker.inFlight.delete(chunk.id)
    if (job.state._tag === "Cancelling") {
      const workerState = worker.state
      if (workerState._tag === "Retiring" && workerState.stuck === job) neededNoReplacement(pool, worker)
      stopped(job, job.state)
      continue
    }
    worker.completed++
    pool.chunkMs = movingAverage(pool.chunkMs, chunk.ms, 0.2)
    finish(job, chunkOutcome(job, chunk))
  }
  closeIfRetired(pool, worker)
  dispatch(pool)
  checkIdle(pool)
}

/** Fails every job a worker holds (the cancelled ones have no caller left). */
export const failInFlight = (worker: Worker, error: ProcessPoolError): void => {
  for (const job of worker.inFlight.values()) {
    if (job.state._tag === "Cancelling") stopped(job, job.state)
    else finish(job, allFail(job.args.length, error))
  }
  worker.inFlight.clear()
}

/**
 * A worker's note that it may have begun the jobs sent to it up to `through` (the one it
 * begins, and tiny ones after it whose answers it sends in groups): they count as begun
 * if it dies.
 */
export const claim = (worker: Worker, through: number): void => {
  for (const job of worker.inFlight.values()) {
    const state = job.state
    if (state._tag === "Running") job.state = worker.claimed
    else if (state._tag === "Cancelling" && !state.claimed) job.state = { ...state, claimed: true }
    if (job.id === through) return
  }
}

/**
 * A job given back this many times by workers that died before they began it fails with
 * the next such death instead: a chunk whose very message kills a worker (one it cannot
 * read, say) would otherwise be sent to worker after worker, for ever.
 */
const maxGivenBack = 2

/**
 * A worker died: the jobs it may have begun (those it claimed: it begins a job only once
 * its claim is in the kernel) fail with `error`, its cancelled ones are done, and those it
 * had not begun are given back, in the order they were sent, to be queued again (or
 * failed): they never ran, and will run once (but see `maxGivenBack`).
 */
export const takeBack = (pool: PoolImpl, worker: Worker, error: ProcessPoolError): Array<Job> => {
  const notBegun: Array<Job> = []
  for (const job of worker.inFlight.values()) {
    const state = job.state
    if (state._tag === "Cancelling") stopped(job, state)
    else if (state._tag === "Running" && state.claimed) finish(job, allFail(job.args.length, error))
    else {
      const times = pool.givenBack.get(job) ?? 0
      if (times >= maxGivenBack) finish(job, allFail(job.args.length, error))
      else {
        pool.givenBack.set(job, times + 1)
        notBegun.push(job)
      }
    }
  }
  worker.inFlight.clear()
  return notBegun
}

/** Jobs given back by a worker that died before it began them: first in the queue again, in their order. */
export const requeue = (pool: PoolImpl, jobs: ReadonlyArray<Job>): void => {
  if (jobs.length === 0) return
  for (const job of jobs) job.state = jobQueued
  MutableList.prependAll(pool.pending, jobs)
  pool.queued += jobs.length
  updateRoom(pool)
}

/** Fails every job still queued. */
export const failQueued = (pool: PoolImpl, error: ProcessPoolError): void => {
  for (const job of MutableList.takeAll(pool.pending)) finish(job, allFail(job.args.length, error))
  pool.queued = 0
  updateRoom(pool)
}

/** Opens or closes the queue's room to callers waiting for it (with `maxQueued`). */
const updateRoom = (pool: PoolImpl): void => {
  if (pool.settings.maxQueued === Infinity) return
  if (pool.queued < pool.settings.maxQueued || pool.status._tag !== "Open") pool.room.openUnsafe()
  else pool.room.closeUnsafe()
}

/** A closing pool (or a failed one whose scope closes) is idle once no job is queued or running. */
export const checkIdle = (pool: PoolImpl): void => {
  const status = pool.status
  const idle = status._tag === "Closing" || status._tag === "Failed" ? status.idle : undefined
  if (idle === undefined || pool.queued > 0) return
  for (const worker of pool.workers) if (worker.inFlight.size > 0) return
  Deferred.doneUnsafe(idle, Exit.void)
}

// ---------------------------------------------------------------------------
// retiring

/**
 * A worker takes no more jobs (`stuck` in that cancelled one, if that is why), and a
 * replacement starts now, if the pool keeps its workers and has room for one more alive.
 */
export const retire = (pool: PoolImpl, worker: Worker, stuck?: Job): void => {
  worker.state = stuck === undefined ? workerRetiring : { _tag: "Retiring", stuck }
  if (keepsWorkers(pool.status)) pool.replenish(pool)
}

/**
 * Python's maxtasksperchild: a worker given its last task is retiring, and takes no more;
 * its replacement starts at once, while that task runs.
 */
const retireAtQuota = (pool: PoolImpl, worker: Worker): void => {
  if (worker.completed + worker.inFlight.size >= pool.settings.maxTasksPerChild) retire(pool, worker)
}

/** A retiring worker is closed once it holds no job. */
const closeIfRetired = (pool: PoolImpl, worker: Worker): void => {
  if (worker.state._tag !== "Retiring" || worker.inFlight.size > 0 || worker.stopping) return
  worker.stopping = true
  pool.fork(worker.process.close)
}

// ---------------------------------------------------------------------------
// cancellation

/** The caller gave up on a job: drop it if it waits, else stop it in its worker (killing the worker if it does not stop). */
export const cancel = (pool: PoolImpl, job: Job): void => {
  const state = job.state
  if (state._tag === "Queued") {
    job.state = jobDropped
    pool.queued--
    updateRoom(pool)
    return checkIdle(pool)
  }
  if (state._tag !== "Running") return
  const worker = state.worker
  const cancelling: JobState.Cancelling = { _tag: "Cancelling", worker, claimed: state.claimed, timer: undefined }
  job.state = cancelling
  if (worker.state._tag === "Ready") worker.state.cancelling++
  worker.process.send({ _tag: "Cancel", id: job.id })
  cancelling.timer = pool.fork(killIfStuck(pool, worker, job))
}

/**
 * A task that can be interrupted stops within a millisecond or so. One that has not
 * stopped after `pool.stuckAfterMs` (20 ms at first) is likely in synchronous code, and
 * its worker about to be killed: its replacement starts now rather than after the kill
 * (the old worker retires, and ends as usual if it stops in time after all). On a busy
 * machine, a healthy worker can take longer than that to confirm: so one worker at a time
 * is replaced early, each early replacement that proves needless doubles the wait (up to
 * half the grace period, read again when a wait ends), and each worker killed halves it.
 * Timed on Effect's clock.
 */
const killIfStuck = Effect.fnUntraced(function*(pool: PoolImpl, worker: Worker, job: Job) {
  const grace = Duration.toMillis(pool.settings.gracePeriod)
  const start = yield* Clock.currentTimeMillis
  let waited = 0
  for (let probe = probeMs(pool, grace); waited < probe; probe = probeMs(pool, grace)) {
    yield* Effect.sleep(probe - waited)
    waited = (yield* Clock.currentTimeMillis) - start
  }
  if (worker.inFlight.get(job.id) === job && worker.state._tag === "Ready" && pool.earlyRetired === undefined) {
    pool.earlyRetired = worker
    retire(pool, worker, job)
  }
  if (grace > waited) yield* Effect.sleep(grace - waited)
  if (worker.inFlight.get(job.id) !== job) return
  if (pool.earlyRetired === worker) pool.stuckAfterMs = Math.max(minStuckMs, pool.stuckAfterMs / 2)
  worker.stopping = true
  worker.process.kill()
})
const minStuckMs = 20

/** How long a cancelled job may take to stop before its worker is replaced early. */
const probeMs = (pool: PoolImpl, grace: number): number => Math.min(pool.stuckAfterMs, grace / 2)

/** The job a worker was replaced early for stopped in time: the replacement was needless, so wait longer next time. */
const neededNoReplacement = (pool: PoolImpl, worker: Worker): void => {
  if (pool.earlyRetired !== worker) return
  pool.earlyRetired = undefined
  pool.stuckAfterMs = Math.min(pool.stuckAfterMs * 2, Duration.toMillis(pool.settings.gracePeriod) / 2)
}

/** A cancelled job has stopped (or its worker is gone): it is done, and its worker may take work again. */
const stopped = (job: Job, state: JobState.Cancelling): void => {
  job.state = jobDone
  state.timer?.interruptUnsafe()
  const workerState = state.worker.state
  if (workerState._tag === "Ready") workerState.cancelling--
}
