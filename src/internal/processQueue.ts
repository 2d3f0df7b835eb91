import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as ProcessQueue from "../ProcessQueue.ts"
import {
  ItemDecodeError,
  ItemEncodeError,
  QueueClosedError,
  QueueEmptyError,
  QueueError,
  QueueFullError,
  TaskDoneError
} from "../ProcessQueueError.ts"
import * as Bridge from "./bridge.ts"
import * as PlainJson from "./plainJson.ts"
import * as Store from "./queueStore.ts"

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
  readonly server: Bridge.Server
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

const encodeQueueError = Schema.encodeSync(Schema.toCodecJson(QueueError))
const decodeQueueError = Schema.decodeUnknownOption(Schema.toCodecJson(QueueError))

const toWire = (error: QueueError | Cause.Done): Schema.Json =>
  Cause.isDone(error) ? { _tag: "Done" } : encodeQueueError(error)

const fromWire = (value: unknown): QueueError | Cause.Done => {
  if (Predicate.hasProperty(value, "_tag") && value._tag === "Done") return Cause.Done()
  return Option.getOrElse(
    decodeQueueError(value),
    () => new QueueClosedError({ message: "the queue is gone: its owner process or scope has ended" })
  )
}

// Inputs are parsed JSON; the items in them are checked by the item Schema where they are
// used, so here they are only carried (`Schema.Unknown`, and a batch only checked to be an array).
const TakeManyInput = Schema.decodeUnknownOption(Schema.Struct({ max: Schema.Int, wait: Schema.Unknown }))
const PutManyInput = Schema.decodeUnknownOption(Schema.Struct({
  items: Schema.declare((u: unknown): u is ReadonlyArray<Schema.Json> => Array.isArray(u), { expected: "an array" })
}))
const PutInput = Schema.decodeUnknownOption(Schema.Struct({ item: Schema.Unknown, wait: Schema.Unknown }))
/** A taskDone's count: `{ count }` from a batch, 1 otherwise. */
const CountInput = (input: unknown): number =>
  Predicate.hasProperty(input, "count") && Number.isInteger(input.count) && (input.count as number) > 0
    ? input.count as number
    : 1
const WaitInput = Schema.decodeUnknownOption(Schema.Struct({ timeout: Schema.NullOr(Schema.Number) }))
const waitFromWire = (input: unknown): Store.Wait => {
  const decoded = WaitInput(input)
  if (Option.isNone(decoded)) return { _tag: "NoWait" }
  return { _tag: "Block", timeout: decoded.value.timeout ?? undefined }
}
const waitToWire = (wait: Store.Wait): Schema.Json => wait._tag === "NoWait" ? null : { timeout: wait.timeout ?? null }

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
      server: { serve: (op, input, deliver) => serveOwner(store, codec, backend, op, input, deliver) }
    }
    const queue = new QueueImpl(backend, { joinable: options.joinable, bounded: capacity !== Infinity, owned: true })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        Store.shutdown(store, new QueueClosedError({ message: "the scope that owns the queue has ended" }))
        Bridge.unregister(queue)
      })
    )
    return queue as ProcessQueue.ProcessQueue<A>
  })

/** What the owner does for a child. */
const serveOwner = <A>(
  store: Store.Store,
  codec: ItemCodec<A>,
  backend: Backend<A>,
  op: string,
  input: unknown,
  deliver: (delivery: Bridge.Delivery) => void
): Effect.Effect<Schema.Json, Schema.Json> => {
  switch (op) {
    case "put": {
      const decoded = PutInput(input)
      if (Option.isNone(decoded)) return Effect.fail(toWire(new ItemDecodeError({ message: "a put without an item" })))
      // Validated where it enters: a producer with another idea of the Schema is refused.
      // (It is parsed JSON, so it is stored as it came.)
      const item = decoded.value.item as Schema.Json
      return codec.decode(item).pipe(
        Effect.andThen(Store.put(store, item, waitFromWire(decoded.value.wait))),
        Effect.as(null),
        Effect.mapError(toWire)
      )
    }
    case "putMany": {
      // A child's write-behind batch (unbounded queues only): every item that fits is
      // taken; the producer hears of the others at its next operation, and we log them.
      const decoded = PutManyInput(input)
      if (Option.isNone(decoded)) return Effect.fail(toWire(new ItemDecodeError({ message: "a batch without items" })))
      const items = decoded.value.items
      // The usual case, every item fits: one decode of the batch, items taken synchronously.
      if (codec.validAll(items)) {
        const closed = Store.putAllUnsafe(store, items)
        return closed === undefined ? Effect.succeed(null) : Effect.fail(toWire(closed))
      }
      return Effect.gen(function*() {
        let refused = 0
        let first: ItemDecodeError | undefined
        for (const item of items) {
          const valid = yield* Effect.exit(codec.decode(item))
          if (Exit.isSuccess(valid)) yield* Store.put(store, item, noWait)
          else {
            refused++
            first ??= Cause.squash(valid.cause) as ItemDecodeError
          }
        }
        if (first === undefined) return null
        const error = new ItemDecodeError({ message: `${refused} item(s) refused where they arrived: ${first.message}` })
        yield* Effect.logWarning(error.message)
        return yield* Effect.fail(error)
      }).pipe(Effect.mapError(toWire))
    }
    case "take":
      return Store.take(store, waitFromWire(input), deliver).pipe(Effect.mapError(toWire))
    case "takeMany": {
      // A prefetching consumer: the first item as a take, then whatever else is there now.
      const decoded = TakeManyInput(input)
      if (Option.isNone(decoded)) return Effect.fail(toWire(new QueueClosedError({ message: "a bad takeMany" })))
      const { max, wait } = decoded.value
      return Store.take(store, waitFromWire(wait), deliver).pipe(
        Effect.map((first): Schema.Json => [first, ...Store.takeAvailableUnsafe(store, max - 1, deliver)]),
        Effect.mapError(toWire)
      )
    }
    default:
      return serveSimple(backend, op, input)
  }
}

/** The operations that carry no item, served the same way by owners and proxies. */
const serveSimple = <A>(backend: Backend<A>, op: string, input: unknown): Effect.Effect<Schema.Json, Schema.Json> => {
  const run = ((): Effect.Effect<Schema.Json, QueueError> => {
    switch (op) {
      case "size":
        return backend.size
      case "isFull":
        return backend.isFull
      case "end":
        return Effect.as(backend.end, null)
      case "shutdown":
        return Effect.as(backend.shutdown, null)
      case "taskDone":
        return Effect.as(backend.taskDone(CountInput(input)), null)
      case "join":
        return Effect.as(backend.join, null)
      default:
        return Effect.fail(new QueueClosedError({ message: `no operation '${op}' on a queue` }))
    }
  })()
  return Effect.mapError(run, toWire)
}

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
  const acks = { acksToFile: !options.bounded }
  const call = (op: string, input: Schema.Json = null, accept?: Parameters<typeof Bridge.call>[3]) =>
    Effect.flatMap(Bridge.call(ref, op, input, accept, acks), (answer) =>
      answer.ok ? Effect.succeed(answer.value) : Effect.fail(fromWire(answer.value)))

  // Puts to an unbounded queue are write-behind, as Python's are: encoded (and so checked)
  // here and now, sent in one batch per turn of the event loop. A batch the owner refuses
  // fails this proxy's next operation. A bounded queue's put waits for its slot instead.
  let outbox: Array<Schema.Json> = []
  let refused: PutError | undefined
  const flushOutbox = () => {
    Bridge.removeFlusher(flushOutbox)
    if (outbox.length === 0) return
    const items = outbox
    outbox = []
    Bridge.post(ref, "putMany", { items }, (answer) => {
      if (!answer.ok) refused ??= fromWire(answer.value) as PutError
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
          Bridge.addFlusher(flushOutbox)
          setImmediate(flushOutbox)
        }
        if (outbox.length < writeBehindLimit) return Effect.void
        flushOutbox()
        return Bridge.awaitUplinkDrain
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
    Bridge.removeFlusher(flushDone)
    if (doneBatch === 0) return
    const count = doneBatch
    doneBatch = 0
    // The puts made before first: a task marked done after a put must not overtake it.
    flushOutbox()
    Bridge.post(ref, "taskDone", { count }, (answer) => {
      if (!answer.ok) taskDoneRefused ??= fromWire(answer.value) as TaskDoneError | QueueClosedError
    })
  }

  // Prefetching (any prefetch but a fixed 1): a get asks for up to a batch of items at once
  // and keeps the rest here; each stays the owner's (in flight) until this process takes it,
  // and goes back if this process ends first.
  let buffer: Array<{ readonly item: unknown; readonly delivery: Bridge.Delivery }> = []
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
      const fill: Parameters<typeof Bridge.call>[3] = (answer, deliveries) => {
        if (!answer.ok || !Array.isArray(answer.value)) return deliveries.forEach((delivery) => delivery.back())
        arrivedAt = performance.now()
        // A call that waited for an item says nothing of the round trip: count at most `waitCapMs`.
        roundTripMs = average(roundTripMs, Math.min(arrivedAt - asked, waitCapMs))
        answer.value.forEach((item, i) => buffer.push({ item, delivery: deliveries[i]! }))
        lastTakeAt = arrivedAt
        if (buffer.length > 1 && idleCheck === undefined) idleCheck = setTimeout(giveBackIfIdle, idleFloorMs).unref()
      }
      return Effect.flatMap(
        call("takeMany", { max: batchSize(), wait: waitToWire(wait) }, fill) as Effect.Effect<unknown, TakeError>,
        (): Effect.Effect<A, TakeError> =>
          head < buffer.length
            ? takeBuffered
            : Effect.fail(new QueueClosedError({ message: "the queue's owner answered a get without items" }))
      )
    })

  const backend: Backend<A> = {
    put: (value, wait) =>
      options.bounded
        ? Effect.flatMap(codec.encode(value), (json) =>
          call("put", { item: json, wait: waitToWire(wait) }) as Effect.Effect<Schema.Json, PutError>)
        : writeBehind(value),
    take: (wait) =>
      Effect.map(
        options.prefetch === 1
          ? Effect.flatMap(call("take", waitToWire(wait)) as Effect.Effect<Schema.Json, TakeError>, codec.decode)
          : prefetching(wait),
        (item) => {
          taken++
          return item
        }
      ),
    size: Effect.map(call("size") as Effect.Effect<Schema.Json, QueueClosedError>, Number),
    isFull: Effect.map(call("isFull") as Effect.Effect<Schema.Json, QueueClosedError>, (value) => value === true),
    end: Effect.asVoid(call("end") as Effect.Effect<Schema.Json, QueueClosedError>),
    shutdown: Effect.ignore(call("shutdown")),
    taskDone: (count) =>
      Effect.suspend(() => {
        const error = takeTaskDoneRefusal()
        if (error !== undefined) return Effect.fail(error)
        done += count
        // For items this process took, the count cannot go below zero (unless others call
        // taskDone for items they did not take): no need to wait for the owner's word.
        if (done <= taken) {
          if (doneBatch === 0) {
            Bridge.addFlusher(flushDone)
            queueMicrotask(flushDone)
          }
          doneBatch += count
          return Effect.void
        }
        return Effect.asVoid(call("taskDone", { count }) as Effect.Effect<Schema.Json, TaskDoneError | QueueClosedError>)
      }),
    join: Effect.asVoid(call("join") as Effect.Effect<Schema.Json, QueueClosedError>),
    // A round trip behind the batches: their answers come first, so a refusal is known after it.
    flush: Effect.suspend(() => {
      if (options.bounded) return Effect.void
      return Effect.flatMap(Effect.ignore(call("size")), () => {
        const error = takeRefusal()
        return error === undefined ? Effect.void : Effect.fail(error)
      })
    }),
    // A grandchild's calls go up as they are; deliveries are settled when the grandchild settles them.
    server: {
      serve: (op, input, deliver) =>
        Effect.flatMap(
          Bridge.call(ref, op, input as Schema.Json, (_, deliveries) => deliveries.forEach(deliver)),
          // Relayed as they came (parsed JSON): the owner checks the input, the grandchild the answer.
          (answer) =>
            answer.ok
              ? Effect.succeed(answer.value as Schema.Json)
              : Effect.fail(answer.value as Schema.Json ?? toWire(fromWire(null)))
        )
    }
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
  return Bridge.referenceSchema({
    tag: joinable ? "JoinableQueue" : "ProcessQueue",
    is: (u: unknown): u is ProcessQueue.ProcessQueue<A> => isProcessQueue(u) && isJoinable(u) === joinable,
    toRef: (queue) => Bridge.register(queue, backendOf(queue).server),
    meta: (queue) => ({ bounded: (queue as QueueImpl<A>).bounded }),
    fromRef: (ref, meta) =>
      Bridge.lookup<ProcessQueue.ProcessQueue<A>>(ref) ??
        proxy(ref, item, {
          joinable,
          bounded: !(Predicate.hasProperty(meta, "bounded") && meta.bounded === false),
          prefetch
        })
  })
}

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
