import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import type * as Scope from "effect/Scope"
import type * as ProcessQueue from "../ProcessQueue.ts"
import {
  ItemDecodeError,
  ItemEncodeError,
  QueueClosedError,
  QueueEmptyError,
  QueueFullError,
  TaskDoneError
} from "../ProcessQueueError.ts"
import type * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import * as PlainJson from "./plainJson.ts"
import { Payload } from "./protocol.ts"
import * as Store from "./queueStore.ts"
import * as RemoteObject from "./remoteObject.ts"

export const TypeId: ProcessQueue.TypeId = "~effect-multiprocessing/ProcessQueue"

type PutError = QueueFullError | QueueClosedError | ItemEncodeError | ItemDecodeError
type TakeError = Cause.Done | QueueEmptyError | QueueClosedError | ItemDecodeError

/** What a queue does, whether it is the real one (its owner) or a proxy to it. */
interface Backend<A> {
  readonly put: (item: A, wait: Store.Wait) => Effect.Effect<void, PutError>
  readonly take: (wait: Store.Wait) => Effect.Effect<A, TakeError>
  readonly size: Effect.Effect<number, QueueClosedError>
  readonly isFull: Effect.Effect<boolean, QueueClosedError>
  readonly end: Effect.Effect<void, QueueClosedError>
  readonly shutdown: Effect.Effect<void>
  readonly taskDone: (count: number) => Effect.Effect<void, TaskDoneError | QueueClosedError>
  readonly join: Effect.Effect<void, QueueClosedError>
  /** Waits until this process's write-behind puts reached the owner; fails with a refusal. */
  readonly flush: Effect.Effect<void, PutError>
  /** Serves the same queue to a child: the owner serves from its store, a proxy relays up. */
  readonly server: Connection.Server
}

class QueueImpl<A> implements ProcessQueue.ProcessQueue<A> {
  readonly [TypeId]: ProcessQueue.Variance<A> = variance
  readonly backend: Backend<A>
  readonly joinable: boolean
  readonly bounded: boolean
  readonly owned: boolean
  constructor(backend: Backend<A>, options: { joinable: boolean; bounded: boolean; owned: boolean }) {
    this.backend = backend
    this.joinable = options.joinable
    this.bounded = options.bounded
    this.owned = options.owned
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return `<${this.joinable ? "JoinableQueue" : "ProcessQueue"} ${this.owned ? "owned" : "proxy"}>`
  }
  [NodeInspectSymbol](): string {
    return this.toString()
  }
}

const variance: ProcessQueue.Variance<any> = { _A: (_) => _ }

export const isProcessQueue = (u: unknown): u is ProcessQueue.ProcessQueue<unknown> => Predicate.hasProperty(u, TypeId)
export const isJoinable = (u: unknown): boolean => isProcessQueue(u) && (u as QueueImpl<unknown>).joinable

const backendOf = <A>(self: ProcessQueue.ProcessQueue<A>): Backend<A> => (self as QueueImpl<A>).backend

// ---------------------------------------------------------------------------
// items and errors on the wire

interface ItemCodec<A> {
  readonly encode: (item: A) => Effect.Effect<Schema.Json, ItemEncodeError>
  readonly decode: (json: unknown) => Effect.Effect<A, ItemDecodeError>
  /** Whether every item of a batch fits, in one pass and without an Effect per item. */
  readonly validAll: (items: ReadonlyArray<unknown>) => boolean
}

const itemCodec = <A>(item: Schema.Codec<A, any, never, never>): ItemCodec<A> => {
  const json = Schema.toCodecJson(item)
  const encode = Schema.encodeUnknownExit(json)
  const decode = Schema.decodeUnknownExit(json)
  const decodeAll = Schema.decodeUnknownExit(Schema.Array(json))
  // Items that are their own JSON (numbers, plain records...) need no codec at all.
  const plain = PlainJson.check(item.ast)
  return {
    validAll: (items) => (plain !== undefined && items.every(plain)) || Exit.isSuccess(decodeAll(items)),
    encode: (value) => {
      if (plain?.(value) === true) return Effect.succeed(value as Schema.Json)
      const exit = encode(value)
      return Exit.isSuccess(exit)
        ? Effect.succeed(exit.value as Schema.Json)
        : Effect.fail(new ItemEncodeError({ message: Cause.pretty(exit.cause) }))
    },
    decode: (value) => {
      if (plain?.(value) === true) return Effect.succeed(value as A)
      const exit = decode(value)
      return Exit.isSuccess(exit)
        ? Effect.succeed(exit.value)
        : Effect.fail(new ItemDecodeError({ message: Cause.pretty(exit.cause) }))
    }
  }
}

/** `Cause.Done` as it crosses processes: a take's "the queue has ended". */
const Done = Schema.TaggedStruct("Done", {}).pipe(
  Schema.decodeTo(
    Schema.declare(Cause.isDone),
    SchemaTransformation.transform({ decode: () => Cause.Done(), encode: () => ({ _tag: "Done" as const }) })
  )
)

/** How long a call waits: `null`, not at all; else blocking, with an optional timeout in ms. */
const Wait = Schema.NullOr(Schema.Struct({ timeout: Schema.NullOr(Schema.Number) }))
const waitFromWire = (wait: typeof Wait.Type): Store.Wait =>
  wait === null ? noWait : { _tag: "Block", timeout: wait.timeout ?? undefined }
const waitToWire = (wait: Store.Wait): typeof Wait.Type => wait._tag === "NoWait" ? null : { timeout: wait.timeout ?? null }

/**
 * A queue's operations, as they cross processes. Items are carried as the JSON the item
 * Schema made (`Payload`), and checked with that Schema where they are used: the owner
 * validates what is put, the taker decodes what it takes.
 */
const operations = {
  put: {
    input: Schema.Struct({ item: Payload, wait: Wait }),
    success: Schema.Null,
    error: Schema.Union([QueueFullError, QueueClosedError, ItemDecodeError])
  },
  /** A child's write-behind batch (unbounded queues only). */
  putMany: {
    input: Schema.Struct({ items: Schema.Array(Payload) }),
    success: Schema.Null,
    error: Schema.Union([QueueClosedError, ItemDecodeError])
  },
  take: { input: Wait, success: Payload, error: Schema.Union([Done, QueueEmptyError, QueueClosedError]) },
  /** A prefetching consumer: the first item as a take, then whatever else is there now, up to `max`. */
  takeMany: {
    input: Schema.Struct({ max: Schema.Int, wait: Wait }),
    success: Schema.Array(Payload),
    error: Schema.Union([Done, QueueEmptyError, QueueClosedError])
  },
  size: { input: Schema.Null, success: Schema.Number, error: QueueClosedError },
  isFull: { input: Schema.Null, success: Schema.Boolean, error: QueueClosedError },
  end: { input: Schema.Null, success: Schema.Null, error: QueueClosedError },
  shutdown: { input: Schema.Null, success: Schema.Null, error: Schema.Never },
  taskDone: {
    input: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThan(0)) }),
    success: Schema.Null,
    error: Schema.Union([TaskDoneError, QueueClosedError])
  },
  join: { input: Schema.Null, success: Schema.Null, error: QueueClosedError }
} satisfies RemoteObject.Table

const gone = () => new QueueClosedError({ message: "the queue is gone: its owner process or scope has ended" })

// ---------------------------------------------------------------------------
// the owner

export const make = <A>(options: {
  readonly item: Schema.Codec<A, any, never, never>
  readonly capacity?: number | undefined
  readonly joinable: boolean
}): Effect.Effect<ProcessQueue.ProcessQueue<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const capacity = options.capacity ?? Number.POSITIVE_INFINITY
    if (!(capacity === Number.POSITIVE_INFINITY || (Number.isInteger(capacity) && capacity > 0))) {
      return yield* Effect.die(new RangeError(`a queue's capacity must be a positive integer, got ${capacity}`))
    }
    const store = Store.make(capacity)
    const codec = itemCodec(options.item)
    const backend: Backend<A> = {
      put: (item, wait) => Effect.flatMap(codec.encode(item), (json) => Store.put(store, json, wait)),
      take: (wait) => Effect.flatMap(Store.take(store, wait), codec.decode),
      size: Store.guard(store, Effect.sync(() => Store.size(store))),
      isFull: Store.guard(store, Effect.sync(() => Store.isFull(store))),
      end: Store.end(store),
      shutdown: Effect.sync(() => Store.shutdown(store, new QueueClosedError({ message: "the queue was shut down" }))),
      taskDone: (count) => Store.taskDone(store, count),
      join: Store.join(store),
      flush: Effect.void,
      server: serveOwner(store, codec, () => backend)
    }
    const queue = new QueueImpl(backend, { joinable: options.joinable, bounded: capacity !== Infinity, owned: true })
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
    takeMany: ({ max, wait }, deliver) =>
      Effect.map(Store.take(store, waitFromWire(wait), deliver), (first) => [
        first,
        ...Store.takeAvailableUnsafe(store, max - 1, deliver)
      ]),
    size: () => backend().size,
    isFull: () => backend().isFull,
    end: () => Effect.as(backend().end, null),
    shutdown: () => Effect.as(backend().shutdown, null),
    taskDone: ({ count }) => Effect.as(backend().taskDone(count), null),
    join: () => Effect.as(backend().join, null)
  })

// ---------------------------------------------------------------------------
// proxies to a parent's queue

/**
 * A producer's batch is sent once it has this many items (else at the end of the turn); it
 * waits for the channel to drain only when that is congested. Small batches keep both
 * processes busy (the parent decodes one while the next is written): with ~1 KB items,
 * batches of thousands made half-MB lines and 0.6x the throughput.
 */
const writeBehindLimit = 256
/** Fetched items a consumer has not taken for this long (at least) go back to the queue. */
const idleFloorMs = 50
/** The largest batch an adaptive consumer asks for. */
const maxBatch = 256
/** An adaptive consumer asks for what it takes this many round trips to get through. */
const roundTripsAhead = 4
/** The longest round trip an adaptive consumer counts (a call that waited for an item took longer). */
const waitCapMs = 1

const proxy = <A>(
  ref: string,
  item: Schema.Codec<A, any, never, never>,
  /** `prefetch`: a fixed number, or `undefined` for adaptive (see `batchSize`). */
  options: { readonly joinable: boolean; readonly bounded: boolean; readonly prefetch: number | undefined }
): QueueImpl<A> => {
  const codec = itemCodec(item)
  // An unbounded queue's owner needs no prompt word that an item was taken: acknowledgements
  // go to the acknowledgements file. A bounded queue's items hold their slot until then.
  const acksToFile = !options.bounded
  const remote = RemoteObject.client(operations, ref, gone)
  const addFlusher = (flush: () => void) => Current.uplink()?.addFlusher(flush)
  const removeFlusher = (flush: () => void) => Current.uplink()?.removeFlusher(flush)

  // Puts to an unbounded queue are write-behind, as Python's are: encoded (and so checked)
  // here and now, sent in one batch per turn of the event loop. A batch the owner refuses
  // fails this proxy's next operation. A bounded queue's put waits for its slot instead.
  let outbox: Array<Schema.Json> = []
  let refused: PutError | undefined
  const flushOutbox = () => {
    removeFlusher(flushOutbox)
    if (outbox.length === 0) return
    const items = outbox
    outbox = []
    remote.post("putMany", { items }, (exit) => {
      if (Exit.isFailure(exit)) refused ??= Cause.squash(exit.cause) as PutError
    })
  }
  const takeRefusal = (): PutError | undefined => {
    const error = refused
    refused = undefined
    return error
  }
  const writeBehind = (value: A): Effect.Effect<void, PutError> =>
    Effect.suspend(() => {
      const error = takeRefusal()
      if (error !== undefined) return Effect.fail(error)
      return Effect.flatMap(codec.encode(value), (json) => {
        outbox.push(json)
        if (outbox.length === 1) {
          addFlusher(flushOutbox)
          setImmediate(flushOutbox)
        }
        if (outbox.length < writeBehindLimit) return Effect.void
        flushOutbox()
        return Current.uplink()?.awaitDrain ?? Effect.void
      })
    })

  // A joinable queue's taskDone: this process's own items (taken here, not marked done yet)
  // are marked done without a round trip, as Python's task_done does, and sent in one batch
  // per turn (after the puts made before them). A refusal (others marked them done first)
  // fails this process's next taskDone.
  let taken = 0
  let done = 0
  let doneBatch = 0
  let taskDoneRefused: TaskDoneError | QueueClosedError | undefined
  const takeTaskDoneRefusal = () => {
    const error = taskDoneRefused
    taskDoneRefused = undefined
    return error
  }
  const flushDone = () => {
    removeFlusher(flushDone)
    if (doneBatch === 0) return
    const count = doneBatch
    doneBatch = 0
    // The puts made before first: a task marked done after a put must not overtake it.
    flushOutbox()
    remote.post("taskDone", { count }, (exit) => {
      if (Exit.isFailure(exit)) taskDoneRefused ??= Cause.squash(exit.cause) as TaskDoneError | QueueClosedError
    })
  }

  // Prefetching (any prefetch but a fixed 1): a get asks for up to a batch of items at once
  // and keeps the rest here; each stays the owner's (in flight) until this process takes it,
  // and goes back if this process ends first.
  let buffer: Array<{ readonly item: unknown; readonly delivery: Connection.Delivery }> = []
  let head = 0
  let lastTakeAt = 0
  const takeBuffered = Effect.suspend(() => {
    const next = buffer[head++]!
    lastTakeAt = performance.now()
    next.delivery.ack()
    return codec.decode(next.item)
  })
  // Fetched items not taken for a while go back to the queue: this process may have stopped
  // asking (a pool worker between tasks, a consumer that decoded the queue for one task) while
  // another consumer waits for them. "A while": `idleFloorMs`, or 4 times this consumer's
  // usual time per item if that is longer.
  let idleCheck: ReturnType<typeof setTimeout> | undefined
  const giveBackIfIdle = () => {
    idleCheck = undefined
    if (head >= buffer.length) return
    const limit = Math.max(idleFloorMs, 4 * (perItemMs ?? 0))
    const idleFor = performance.now() - lastTakeAt
    if (idleFor < limit) {
      idleCheck = setTimeout(giveBackIfIdle, limit - idleFor).unref()
      return
    }
    for (let i = head; i < buffer.length; i++) buffer[i]!.delivery.back()
    buffer = []
    head = 0
  }
  // Adaptive batches: ask for as many items as this consumer gets through in a few round
  // trips (`roundTripsAhead`), from moving averages of both (per item: the time from a
  // batch's arrival to the next request, over the batch's size). A consumer that takes its
  // time with each item asks for one at a time and leaves the rest to others; a tight loop
  // asks for up to `maxBatch`, and pays for fewer round trips.
  let roundTripMs: number | undefined
  let perItemMs: number | undefined
  let arrivedAt = 0
  const average = (previous: number | undefined, sample: number) =>
    previous === undefined ? sample : previous * 0.7 + sample * 0.3
  const batchSize = (): number => {
    if (options.prefetch !== undefined) return options.prefetch
    if (roundTripMs === undefined || perItemMs === undefined) return 1
    return Math.max(1, Math.min(maxBatch, Math.floor((roundTripsAhead * roundTripMs) / Math.max(perItemMs, 0.0001))))
  }
  const prefetching = (wait: Store.Wait): Effect.Effect<A, TakeError> =>
    Effect.suspend(() => {
      if (head < buffer.length) return takeBuffered
      const asked = performance.now()
      if (buffer.length > 0) perItemMs = average(perItemMs, (asked - arrivedAt) / buffer.length)
      buffer = []
      head = 0
      const fill = (answer: Connection.Answer, deliveries: ReadonlyArray<Connection.Delivery>) => {
        // Any answer but items (a failure, or items that do not fit the table's Schema: the
        // call then fails) hands what it delivered back.
        if (answer.status !== "ok" || !Array.isArray(answer.value)) return deliveries.forEach((delivery) => delivery.back())
        arrivedAt = performance.now()
        // A call that waited for an item says nothing of the round trip: count at most `waitCapMs`.
        roundTripMs = average(roundTripMs, Math.min(arrivedAt - asked, waitCapMs))
        answer.value.forEach((item, i) => buffer.push({ item, delivery: deliveries[i]! }))
        lastTakeAt = arrivedAt
        if (buffer.length > 1 && idleCheck === undefined) idleCheck = setTimeout(giveBackIfIdle, idleFloorMs).unref()
      }
      return Effect.flatMap(
        remote.call("takeMany", { max: batchSize(), wait: waitToWire(wait) }, { accept: fill, acksToFile }),
        (): Effect.Effect<A, TakeError> =>
          head < buffer.length
            ? takeBuffered
            : Effect.fail(new QueueClosedError({ message: "the queue's owner answered a get without items" }))
      )
    })

  const backend: Backend<A> = {
    put: (value, wait) =>
      options.bounded
        ? Effect.flatMap(codec.encode(value), (json) => Effect.asVoid(remote.call("put", { item: json, wait: waitToWire(wait) })))
        : writeBehind(value),
    take: (wait) =>
      Effect.map(
        options.prefetch === 1
          ? Effect.flatMap(remote.call("take", waitToWire(wait), { acksToFile }), codec.decode)
          : prefetching(wait),
        (item) => {
          taken++
          return item
        }
      ),
    size: remote.call("size", null),
    isFull: remote.call("isFull", null),
    end: Effect.asVoid(remote.call("end", null)),
    shutdown: Effect.ignore(remote.call("shutdown", null)),
    taskDone: (count) =>
      Effect.suspend(() => {
        const error = takeTaskDoneRefusal()
        if (error !== undefined) return Effect.fail(error)
        done += count
        // For items this process took, the count cannot go below zero (unless others call
        // taskDone for items they did not take): no need to wait for the owner's word.
        if (done <= taken) {
          if (doneBatch === 0) {
            addFlusher(flushDone)
            queueMicrotask(flushDone)
          }
          doneBatch += count
          return Effect.void
        }
        return Effect.asVoid(remote.call("taskDone", { count }))
      }),
    join: Effect.asVoid(remote.call("join", null)),
    // A round trip behind the batches: their answers come first, so a refusal is known after it.
    flush: Effect.suspend(() => {
      if (options.bounded) return Effect.void
      return Effect.flatMap(Effect.ignore(remote.call("size", null)), () => {
        const error = takeRefusal()
        return error === undefined ? Effect.void : Effect.fail(error)
      })
    }),
    // A grandchild's calls go up as they are; deliveries are settled when the grandchild settles them.
    server: remote.relay
  }
  return new QueueImpl(backend, { joinable: options.joinable, bounded: options.bounded, owned: false })
}

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
    meta: { schema: Meta, of: (queue) => ({ bounded: (queue as QueueImpl<A>).bounded }) },
    // A reference without its meta (from an older sender) is taken as bounded: acknowledged promptly.
    proxy: (ref, meta) => proxy(ref, item, { joinable, bounded: meta?.bounded ?? true, prefetch })
  })
}

/** What a proxy needs to know of the queue besides its reference. */
const Meta = Schema.Struct({ bounded: Schema.Boolean })

// ---------------------------------------------------------------------------
// operations

const waitOf = (options: { readonly timeout?: Duration.Input | undefined } | undefined): Store.Wait => ({
  _tag: "Block",
  timeout: options?.timeout === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
})

const noWait: Store.Wait = { _tag: "NoWait" }

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
