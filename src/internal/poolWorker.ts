/**
 * The loop a pool's worker process runs: the pool pushes it chunks of tasks (a target,
 * by the number the pool named it by, and the encoded arguments of each item), it runs
 * them, and pushes the encoded outcomes back, many per message. A chunk is interrupted
 * when the pool cancels it.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import type * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { DecodeError, EncodeError, SpawnError } from "../ProcessError.ts"
import * as Target from "../Target.ts"
import * as Bridge from "./bridge.ts"
import { errorMessage, uncaught } from "./errors.ts"
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

/** An item's outcome before it is encoded: the task's exit, or why it could not run. */
type Outcome = Exit.Exit<unknown, unknown> | PoolProtocol.TaskFailure

/**
 * Runs a chunk's items one after the other, giving each outcome to `outcomes` as it comes.
 * Each item gets its own `Scope`, closed when the item ends; items that add nothing to their
 * scope share one, which saves a scope per item for the common, scope-free target. If the
 * chunk is interrupted, the running item's scope is closed with the interruption.
 */
const runItems = (target: Target.Any, args: ReadonlyArray<unknown>, outcomes: Array<Outcome>): Effect.Effect<void> => {
  const decodeArgs = internalTarget.codecs(target).decodeArgs
  let next = 0
  let scope = Scope.makeUnsafe()
  /** Runs items in `scope` until one of them uses it (then closes it) or none are left. */
  const untilScopeUsed = Effect.gen(function*() {
    while (next < args.length) {
      const decoded = decodeArgs(args[next++])
      if (Exit.isFailure(decoded)) {
        outcomes.push(new DecodeError({ payload: "arguments", message: errorMessage(Cause.squash(decoded.cause)) }))
        continue
      }
      let effect: Effect.Effect<unknown, unknown, Scope.Scope>
      try {
        effect = target.run(decoded.value)
      } catch (defect) {
        outcomes.push(Exit.die(defect))
        continue
      }
      // `Effect.succeed` / `Effect.fail` are exits already: nothing to run.
      const exit = Exit.isExit(effect) ? effect : yield* Effect.exit(effect)
      outcomes.push(exit)
      if (scope.state._tag !== "Empty") return yield* Scope.close(scope, exit)
    }
  })
  return Effect.gen(function*() {
    while (next < args.length) {
      if (scope.state._tag === "Closed") scope = Scope.makeUnsafe()
      yield* Effect.provideService(untilScopeUsed, Scope.Scope, scope)
    }
  }).pipe(Effect.onInterrupt(() => Scope.close(scope, Exit.interrupt())))
}

/** A chunk's outcomes on the wire: only the values when every item succeeded, else one result per item. */
const encodeOutcomes = (target: Target.Any, outcomes: ReadonlyArray<Outcome>): { values: Array<unknown> } | { items: Array<PoolProtocol.ItemResult> } => {
  const codecs = internalTarget.codecs(target)
  const values: Array<unknown> = []
  for (const outcome of outcomes) {
    if (!Exit.isExit(outcome) || Exit.isFailure(outcome)) break
    const encoded = codecs.encodeSuccess(outcome.value)
    if (Exit.isFailure(encoded)) break
    values.push(encoded.value)
  }
  if (values.length === outcomes.length) return { values }
  return {
    items: outcomes.map((outcome): PoolProtocol.ItemResult => {
      if (!Exit.isExit(outcome)) return { failure: outcome }
      const encoded = codecs.encodeExit(outcome)
      if (Exit.isSuccess(encoded)) return { exit: encoded.value }
      return {
        failure: new EncodeError({
          payload: Exit.isSuccess(outcome) ? "success" : "error",
          message: errorMessage(Cause.squash(encoded.cause))
        })
      }
    })
  }
}

export const worker = Target.make("effect-multiprocessing/pool-worker", {
  module: import.meta.url,
  args: PoolProtocol.WorkerArgs,
  run: ({ initializer }) =>
    Effect.gen(function*() {
      if (initializer !== null) {
        // A failing initializer ends the worker: the pool sees it die before it is ready.
        const target = yield* Effect.promise(() => load(initializer.module, initializer.target))
        if (target instanceof SpawnError) return yield* Effect.die(new Error(`initializer: ${target.message}`))
        const outcomes: Array<Outcome> = []
        yield* runItems(target, [initializer.args], outcomes)
        const outcome = outcomes[0]
        if (outcome === undefined || !Exit.isExit(outcome)) {
          return yield* Effect.die(new Error(`the initializer failed: ${outcome?.message}`))
        }
        if (Exit.isFailure(outcome)) return yield* Effect.die(new Error("the initializer failed"))
      }
      const fork = yield* FiberSet.makeRuntime<never, void, never>()
      /** The targets the pool named, by number: loaded, or still loading. */
      const targets = new Map<number, Loaded | Promise<Loaded>>()
      const running = new Map<number, Fiber.Fiber<void, never>>()
      let outbox: Array<PoolProtocol.ChunkResult> = []
      const flush = () => {
        if (outbox.length === 0) return
        Bridge.pushUp(PoolProtocol.encodeWorkerMessage({ _tag: "Results", chunks: outbox }))
        outbox = []
      }
      const answer = (result: PoolProtocol.ChunkResult) => {
        running.delete(result.id)
        if (outbox.length === 0) queueMicrotask(flush)
        outbox.push(result)
      }
      const runChunk = (chunk: PoolProtocol.Chunk) => {
        const start = performance.now()
        const outcomes: Array<Outcome> = []
        const finish = (target: Loaded) =>
          Effect.sync(() => {
            const ms = Math.round((performance.now() - start) * 1000) / 1000
            if (target instanceof SpawnError) return answer({ id: chunk.id, ms, items: chunk.args.map(() => ({ failure: target })) })
            answer({ id: chunk.id, ms, ...encodeOutcomes(target, outcomes) })
          })
        const run = (target: Loaded) =>
          target instanceof SpawnError ? finish(target) : Effect.andThen(runItems(target, chunk.args, outcomes), finish(target))
        const target = targets.get(chunk.target) ?? new SpawnError({ message: `no target numbered ${chunk.target}` })
        return (target instanceof Promise ? Effect.flatMap(Effect.promise(() => target), run) : run(target)).pipe(
          Effect.onExit((exit) =>
            Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => {
              // Cancelled: no items, but the pool learns that the chunk has stopped.
              if (Cause.hasInterruptsOnly(exit.cause)) return answer({ id: chunk.id, ms: 0, cancelled: true })
              const failure = uncaught(Cause.squash(exit.cause))
              answer({ id: chunk.id, ms: 0, items: chunk.args.map(() => ({ failure })) })
            })
          )
        )
      }
      Bridge.onPushDown((payload) => {
        const message = PoolProtocol.decodePoolMessage(payload)
        if (message._tag === "Failure") return
        if (message.success._tag === "Cancel") return running.get(message.success.id)?.interruptUnsafe()
        for (const { module, name, ref } of message.success.targets) {
          const loading = load(module, name)
          targets.set(ref, loading)
          loading.then((target) => targets.set(ref, target))
        }
        for (const chunk of message.success.chunks) {
          const fiber = fork(runChunk(chunk))
          if (fiber.pollUnsafe() === undefined) running.set(chunk.id, fiber)
        }
      })
      Bridge.pushUp(PoolProtocol.encodeWorkerMessage({ _tag: "Idle" }))
      return yield* Effect.never
    })
})
