/**
 * A proxy to a queue its parent owns (or relays): puts to an unbounded queue are
 * write-behind, gets prefetch in adaptive batches, a joinable queue's taskDones go in
 * batches; every call goes through the queue's operation table.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Schema from "effect/Schema"
import { ItemEncodeError, ItemTooLargeError, QueueClosedError, type TaskDoneError } from "../ProcessQueueError.ts"
import type * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import { movingAverage } from "./movingAverage.ts"
import { type Backend, holdInScope, itemCodec, type PutError, QueueImpl, type TakeError } from "./queueHandle.ts"
import { gone, operations, waitToWire } from "./queueOperations.ts"
import type * as Store from "./queueStore.ts"
import * as RemoteObject from "./remoteObject.ts"


/**
 * A producer's batch is sent once it has this many items (else at the end of the turn); it
 * waits for the channel to drain only when that is congested. Small batches keep both
 * processes busy (the parent decodes one while the next is written); large batches of
 * large items make long lines that neither side can start on before they are whole.
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

export const make = <A>(
  ref: string,
  item: Schema.Codec<A, any, never, never>,
  /** `prefetch`: a fixed number, or `undefined` for adaptive (see `batchSize`). */
  options: {
    readonly joinable: boolean
    readonly bounded: boolean
    readonly prefetch: number | undefined
    readonly maxMessageBytes: number
  }
): QueueImpl<A> => {
  const codec = itemCodec(item, options.maxMessageBytes)
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
      // No Effect per item besides this one: a producer's loop of puts is the hot path.
      const json = codec.encodeNow(value)
      if (json instanceof ItemEncodeError || json instanceof ItemTooLargeError) return Effect.fail(json)
      outbox.push(json)
      if (outbox.length === 1) {
        addFlusher(flushOutbox)
        setImmediate(flushOutbox)
      }
      if (outbox.length < writeBehindLimit) return Effect.void
      flushOutbox()
      return Current.uplink()?.awaitDrain ?? Effect.void
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
  /** The clock of the consumer's fiber (set at each fetch): the idle check runs on it. */
  let clock: Clock.Clock | undefined
  let context = Context.empty()
  let lastTakeAt = 0
  const takeBuffered = Effect.suspend(() => {
    const next = buffer[head++]!
    lastTakeAt = clock!.currentTimeMillisUnsafe()
    next.delivery.ack()
    return codec.decode(next.item)
  })
  // Fetched items not taken for a while go back to the queue: this process may have stopped
  // asking (a pool worker between tasks, a consumer that decoded the queue for one task) while
  // another consumer waits for them. "A while": `idleFloorMs`, or 4 times this consumer's
  // usual time per item if that is longer.
  let idleCheck: Fiber.Fiber<void> | undefined
  const checkIdleIn = (ms: number) => {
    idleCheck = Effect.runForkWith(context)(Effect.andThen(Effect.sleep(ms), Effect.sync(giveBackIfIdle)))
  }
  const giveBackIfIdle = () => {
    idleCheck = undefined
    if (head >= buffer.length) return
    const limit = Math.max(idleFloorMs, 4 * (perItemMs ?? 0))
    const idleFor = clock!.currentTimeMillisUnsafe() - lastTakeAt
    if (idleFor < limit) return checkIdleIn(limit - idleFor)
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
  const average = (previous: number | undefined, sample: number) => movingAverage(previous, sample, 0.3)
  const batchSize = (): number => {
    if (options.prefetch !== undefined) return options.prefetch
    if (roundTripMs === undefined || perItemMs === undefined) return 1
    return Math.max(1, Math.min(maxBatch, Math.floor((roundTripsAhead * roundTripMs) / Math.max(perItemMs, 0.0001))))
  }
  const prefetching = (wait: Store.Wait): Effect.Effect<A, TakeError> =>
    Effect.withFiber((fiber) => {
      if (head < buffer.length) return takeBuffered
      context = fiber.context
      clock = fiber.getRef(Clock.Clock)
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
        lastTakeAt = clock!.currentTimeMillisUnsafe()
        if (buffer.length > 1 && idleCheck === undefined) checkIdleIn(idleFloorMs)
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
    // Prompt acknowledgements (not the file's): each marks a task done, which `join` waits for.
    takeHeld: (wait) =>
      holdInScope(
        (onDelivered) =>
          remote.call("takeHeld", waitToWire(wait), {
            accept: (answer, deliveries) =>
              answer.status === "ok" && deliveries.length === 1
                ? onDelivered(deliveries[0]!)
                : deliveries.forEach((delivery) => delivery.back())
          }),
        codec,
        // The puts made while the item was held go before its task's end.
        flushOutbox
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
  return new QueueImpl(backend, {
    joinable: options.joinable,
    bounded: options.bounded,
    owned: false,
    // Passed on with the reference, so a grandchild's puts are held to the owner's limit too.
    maxMessageBytes: options.maxMessageBytes
  })
}

