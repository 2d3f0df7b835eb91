/**
 * The loop a pool's worker process runs: the pool pushes it chunks of tasks (a target,
 * by the number the pool named it by, and the encoded arguments of each item), it runs
 * them, and pushes the encoded outcomes back, many per message. A chunk is interrupted
 * when the pool cancels it.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import { constVoid } from "effect/Function"
import type * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import { DecodeError, EncodeError, SpawnError } from "../ProcessError.ts"
import * as Target from "../Target.ts"
import * as Current from "./current.ts"
import { errorMessage, typedErrorStack, uncaught } from "./errors.ts"
import * as PoolProtocol from "./poolProtocol.ts"
import * as internalTarget from "./target.ts"

type Loaded = Target.Any | SpawnError

/** Imports a target's module and finds the target in it. */
const load = (module: string, name: string): Promise<Loaded> =>
  import(module).then(
    () =>
      internalTarget.lookup(module, name) ??
        new SpawnError({ message: `${module} defines no target named '${name}'` }),
    (error) => new SpawnError({ message: `cannot import ${module}: ${errorMessage(error)}` })
  )

/** Why an item has no value: its exit if it failed, or why it could not run. */
type Failure = Exit.Failure<unknown, unknown> | PoolProtocol.TaskFailure

/** A chunk's outcome before it is encoded: a value per item, unless the item is in `failures`. */
interface Outcomes {
  readonly count: number
  readonly values: Array<unknown>
  readonly failures: Map<number, Failure>
}

const emptyOutcomes = (count: number): Outcomes => ({ count, values: [], failures: new Map() })

/** An item's effect; a `run` that throws instead of returning one is a defect. */
const effectOf = (target: Target.Any, item: unknown): Effect.Effect<unknown, unknown, Scope.Scope> => {
  try {
    return target.run(item)
  } catch (defect) {
    return Effect.die(defect)
  }
}

/**
 * Runs a chunk's items one after the other, in a loop that stops only at a failure (rare):
 * the failure is recorded, and the loop goes on from the next item. Each item gets its own
 * `Scope`, closed when the item ends; items that add nothing to their scope share one,
 * which saves a scope per item for the common, scope-free target. If the chunk is
 * interrupted, the running item's scope is closed with the interruption.
 */
const runItems = (target: Target.Any, args: ReadonlyArray<unknown>): Effect.Effect<Outcomes> => {
  const sync = internalTarget.syncRunOf(target)
  const outcomes = emptyOutcomes(args.length)
  const decode = decoder(target, args, outcomes)
  if (sync !== undefined) return runSyncItems(sync, args, decode, outcomes)
  if (args.length === 1) return runSingle(target, decode === undefined ? args[0] : decode(0), outcomes)
  let next = 0
  let scope = Scope.makeUnsafe()
  const values = outcomes.values
  /**
   * Starts item `next`: the task's effect (a failure ends the loop, see above). An item
   * whose effect is already an `Exit` (`Effect.succeed(f(x))`) needs no fiber step: its
   * value is recorded here and the next item starts, in a plain loop (the last item's
   * effect is returned, for the fiber's `step` to record). The loop lets the fiber yield
   * every `sliceMs`, so that a cancellation can stop a long chunk.
   *
   * Once an item's effect is not an `Exit` (`Effect.sync`...), the next items' effects go
   * to the fiber without asking (which costs ~15% of a trivial item's time in the fiber):
   * an `Exit` among them is an effect the fiber runs like any other.
   */
  let exits = true
  const runNext = (): Effect.Effect<unknown, unknown, Scope.Scope> => {
    let plain = 0
    let sliceStart = 0
    while (true) {
      const index = next++
      const item = decode === undefined ? args[index] : decode(index)
      const effect = item === refused ? Effect.void : effectOf(target, item)
      if (!exits || next === args.length) return effect
      if (!Exit.isExit(effect)) {
        exits = false
        return effect
      }
      if (Exit.isFailure(effect)) return effect
      values[index] = effect.value
      // The clock is read every 64 plain items, not for each (a read costs about as much as one).
      if ((++plain & 63) !== 0) continue
      const now = performance.now()
      if (plain === 64) sliceStart = now
      else if (now - sliceStart >= sliceMs) return Effect.as(Effect.yieldNow, effect.value)
    }
  }
  const itemExit = (index: number): Exit.Exit<unknown, unknown> => {
    const failure = outcomes.failures.get(index)
    return failure === undefined || !Exit.isExit(failure) ? Exit.succeed(values[index]) : failure
  }
  /** Runs items in `scope` until one fails or uses the scope, or none are left. */
  const untilStop = Effect.whileLoop({
    while: () => next < args.length && scope.state._tag === "Empty",
    body: runNext,
    step: (value) => {
      values[next - 1] = value
    }
  })
  const newScope = Effect.sync(() => {
    scope = Scope.makeUnsafe()
  })
  /** One run of `untilStop`: records the failure it stopped at, and closes the scope if it was used. */
  const runSome = () =>
    Effect.flatMap(Effect.exit(Effect.provideService(untilStop, Scope.Scope, scope)), (exit) => {
      if (Exit.isFailure(exit)) outcomes.failures.set(next - 1, exit)
      return scope.state._tag === "Empty" ? Effect.void : Effect.andThen(Scope.close(scope, itemExit(next - 1)), newScope)
    })
  // Loops, not generators: `Effect.gen` costs ~1.5 µs per call, more than a one-item chunk's own work.
  return Effect.whileLoop({ while: () => next < args.length, body: runSome, step: constVoid }).pipe(
    Effect.as(outcomes),
    Effect.onInterrupt(() => Scope.close(scope, Exit.interrupt()))
  )
}

/** Records the exit of a chunk's only item. */
const recordOne = (outcomes: Outcomes, exit: Exit.Exit<unknown, unknown>): Outcomes => {
  if (Exit.isSuccess(exit)) outcomes.values[0] = exit.value
  else outcomes.failures.set(0, exit)
  return outcomes
}

/**
 * A chunk of one item run on its own (a task alone whose target was still loading, an
 * initializer): its effect in a scope of its own, with none of the loop's machinery.
 */
const runSingle = (target: Target.Any, item: unknown, outcomes: Outcomes): Effect.Effect<Outcomes> => {
  if (item === refused) return Effect.succeed(outcomes)
  const effect = effectOf(target, item)
  const record = (exit: Exit.Exit<unknown, unknown>) => recordOne(outcomes, exit)
  if (Exit.isExit(effect)) return Effect.succeed(record(effect))
  const scope = Scope.makeUnsafe()
  return Effect.flatMap(Effect.exit(Effect.provideService(effect, Scope.Scope, scope)), (exit) =>
    scope.state._tag === "Empty" ? Effect.succeed(record(exit)) : Effect.as(Scope.close(scope, exit), record(exit))).pipe(
      Effect.onInterrupt(() => Scope.close(scope, Exit.interrupt()))
    )
}

/** Marks an item whose arguments could not be decoded (its failure is recorded). */
const refused: unique symbol = Symbol("refused")

/**
 * Decodes item `i`'s arguments, or gives `refused` after recording why they could not be
 * decoded; `undefined` when the arguments are their own JSON (numbers, plain records...)
 * and need no decoding.
 */
const decoder = (
  target: Target.Any,
  args: ReadonlyArray<unknown>,
  outcomes: Outcomes
): ((i: number) => unknown) | undefined => {
  const codecs = internalTarget.codecs(target)
  if (codecs.allPlainArgs(args)) return undefined
  return (i) => {
    const decoded = codecs.decodeArgs(args[i])
    if (Exit.isSuccess(decoded)) return decoded.value
    const message = errorMessage(Cause.squash(decoded.cause))
    outcomes.failures.set(i, new DecodeError({ payload: "arguments", message }))
    return refused
  }
}

/** How long a `Target.sync` chunk runs before it lets a cancellation in, in ms. */
const sliceMs = 5

/**
 * Runs the items of a `Target.sync` target: plain calls, no fiber step per item. They run
 * in slices of about `sliceMs`, with a yield between slices, so that a cancellation (a
 * message that can only be read between slices) can stop a long chunk. The clock is read
 * after blocks of items, not after each one (a read costs as much as a trivial item): a
 * block doubles while it takes under a sixteenth of a slice, up to 1024 items.
 */
const runSyncItems = (
  sync: internalTarget.SyncRun,
  args: ReadonlyArray<unknown>,
  decode: ((i: number) => unknown) | undefined,
  outcomes: Outcomes
): Effect.Effect<Outcomes> => {
  const count = outcomes.count
  let next = 0
  let block = 1
  const slice = () => {
    const start = performance.now()
    while (next < count) {
      const end = Math.min(count, next + block)
      const blockStart = performance.now()
      runSyncRange(sync, args, decode, outcomes, next, end)
      next = end
      const now = performance.now()
      if (now - start >= sliceMs) return
      if (now - blockStart < sliceMs / 16 && block < 1024) block *= 2
    }
  }
  const runSlice = Effect.sync(slice)
  const yieldThenSlice = Effect.andThen(Effect.yieldNow, runSlice)
  return Effect.whileLoop({
    while: () => next < count,
    body: () => next === 0 ? runSlice : yieldThenSlice,
    step: constVoid
  }).pipe(Effect.as(outcomes))
}

/** Calls a `Target.sync` target's function on items `from` to `to` (excluded), recording each outcome. */
const runSyncRange = (
  sync: internalTarget.SyncRun,
  args: ReadonlyArray<unknown>,
  decode: ((i: number) => unknown) | undefined,
  { failures, values }: Outcomes,
  from: number,
  to: number
) => {
  // A local index and function: ~30% less per trivial item than a closure's own.
  const run = sync.run
  for (let i = from; i < to; i++) {
    const item = decode === undefined ? args[i] : decode(i)
    if (item === refused) continue
    try {
      values[i] = run(item)
    } catch (thrown) {
      failures.set(i, internalTarget.syncExit(sync, thrown) as Exit.Failure<unknown, unknown>)
    }
  }
}

/** A chunk's outcomes on the wire: only the values when every item succeeded, else one result per item. */
const encodeOutcomes = (
  target: Target.Any,
  { count, failures, values }: Outcomes
): { values: Array<unknown> } | { items: Array<PoolProtocol.ItemResult> } => {
  const codecs = internalTarget.codecs(target)
  // Values that are their own JSON go as they are (and are no Promise).
  if (failures.size === 0 && codecs.allPlainSuccess(values)) return { values }
  const sync = internalTarget.syncRunOf(target)
  if (sync !== undefined) {
    for (let i = 0; i < count; i++) {
      const defect = failures.has(i) ? undefined : internalTarget.returnedPromise(sync, values[i])
      if (defect !== undefined) failures.set(i, defect)
    }
  }
  if (failures.size === 0) {
    const encoded: Array<unknown> = []
    for (const value of values) {
      const exit = codecs.encodeSuccess(value)
      if (Exit.isFailure(exit)) break
      encoded.push(exit.value)
    }
    if (encoded.length === values.length) return { values: encoded }
  }
  return {
    items: Array.from({ length: count }, (_, index): PoolProtocol.ItemResult => {
      const failure = failures.get(index)
      if (failure !== undefined && !Exit.isExit(failure)) return { failure }
      const exit = failure ?? Exit.succeed(values[index])
      const encoded = codecs.encodeExit(exit)
      if (Exit.isSuccess(encoded)) {
        const stack = typedErrorStack(exit)
        return stack === undefined ? { exit: encoded.value } : { exit: encoded.value, stack }
      }
      return {
        failure: new EncodeError({
          payload: Exit.isSuccess(exit) ? "success" : "error",
          message: errorMessage(Cause.squash(encoded.cause))
        })
      }
    })
  }
}

/** `count` items' results, each the same failure. */
const failedItems = (count: number, failure: PoolProtocol.TaskFailure): Array<PoolProtocol.ItemResult> =>
  Array.from({ length: count }, () => ({ failure }))

/** A chunk expected to take less than this is "tiny" (see `isTiny`). */
const tinyChunkMs = 0.02

export const worker = Target.make("effect-multiprocessing/pool-worker", {
  module: import.meta.url,
  args: PoolProtocol.WorkerArgs,
  run: ({ initializer }) =>
    Effect.gen(function*() {
      if (initializer !== null) {
        // A failing initializer ends the worker: the pool sees it die before it is ready.
        const target = yield* Effect.promise(() => load(initializer.module, initializer.target))
        if (target instanceof SpawnError) return yield* Effect.die(new Error(`initializer: ${target.message}`))
        const failure = (yield* runItems(target, [initializer.args])).failures.get(0)
        if (failure !== undefined && !Exit.isExit(failure)) {
          return yield* Effect.die(new Error(`the initializer failed: ${failure.message}`))
        }
        if (failure !== undefined) return yield* Effect.die(new Error("the initializer failed"))
      }
      const uplink = Current.uplink()
      if (uplink === undefined) return yield* Effect.die(new Error("a pool worker runs only as a pool's child process"))
      const fork = yield* FiberSet.makeRuntime<never, void, never>()
      /**
       * Fails when the runner dies of a defect: a bug of this loop (a task's defect is
       * answered as such), after which it could not go on. The worker dies of it, and its
       * pool fails its tasks and replaces it, instead of waiting on a worker that stopped.
       */
      const broken = Deferred.makeUnsafe<never>()
      /** The targets the pool named, by number: loaded, or still loading. */
      const targets = new Map<number, Loaded | Promise<Loaded>>()
      /** Sends a message to the pool, with the binary parts its encoding made. */
      const pushUp = (message: PoolProtocol.WorkerMessage, now = false) => {
        const wire = PoolProtocol.encodeWorkerMessage(message)
        uplink.send({ _tag: "Pool", message: wire.json }, wire.binary)
        if (now) uplink.flush()
      }
      let outbox: Array<PoolProtocol.ChunkResult> = []
      /** Sends the answers so far: with the turn's other messages, or at once (`now`). */
      const flush = (now = false) => {
        if (outbox.length === 0) return
        const results = outbox
        outbox = []
        sendResults(results, now)
      }
      /**
       * Sends answers in one message. One too large (its JSON text longer than V8 can make
       * a string) goes as one message per chunk, and a chunk too large alone is answered
       * with an `EncodeError` for each of its items.
       */
      const sendResults = (results: Array<PoolProtocol.ChunkResult>, now: boolean) => {
        try {
          pushUp({ _tag: "Results", chunks: results }, now)
        } catch (error) {
          if (results.length > 1) return results.forEach((result) => sendResults([result], now))
          const { id, items, ms, values } = results[0]!
          const failure = new EncodeError({ payload: "success", message: `the results are too large to send: ${errorMessage(error)}` })
          pushUp({ _tag: "Results", chunks: [{ id, ms, items: failedItems(values?.length ?? items?.length ?? 0, failure) }] }, now)
        }
      }
      /** The chunk being run, until it is answered. */
      let current: number | undefined
      const answer = (result: PoolProtocol.ChunkResult) => {
        if (result.id === current) current = undefined
        if (outbox.length === 0) queueMicrotask(() => flush())
        outbox.push(result)
      }
      /** How long an item of each target takes here, in ms: a moving average. */
      const itemMs = new Map<number, number>()
      const timed = (chunk: PoolProtocol.Chunk, ms: number) => {
        const perItem = ms / Math.max(1, chunk.args.length)
        const average = itemMs.get(chunk.target)
        itemMs.set(chunk.target, average === undefined ? perItem : average * 0.8 + perItem * 0.2)
        return ms
      }
      /**
       * Answers wait for the end of a burst of chunks, to share one write, but not behind a
       * chunk that may take a while: it may be synchronous, and no microtask runs until it
       * ends. So they go out before any chunk not known to be tiny (a target not seen yet,
       * or one whose chunks took ≥ 20 µs). The price: a long chunk of a target that is
       * usually quick holds back the answers of the chunks just before it.
       */
      const isTiny = (chunk: PoolProtocol.Chunk) => {
        const perItem = itemMs.get(chunk.target)
        return perItem !== undefined && perItem * chunk.args.length < tinyChunkMs
      }
      /** Answers a chunk with its outcomes, and how long it took since `start`. */
      const answerOutcomes = (chunk: PoolProtocol.Chunk, target: Target.Any, outcomes: Outcomes, start: number) => {
        const ms = Math.round((performance.now() - start) * 1000) / 1000
        answer({ id: chunk.id, ms: timed(chunk, ms), ...encodeOutcomes(target, outcomes) })
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
       * the ~20 µs it takes).
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
       * runner's loop, in `taskScope`, with none of `runChunk`'s machinery around it: that
       * cost ~1 µs per task, several times a trivial task's own work.
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
      let runner: Fiber.Fiber<void, never> | undefined
      /** From a runner's start until its exit is handled (which may come before its fiber is done). */
      let running = false
      /** The runner is being interrupted to stop its chunk (a cancellation), not the worker. */
      let cancelling = false
      /** The chunks of the backlog, one after the other, while `taskScope` is the one provided. */
      let provided: Scope.Closeable | undefined
      const runInTaskScope = Effect.whileLoop({
        while: () => backlog.size > 0 && provided === taskScope,
        body: () => {
          const chunk = backlog.values().next().value!
          backlog.delete(chunk.id)
          if (outbox.length > 0 && !isTiny(chunk)) flush(true)
          current = chunk.id
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
        },
        step: constVoid
      })
      const runBacklog = Effect.whileLoop({
        while: () => backlog.size > 0,
        body: () => {
          provided = taskScope
          return Effect.provideService(runInTaskScope, Scope.Scope, taskScope)
        },
        step: constVoid
      }).pipe(
        Effect.onExit((exit) => {
          const ended = Effect.sync(() => {
            if (Exit.isFailure(exit) && Cause.hasDies(exit.cause)) return Deferred.doneUnsafe(broken, Effect.failCause(exit.cause))
            // Interrupted before its chunk began: that chunk is cancelled too.
            if (current !== undefined) answer({ id: current, ms: 0, cancelled: true })
            running = false
            runner = undefined
            // Chunks that came while it was ending, or after the one cancelled, get a new
            // runner (not when the worker itself is stopping).
            if (Exit.isSuccess(exit) || cancelling) {
              cancelling = false
              startRunner()
            }
          })
          // A task interrupted (cancelled) after it added to its scope: closed with the interruption.
          return taskScope.state._tag === "Empty" ? ended : Effect.andThen(Effect.exit(closeTaskScope(exit)), ended)
        })
      )
      const startRunner = () => {
        if (running || backlog.size === 0) return
        running = true
        const fiber = fork(runBacklog)
        // `fork` runs it at once, as far as it gets. It may have ended already, and even
        // started the next runner; or its exit may have been handled while the fiber, out
        // of operations, yields before it is done (asking the fiber whether it is done then
        // said no, and left a runner set that nothing would clear: the worker stopped).
        if (running && runner === undefined) runner = fiber
      }
      const cancel = (id: number) => {
        // Not begun: dropped, and answered now (the pool holds back work from a worker
        // with a cancellation outstanding).
        if (backlog.delete(id)) return answer({ id, ms: 0, cancelled: true })
        if (id === current && runner !== undefined) {
          cancelling = true
          runner.interruptUnsafe()
        }
      }
      // A message that cannot be read is a protocol error of the connection: this worker
      // ends with a DecodeError, and its pool fails its tasks and replaces it.
      uplink.register(
        "Pool",
        (message, binary) =>
          Result.mapError(
            PoolProtocol.decodePoolMessage(Predicate.hasProperty(message, "message") ? message.message : undefined, binary),
            (error) => error.message
          ),
        (message) => {
          if (message._tag === "Cancel") return cancel(message.id)
          for (const { module, name, ref } of message.targets) {
            const loading = load(module, name)
            targets.set(ref, loading)
            loading.then((target) => targets.set(ref, target))
          }
          for (const chunk of message.chunks) backlog.set(chunk.id, chunk)
          startRunner()
        }
      )
      pushUp({ _tag: "Idle" })
      return yield* Deferred.await(broken)
    })
})
