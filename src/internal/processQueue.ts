/**
 * A queue that children use by reference: its owner's side (the store, served to children
 * through the queue's operation table), its Schema, and the operations on a handle.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as ProcessQueue from "../ProcessQueue.ts"
import { ItemDecodeError, QueueClosedError } from "../ProcessQueueError.ts"
import type * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import * as PayloadSize from "./payloadSize.ts"
import {
  type Backend,
  backendOf,
  holdInScope,
  type ItemCodec,
  itemCodec,
  isJoinable,
  isProcessQueue,
  noWait,
  type PutError,
  QueueImpl,
  type TakeError
} from "./queueHandle.ts"
import { operations, waitFromWire } from "./queueOperations.ts"
import * as QueueProxy from "./queueProxy.ts"
import * as Store from "./queueStore.ts"
import * as RemoteObject from "./remoteObject.ts"

export { isJoinable, isProcessQueue, TypeId } from "./queueHandle.ts"

// ---------------------------------------------------------------------------
// the owner

export const make = <A>(options: {
  readonly item: Schema.Codec<A, any, never, never>
  readonly capacity?: number | undefined
  readonly maxMessageBytes?: number | undefined
  readonly joinable: boolean
}): Effect.Effect<ProcessQueue.ProcessQueue<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const capacity = options.capacity ?? Number.POSITIVE_INFINITY
    if (!(capacity === Number.POSITIVE_INFINITY || (Number.isInteger(capacity) && capacity > 0))) {
      return yield* Effect.die(new RangeError(`a queue's capacity must be a positive integer, got ${capacity}`))
    }
    const maxMessageBytes = options.maxMessageBytes ?? PayloadSize.defaultMaxMessageBytes
    if (!(maxMessageBytes > 0)) {
      return yield* Effect.die(new RangeError(`a queue's maxMessageBytes must be a positive number (or Infinity), got ${maxMessageBytes}`))
    }
    const store = Store.make(capacity)
    const codec = itemCodec(options.item, maxMessageBytes)
    const backend: Backend<A> = {
      put: (item, wait) => Effect.flatMap(codec.encode(item), (json) => Store.put(store, json, wait)),
      take: (wait) => Effect.flatMap(Store.take(store, wait), codec.decode),
      takeHeld: (wait) => holdInScope((onDelivered) => Store.take(store, wait, onDelivered, true), codec),
      size: Store.guard(store, Effect.sync(() => Store.size(store))),
      isFull: Store.guard(store, Effect.sync(() => Store.isFull(store))),
      end: Store.end(store),
      shutdown: Effect.sync(() => Store.shutdown(store, new QueueClosedError({ message: "the queue was shut down" }))),
      taskDone: (count) => Store.taskDone(store, count),
      join: Store.join(store),
      flush: Effect.void,
      server: serveOwner(store, codec, () => backend)
    }
    const queue = new QueueImpl(backend, { joinable: options.joinable, bounded: capacity !== Infinity, owned: true, maxMessageBytes })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        Store.shutdown(store, new QueueClosedError({ message: "the scope that owns the queue has ended" }))
        Current.state.objects.unregister(queue)
      })
    )
    return queue as ProcessQueue.ProcessQueue<A>
  })

/** What the owner does for a child. */
const serveOwner = <A>(store: Store.Store, codec: ItemCodec<A>, backend: () => Backend<A>): Connection.Server =>
  RemoteObject.serve(operations, {
    // Validated where it enters: a producer with another idea of the Schema is refused.
    // (It is parsed JSON, so it is stored as it came.)
    put: ({ item, wait }) =>
      codec.decode(item).pipe(
        Effect.andThen(Store.put(store, item as Schema.Json, waitFromWire(wait))),
        Effect.as(null)
      ),
    // Every item that fits is taken; the producer hears of the others at its next
    // operation, and we log them.
    putMany: ({ items }) => {
      // The usual case, every item fits: one check of the batch, items taken synchronously.
      if (codec.validAll(items)) {
        const closed = Store.putAllUnsafe(store, items as ReadonlyArray<Schema.Json>)
        return closed === undefined ? Effect.succeed(null) : Effect.fail(closed)
      }
      return Effect.gen(function*() {
        let refused = 0
        let first: ItemDecodeError | undefined
        for (const item of items) {
          const valid = yield* Effect.exit(codec.decode(item))
          if (Exit.isSuccess(valid)) yield* Store.put(store, item as Schema.Json, noWait)
          else {
            refused++
            first ??= Cause.squash(valid.cause) as ItemDecodeError
          }
        }
        if (first === undefined) return null
        const error = new ItemDecodeError({ message: `${refused} item(s) refused where they arrived: ${first.message}` })
        yield* Effect.logWarning(error.message)
        return yield* Effect.fail(error)
      }).pipe(Effect.catchTag("QueueFullError", Effect.die))
    },
    take: (wait, deliver) => Store.take(store, waitFromWire(wait), deliver),
    takeHeld: (wait, deliver) => Store.take(store, waitFromWire(wait), deliver, true),
    takeMany: ({ max, wait }, deliver) =>
      Effect.map(Store.take(store, waitFromWire(wait), deliver), (first) => Store.takeAvailableUnsafe(store, max - 1, deliver, [first])),
    size: () => backend().size,
    isFull: () => backend().isFull,
    end: () => Effect.as(backend().end, null),
    shutdown: () => Effect.as(backend().shutdown, null),
    taskDone: ({ count }) => Effect.as(backend().taskDone(count), null),
    join: () => Effect.as(backend().join, null)
  })

export const schema = <A>(
  item: Schema.Codec<A, any, never, never>,
  joinable: boolean,
  options?: { readonly prefetch?: number | undefined }
) => {
  const prefetch = options?.prefetch
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 1)) {
    throw new RangeError(`a queue's prefetch must be a positive integer, got ${prefetch}`)
  }
  return RemoteObject.referenceSchema({
    tag: joinable ? "JoinableQueue" : "ProcessQueue",
    is: (u: unknown): u is ProcessQueue.ProcessQueue<A> => isProcessQueue(u) && isJoinable(u) === joinable,
    serverOf: (queue) => backendOf(queue).server,
    meta: { schema: Meta, of: metaOf },
    // A reference without its meta (from an older sender) is taken as bounded: acknowledged promptly.
    proxy: (ref, meta) =>
      QueueProxy.make(ref, item, {
        joinable,
        bounded: meta?.bounded ?? true,
        prefetch,
        maxMessageBytes: meta?.maxMessageBytes ?? Infinity
      })
  })
}

/** What a proxy needs to know of the queue besides its reference (no limit: `Infinity`, which JSON cannot carry). */
const Meta = Schema.Struct({ bounded: Schema.Boolean, maxMessageBytes: Schema.optionalKey(Schema.Number) })

const metaOf = <A>(queue: ProcessQueue.ProcessQueue<A>): typeof Meta.Type => {
  const { bounded, maxMessageBytes } = queue as QueueImpl<A>
  return maxMessageBytes === Infinity ? { bounded } : { bounded, maxMessageBytes }
}

// ---------------------------------------------------------------------------
// operations

/** A wait with no timeout: the same value for every call (a put or get in a loop allocates none). */
const blockForever: Store.Wait = { _tag: "Block", timeout: undefined }

const waitOf = (options: { readonly timeout?: Duration.Input | undefined } | undefined): Store.Wait =>
  options?.timeout === undefined
    ? blockForever
    : { _tag: "Block", timeout: Duration.toMillis(Duration.fromInputUnsafe(options.timeout)) }

export const put: {
  <A>(item: A, options?: { readonly timeout?: Duration.Input | undefined }): (self: ProcessQueue.ProcessQueue<A>) => Effect.Effect<void, PutError>
  <A>(self: ProcessQueue.ProcessQueue<A>, item: A, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<void, PutError>
} = dual(
  (args) => isProcessQueue(args[0]),
  <A>(self: ProcessQueue.ProcessQueue<A>, item: A, options?: { readonly timeout?: Duration.Input | undefined }) =>
    backendOf(self).put(item, waitOf(options))
)

export const putNowait: {
  <A>(item: A): (self: ProcessQueue.ProcessQueue<A>) => Effect.Effect<void, PutError>
  <A>(self: ProcessQueue.ProcessQueue<A>, item: A): Effect.Effect<void, PutError>
} = dual(2, <A>(self: ProcessQueue.ProcessQueue<A>, item: A) => backendOf(self).put(item, noWait))

export const get: {
  (options: { readonly timeout?: Duration.Input | undefined }): <A>(self: ProcessQueue.ProcessQueue<A>) => Effect.Effect<A, TakeError>
  <A>(self: ProcessQueue.ProcessQueue<A>, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<A, TakeError>
} = dual(
  (args) => isProcessQueue(args[0]),
  <A>(self: ProcessQueue.ProcessQueue<A>, options?: { readonly timeout?: Duration.Input | undefined }) =>
    backendOf(self).take(waitOf(options))
)

export const getNowait = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).take(noWait)
export const size = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).size
export const isEmpty = <A>(self: ProcessQueue.ProcessQueue<A>) => Effect.map(backendOf(self).size, (n) => n === 0)
export const isFull = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).isFull
export const end = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).end
export const shutdown = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).shutdown
export const taskDone = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).taskDone(1)
export const join = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).join
export const flush = <A>(self: ProcessQueue.ProcessQueue<A>) => backendOf(self).flush

export const takeHeld: {
  (options?: { readonly timeout?: Duration.Input | undefined }): <A>(self: ProcessQueue.ProcessQueue<A>) => Effect.Effect<A, TakeError, Scope.Scope>
  <A>(self: ProcessQueue.ProcessQueue<A>, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<A, TakeError, Scope.Scope>
} = dual(
  (args) => isProcessQueue(args[0]),
  <A>(self: ProcessQueue.ProcessQueue<A>, options?: { readonly timeout?: Duration.Input | undefined }) =>
    backendOf(self).takeHeld(waitOf(options))
)

export const processHeld: {
  <A, B, E, R>(
    f: (item: A) => Effect.Effect<B, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): (self: ProcessQueue.ProcessQueue<A>) => Effect.Effect<B, E | TakeError, Exclude<R, Scope.Scope>>
  <A, B, E, R>(
    self: ProcessQueue.ProcessQueue<A>,
    f: (item: A) => Effect.Effect<B, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): Effect.Effect<B, E | TakeError, Exclude<R, Scope.Scope>>
} = dual(
  (args) => isProcessQueue(args[0]),
  <A, B, E, R>(
    self: ProcessQueue.ProcessQueue<A>,
    f: (item: A) => Effect.Effect<B, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ) => Effect.scoped(Effect.flatMap(takeHeld(self, options), f))
)
