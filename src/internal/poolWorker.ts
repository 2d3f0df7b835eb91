/**
 * The loop a pool's worker process runs: the pool sends it chunks of tasks (a target, by
 * the number the pool named it by, and the encoded arguments of each item), it runs them
 * one at a time, in the order they came, and sends the encoded outcomes back, many per
 * message. A chunk is interrupted when the pool cancels it. How items run is in
 * poolItems.ts; how the worker talks to its pool, in poolTransport.ts.
 *
 * The loop is the worker's hot path for tasks sent one by one: one fiber per burst of
 * work, not per chunk; a task alone runs in that fiber with nothing around it, a
 * `Target.sync` one with no Effect at all; answers wait for the end of a burst to share a
 * write. Its states are mutated in place (one `Running` per worker) so that a burst costs
 * no allocation beyond its fiber. One file, just past the usual size: the loop's closures
 * share its state (backlog, runner, outbox), and split apart they would pass it around.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import { constVoid } from "effect/Function"
import * as Scope from "effect/Scope"
import { DecodeError, EncodeError, SpawnError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import { endOfTurn } from "./endOfTurn.ts"
import { errorMessage, uncaught } from "./errors.ts"
import { movingAverage } from "./movingAverage.ts"
import {
  decoder,
  effectOf,
  emptyOutcomes,
  encodeOutcomes,
  failedItems,
  type Outcomes,
  recordOne,
  refused,
  runItems,
  runSyncRange
} from "./poolItems.ts"
import * as MainGuard from "./mainGuard.ts"
import * as PoolProtocol from "./poolProtocol.ts"
import { type PoolLink, poolLink } from "./poolTransport.ts"
import * as internalTarget from "./target.ts"

type Loaded = Target.Any | SpawnError

/** Imports a target's module and finds the target in it. */
const load = (module: string, name: string): Promise<Loaded> =>
  MainGuard.importing(module, name).then(
    (refused) =>
      (refused === undefined ? undefined : new SpawnError({ message: refused.message })) ??
        internalTarget.lookup(module, name) ??
        new SpawnError({ message: internalTarget.notFound(module, name) }),
    (error) => new SpawnError({ message: `cannot import ${module}: ${errorMessage(error)}` })
  )

/** A chunk expected to take less than this is "tiny" (see `isTiny`). */
const tinyChunkMs = 0.02

/** A tiny chunk claims the chunks after it up to about this much work, in ms (see `announce`). */
const claimMs = 1

/**
 * The fiber that runs the backlog, one chunk after the other:
 *
 * - `Idle`: none; the next chunk that comes starts one.
 * - `Running`: from its start until its exit is handled (which may come before its fiber
 *   is done: asking the fiber whether it is done then said no, and left a runner that
 *   nothing would clear, and the worker stopped). `fiber` is known once `fork` returns.
 *   There is one such state per worker, reused by each runner (one per burst of work),
 *   so that starting one allocates nothing more than its fiber.
 * - `Cancelling`: interrupted to stop its chunk (not the worker): a new runner starts
 *   once it has ended, for the chunks after that one.
 */
type Runner = { readonly _tag: "Idle" } | Running | { readonly _tag: "Cancelling" }

interface Running {
  readonly _tag: "Running"
  fiber: Fiber.Fiber<void> | undefined
  /** The task scope provided to the loop (see `taskScope`): a new one needs providing. */
  provided: Scope.Closeable | undefined
}

const idle: Runner = { _tag: "Idle" }
const cancelling: Runner = { _tag: "Cancelling" }

/**
 * Initializes the worker, then runs what its pool sends over `link` until the pool stops
 * it. It dies if it cannot go on: its initializer failed (with that failure), its loop
 * broke, or it could not read a message of its pool (its chunks would be lost).
 */
export const runWorker = (
  link: PoolLink,
  { initializer, maxMessageBytes = Infinity }: PoolProtocol.WorkerArgs
): Effect.Effect<never, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (initializer !== null) {
      // A failing initializer ends the worker: the pool sees it die before it is ready.
      const target = yield* Effect.promise(() => load(initializer.module, initializer.target))
      if (target instanceof SpawnError) return yield* Effect.die(target)
      const failure = (yield* runItems(target, [initializer.args])).failures.get(0)
      if (failure !== undefined) return yield* Effect.die(Exit.isExit(failure) ? Cause.squash(failure.cause) : failure)
    }
    const fork = yield* FiberSet.makeRuntime<never, void, never>()
    /**
     * Fails when the worker cannot go on: its runner died of a defect (a bug of this loop:
     * a task's defect is answered as such), or a message of the pool could not be read.
     * The worker dies of it, and its pool fails its tasks and replaces it, instead of
     * waiting on a worker that stopped, or for answers that will never come.
     */
    const broken = Deferred.makeUnsafe<never>()
    /** The targets the pool named, by number: loaded, or still loading. */
    const targets = new Map<number, Loaded | Promise<Loaded>>()
    let outbox: Array<PoolProtocol.ChunkResult> = []
    /** Something was sent that may not be in the kernel yet: it would die with this process. */
    let unwritten = false
    /** Sends the answers so far: with the turn's other messages, or at once (`now`). */
    const flush = (now = false) => {
      if (outbox.length > 0) {
        const results = outbox
        outbox = []
        sendResults(results)
        unwritten = true
      }
      if (now && unwritten) unwritten = !link.flush()
    }
    /**
     * Sends answers in one message. One too large (its JSON text longer than V8 can make
     * a string) goes as one message per chunk, and a chunk too large alone is answered
     * with an `EncodeError` for each of its items.
     */
    const sendResults = (results: Array<PoolProtocol.ChunkResult>) => {
      try {
        link.send({ _tag: "Results", chunks: results })
      } catch (error) {
        if (results.length > 1) return results.forEach((result) => sendResults([result]))
        const { id, items, ms, values } = results[0]!
        const failure = new EncodeError({ payload: "success", message: `the results are too large to send: ${errorMessage(error)}` })
        link.send({ _tag: "Results", chunks: [{ id, ms, items: failedItems(values?.length ?? items?.length ?? 0, failure) }] })
      }
    }
    const flushSoon = endOfTurn(() => flush())
    /** The chunk being run, until it is answered. */
    let current: number | undefined
    const answer = (result: PoolProtocol.ChunkResult) => {
      if (result.id === current) current = undefined
      flushSoon()
      outbox.push(result)
    }
    /** How long an item of each target takes here, in ms: a moving average. */
    const itemMs = new Map<number, number>()
    const timed = (chunk: PoolProtocol.Chunk, ms: number) => {
      const perItem = ms / Math.max(1, chunk.args.length)
      const average = itemMs.get(chunk.target)
      itemMs.set(chunk.target, movingAverage(average, perItem, 0.2))
      return ms
    }
    /**
     * Answers wait for the end of a burst of chunks, to share one write, but not behind a
     * chunk that may take a while: it may be synchronous, and no microtask runs until it
     * ends. So they go out before any chunk not known to be tiny (a target not seen yet,
     * or one whose chunks took `tinyChunkMs` or more). The price: a long chunk of a target
     * that is usually quick holds back the answers of the chunks just before it.
     */
    const isTiny = (chunk: PoolProtocol.Chunk) => expectedMs(chunk) < tinyChunkMs
    /** How long a chunk is expected to take, in ms (`Infinity` for a target not seen yet). */
    const expectedMs = (chunk: PoolProtocol.Chunk) => (itemMs.get(chunk.target) ?? Infinity) * chunk.args.length
    /** Answers a chunk with its outcomes, and how long it took since `start`. */
    const answerOutcomes = (chunk: PoolProtocol.Chunk, target: Target.Any, outcomes: Outcomes, start: number) => {
      const ms = Math.round((performance.now() - start) * 1000) / 1000
      answer({ id: chunk.id, ms: timed(chunk, ms), ...encodeOutcomes(target, outcomes, maxMessageBytes) })
    }
    /** Answers every item of a chunk with the same failure. */
    const answerFailure = (chunk: PoolProtocol.Chunk, failure: PoolProtocol.TaskFailure) =>
      answer({ id: chunk.id, ms: 0, items: failedItems(chunk.args.length, failure) })
    /** A chunk's target, if it is loaded and was found. */
    const loaded = (chunk: PoolProtocol.Chunk): Target.Any | undefined => {
      const target = targets.get(chunk.target)
      return target === undefined || target instanceof Promise || target instanceof SpawnError ? undefined : target
    }
    /**
     * Runs a chunk of a `Target.sync` target at once, with no Effect around it (which
     * costs more than a trivial item). For a chunk of one item (a cancellation cannot stop
     * a single call: slices are between items) or a tiny one (nothing could cancel it in
     * the little time it takes).
     */
    const runSyncAtOnce = (chunk: PoolProtocol.Chunk, target: Target.Any, sync: internalTarget.SyncRun): void => {
      const start = performance.now()
      try {
        const outcomes = emptyOutcomes(chunk.args.length)
        runSyncRange(sync, chunk.args, decoder(target, chunk.args, outcomes), outcomes, 0, outcomes.count)
        answerOutcomes(chunk, target, outcomes, start)
      } catch (defect) {
        answerFailure(chunk, uncaught(defect))
      }
    }
    /**
     * The scope of the tasks `runTaskAtOnce` runs. It is provided to the runner's loop, not
     * to each task (which costs about as much as a trivial task): tasks that add nothing to
     * it share it; one that does has it closed when it ends, and the next gets a new one.
     */
    let taskScope = Scope.makeUnsafe()
    /** Closes `taskScope`, used by a task that ended with `exit`; the next task gets a new one. */
    const closeTaskScope = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> => {
      const used = taskScope
      taskScope = Scope.makeUnsafe()
      return Scope.close(used, exit)
    }
    /**
     * Runs a chunk of one item of a loaded Effect target (a task submitted alone) in the
     * runner's loop, in `taskScope`, with none of `runChunk`'s machinery around it, which
     * costs several times a trivial task's own work.
     */
    const runTaskAtOnce = (chunk: PoolProtocol.Chunk, target: Target.Any): Effect.Effect<void, never, Scope.Scope> => {
      const start = performance.now()
      const outcomes = emptyOutcomes(1)
      const decode = decoder(target, chunk.args, outcomes)
      const item = decode === undefined ? chunk.args[0] : decode(0)
      const answerTask = () => {
        try {
          answerOutcomes(chunk, target, outcomes, start)
        } catch (defect) {
          answerFailure(chunk, uncaught(defect))
        }
      }
      if (item === refused) {
        answerTask()
        return Effect.void
      }
      // A task that added to its scope has it closed before it is answered.
      const finish = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> => {
        recordOne(outcomes, exit)
        if (taskScope.state._tag === "Empty") {
          answerTask()
          return Effect.void
        }
        return Effect.matchCause(closeTaskScope(exit), {
          onSuccess: answerTask,
          onFailure: (cause) => answerFailure(chunk, uncaught(Cause.squash(cause)))
        })
      }
      const effect = effectOf(target, item)
      if (Exit.isExit(effect)) return finish(effect)
      // An interruption (a cancellation) is not caught here: the runner's exit handles it.
      return Effect.matchCauseEffect(effect, {
        onSuccess: (value) => finish(Exit.succeed(value)),
        onFailure: (cause) => finish(Exit.failCause(cause))
      })
    }
    /** Runs a chunk and answers it once: its outcomes, a failure per item, or `cancelled`. */
    const runChunk = (chunk: PoolProtocol.Chunk) => {
      const start = performance.now()
      const run = (target: Loaded) =>
        target instanceof SpawnError
          ? Effect.sync(() => answerFailure(chunk, target))
          : Effect.map(runItems(target, chunk.args), (outcomes) => answerOutcomes(chunk, target, outcomes, start))
      const target = targets.get(chunk.target) ?? new SpawnError({ message: `no target numbered ${chunk.target}` })
      return (target instanceof Promise ? Effect.flatMap(Effect.promise(() => target), run) : run(target)).pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => {
            // Cancelled: no items, but the pool learns that the chunk has stopped.
            if (Cause.hasInterruptsOnly(exit.cause)) return answer({ id: chunk.id, ms: 0, cancelled: true })
            answerFailure(chunk, uncaught(Cause.squash(exit.cause)))
          })
        )
      )
    }
    // A worker runs one chunk at a time, in the order they came (as Python's workers do):
    // the chunks sent ahead wait in `backlog`, and one fiber runs them all, started when
    // work comes and ended when there is none (not a fiber per chunk). A chunk that
    // finishes is answered at once, while the next one runs.
    const backlog = new Map<number, PoolProtocol.Chunk>()
    let runner: Runner = idle
    const running: Running = { _tag: "Running", fiber: undefined, provided: undefined }
    /** Chunks the pool was told this worker may begin with no more said (see `announce`). */
    const claimed = new Set<number>()
    /**
     * Should this worker die, its pool must know which chunks it may have begun: those it
     * claimed (poolState.ts, `Worker.claimed`); every other chunk it was sent runs on
     * another worker. So a chunk begins only once it is claimed in the kernel: a chunk
     * sent to a worker that was already dead (killed while idle, say) is never claimed
     * and runs elsewhere. The claim goes in the same write as the answers so far. A tiny
     * chunk claims the tiny ones after it, up to `claimMs` of work, which then begin with
     * no write each (their answers go together). Returns whether the chunk may begin now,
     * or once what was written reached the kernel.
     */
    const announce = (chunk: PoolProtocol.Chunk): boolean => {
      if (claimed.delete(chunk.id)) return true
      let through = chunk.id
      if (isTiny(chunk)) {
        let ms = expectedMs(chunk)
        for (const next of backlog.values()) {
          if (!isTiny(next) || (ms += expectedMs(next)) > claimMs) break
          claimed.add(next.id)
          through = next.id
        }
      }
      flush()
      link.send({ _tag: "Started", through })
      unwritten = true
      flush(true)
      return !unwritten
    }
    /** The next chunk of the backlog. */
    const runNext = () => {
      const chunk = backlog.values().next().value!
      backlog.delete(chunk.id)
      current = chunk.id
      return announce(chunk) ? begin(chunk) : Effect.andThen(link.written, () => begin(chunk))
    }
    /** Runs a chunk, by the quickest way its target allows. */
    const begin = (chunk: PoolProtocol.Chunk): Effect.Effect<unknown, never, Scope.Scope> => {
      const target = loaded(chunk)
      if (target !== undefined) {
        const sync = internalTarget.syncRunOf(target)
        if (sync !== undefined && (chunk.args.length === 1 || isTiny(chunk))) {
          runSyncAtOnce(chunk, target, sync)
          return Effect.void
        }
        if (sync === undefined && chunk.args.length === 1) return runTaskAtOnce(chunk, target)
      }
      // A chunk's defect is answered as such (see runChunk), and must not stop the rest.
      return Effect.exit(runChunk(chunk))
    }
    /** The chunks of the backlog, one after the other, while the task scope is the one provided. */
    const runInTaskScope = Effect.whileLoop({
      while: () => backlog.size > 0 && running.provided === taskScope,
      body: runNext,
      step: constVoid
    })
    const runBacklog = Effect.whileLoop({
      while: () => backlog.size > 0,
      body: () => {
        running.provided = taskScope
        return Effect.provideService(runInTaskScope, Scope.Scope, taskScope)
      },
      step: constVoid
    }).pipe(
      Effect.onExit((exit) => {
        const ended = Effect.sync(() => {
          if (Exit.isFailure(exit) && Cause.hasDies(exit.cause)) return Deferred.doneUnsafe(broken, Effect.failCause(exit.cause))
          // Interrupted before its chunk began: that chunk is cancelled too.
          if (current !== undefined) answer({ id: current, ms: 0, cancelled: true })
          const was = runner
          runner = idle
          // Chunks that came while it was ending, or after the one cancelled, get a new
          // runner (not when the worker itself is stopping).
          if (Exit.isSuccess(exit) || was === cancelling) startRunner()
        })
        // A task interrupted (cancelled) after it added to its scope: closed with the interruption.
        return taskScope.state._tag === "Empty" ? ended : Effect.andThen(Effect.exit(closeTaskScope(exit)), ended)
      })
    )
    const startRunner = () => {
      if (runner !== idle || backlog.size === 0) return
      runner = running
      running.fiber = undefined
      running.provided = undefined
      const fiber = fork(runBacklog)
      // `fork` runs it at once, as far as it gets: it may have ended already (its exit
      // handled), and even started the next runner, which knows its own fiber.
      if (runner === running && running.fiber === undefined) running.fiber = fiber
    }
    const cancel = (id: number) => {
      // Not begun: dropped, and answered now (the pool holds back work from a worker
      // with a cancellation outstanding).
      if (backlog.delete(id)) {
        claimed.delete(id)
        return answer({ id, ms: 0, cancelled: true })
      }
      if (id === current && runner === running && running.fiber !== undefined) {
        runner = cancelling
        running.fiber.interruptUnsafe()
      }
    }
    link.listen({
      onMessage: (message) => {
        if (message._tag === "Cancel") return cancel(message.id)
        for (const { module, name, ref } of message.targets) {
          const loading = load(module, name)
          targets.set(ref, loading)
          loading.then((target) => targets.set(ref, target))
        }
        for (const chunk of message.chunks) backlog.set(chunk.id, chunk)
        startRunner()
      },
      onUnreadable: (reason) =>
        Deferred.doneUnsafe(broken, Effect.die(new DecodeError({ payload: "message", message: `from the pool: ${reason}` })))
    })
    link.send({ _tag: "Idle" })
    return yield* Deferred.await(broken)
  })

export const worker = internalTarget.make("effect-multiprocessing/pool-worker", {
  module: import.meta.url,
  args: PoolProtocol.WorkerArgs,
  run: (args: PoolProtocol.WorkerArgs) => runWorker(poolLink, args)
})
