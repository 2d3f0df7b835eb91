/**
 * The loop a pool's worker process runs: the pool pushes it chunks of tasks (a target,
 * by module and name, and the encoded arguments of each item), it runs them, and pushes
 * the encoded exits back, many per message. A task is interrupted when the pool cancels
 * it.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import type * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { DecodeError, EncodeError, SpawnError } from "../ProcessError.ts"
import * as Target from "../Target.ts"
import * as Bridge from "./bridge.ts"
import { errorMessage } from "./errors.ts"
import * as PoolProtocol from "./poolProtocol.ts"
import * as internalTarget from "./target.ts"

const loaded = new Map<string, Promise<unknown>>()

/** The target a chunk names, importing its module the first time. */
const load = (module: string, name: string): Effect.Effect<Target.Any, SpawnError> =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => {
        let loading = loaded.get(module)
        if (loading === undefined) loaded.set(module, loading = import(module))
        return loading
      },
      catch: (error) => new SpawnError({ message: `cannot import ${module}: ${errorMessage(error)}` })
    }),
    () => {
      const target = internalTarget.lookup(module, name)
      return target === undefined
        ? Effect.fail(new SpawnError({ message: `${module} defines no target named '${name}'` }))
        : Effect.succeed(target)
    }
  )

/** Runs one item: its exit encoded with the target's Schemas, or why it could not be. */
const runItem = (target: Target.Any, args: Schema.Json): Effect.Effect<PoolProtocol.ItemResult> => {
  const codecs = internalTarget.codecs(target)
  const decoded = codecs.decodeArgs(args)
  if (Exit.isFailure(decoded)) {
    return Effect.succeed({
      failure: new DecodeError({ payload: "arguments", message: errorMessage(Cause.squash(decoded.cause)) })
    })
  }
  return Effect.map(Effect.exit(Effect.scoped(target.run(decoded.value))), (exit) => {
    const encoded = codecs.encodeExit(exit)
    if (Exit.isSuccess(encoded)) return { exit: encoded.value }
    return {
      failure: new EncodeError({
        payload: Exit.isSuccess(exit) ? "success" : "error",
        message: errorMessage(Cause.squash(encoded.cause))
      })
    }
  })
}

export const worker = Target.make("effect-multiprocessing/pool-worker", {
  module: import.meta.url,
  args: PoolProtocol.WorkerArgs,
  run: ({ initializer }) =>
    Effect.gen(function*() {
      if (initializer !== null) {
        // A failing initializer ends the worker: the pool sees it die before it is ready.
        const target = yield* Effect.orDie(load(initializer.module, initializer.target))
        const result = yield* runItem(target, initializer.args)
        if ("failure" in result) return yield* Effect.die(new Error(`initializer failed: ${result.failure.message}`))
        const exit = internalTarget.codecs(target).decodeExit(result.exit)
        if (Exit.isFailure(exit) || Exit.isFailure(exit.value)) {
          return yield* Effect.die(new Error("the initializer failed"))
        }
      }
      const fork = yield* FiberSet.makeRuntime<never, void, never>()
      const running = new Map<number, Fiber.Fiber<void, never>>()
      let outbox: Array<PoolProtocol.ChunkResult> = []
      const flush = () => {
        if (outbox.length === 0) return
        Bridge.pushUp(PoolProtocol.encodeWorkerMessage({ _tag: "Results", chunks: outbox }))
        outbox = []
      }
      const runChunk = (chunk: PoolProtocol.Chunk) =>
        Effect.gen(function*() {
          const target = yield* Effect.exit(load(chunk.module, chunk.target))
          const items: Array<PoolProtocol.ItemResult> = []
          for (const args of chunk.args) {
            items.push(Exit.isFailure(target) ? { failure: Cause.squash(target.cause) as SpawnError } : yield* runItem(target.value, args))
          }
          return items
        }).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              running.delete(chunk.id)
              if (outbox.length === 0) queueMicrotask(flush)
              // Cancelled: no items, but the pool learns that the chunk has stopped.
              outbox.push(Exit.isSuccess(exit) ? { id: chunk.id, items: exit.value } : { id: chunk.id, items: [], cancelled: true })
            })
          ),
          Effect.asVoid
        )
      Bridge.onPushDown((payload) => {
        const message = PoolProtocol.decodePoolMessage(payload)
        if (message._tag === "Failure") return
        if (message.success._tag === "Cancel") return running.get(message.success.id)?.interruptUnsafe()
        for (const chunk of message.success.chunks) {
          const fiber = fork(runChunk(chunk))
          if (fiber.pollUnsafe() === undefined) running.set(chunk.id, fiber)
        }
      })
      Bridge.pushUp(PoolProtocol.encodeWorkerMessage({ _tag: "Idle" }))
      return yield* Effect.never
    })
})
