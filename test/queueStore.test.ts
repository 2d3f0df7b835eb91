import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"
import type * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { QueueClosedError, QueueEmptyError, QueueFullError, TaskDoneError } from "../src/ProcessQueueError.ts"
import type { Delivery } from "../src/internal/connection.ts"
import * as Store from "../src/internal/queueStore.ts"

const block: Store.Wait = { _tag: "Block", timeout: undefined }
const within = (ms: number): Store.Wait => ({ _tag: "Block", timeout: ms })
const noWait: Store.Wait = { _tag: "NoWait" }

/** Forked so that it has asked the store (and waits, if it must) by the time this returns. */
const fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.forkChild(effect, { startImmediately: true })

/** A child's take: the item stays in flight until its delivery is settled. */
const takeDelivered = (store: Store.Store, wait: Store.Wait = block) => {
  const deliveries: Array<Delivery> = []
  return Store.take(store, wait, (delivery) => deliveries.push(delivery)).pipe(
    Effect.map((item) => {
      assert.strictEqual(deliveries.length, 1)
      return { item, delivery: deliveries[0]! }
    })
  )
}

/** A held take (JoinableQueue.take): acknowledging the delivery marks the task done. */
const takeHeld = (store: Store.Store, wait: Store.Wait = block) => {
  const deliveries: Array<Delivery> = []
  return Store.take(store, wait, (delivery) => deliveries.push(delivery), true).pipe(
    Effect.map((item) => ({ item, delivery: deliveries[0]! }))
  )
}

/** Takes everything there is now, in order. */
const drain = (store: Store.Store) =>
  Effect.gen(function*() {
    const items: Array<Schema.Json> = []
    while (Store.size(store) > 0) items.push(yield* Store.take(store, noWait))
    return items
  })

const filled = (capacity: number, items: ReadonlyArray<Schema.Json>) => {
  const store = Store.make(capacity)
  for (const item of items) Effect.runSync(Store.put(store, item, noWait))
  return store
}

/** A scheduler that makes its fiber yield once, at its next step after being armed. */
class YieldOnce extends Scheduler.MixedScheduler {
  armed = false
  override shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    if (!this.armed) return super.shouldYield(fiber)
    this.armed = false
    return true
  }
}

const isWaiting = <A, E>(fiber: Fiber.Fiber<A, E>) => fiber.pollUnsafe() === undefined

/** Joins a fiber that must have finished by now (the store resumes its waiters at once). */
const finished = <A, E>(fiber: Fiber.Fiber<A, E>) => {
  assert.isFalse(isWaiting(fiber), "still waiting")
  return Fiber.join(fiber)
}

describe("queueStore", () => {
  describe("order", () => {
    it.effect("takes items in the order they were put", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2, 3])
        Store.putAllUnsafe(store, [4, 5])
        assert.deepStrictEqual(yield* drain(store), [1, 2, 3, 4, 5])
      }))

    it.effect("a batch put hands its first items to the waiting takers in the order they came", () =>
      Effect.gen(function*() {
        const store = Store.make(Infinity)
        const first = yield* fork(Store.take(store, block))
        const second = yield* fork(Store.take(store, block))
        assert.isUndefined(Store.putAllUnsafe(store, [1, 2, 3]))
        assert.strictEqual(yield* finished(first), 1)
        assert.strictEqual(yield* finished(second), 2)
        assert.deepStrictEqual(yield* drain(store), [3])
      }))

    it.effect("takeAvailableUnsafe takes at most max items, in order, each in flight with its delivery", () =>
      Effect.gen(function*() {
        const store = filled(5, [1, 2, 3, 4])
        const deliveries: Array<Delivery> = []
        assert.deepStrictEqual(Store.takeAvailableUnsafe(store, 3, (d) => deliveries.push(d)), [1, 2, 3])
        assert.strictEqual(deliveries.length, 3)
        assert.strictEqual(Store.size(store), 1)
        // Three in flight and one queued: one slot of five is left.
        yield* Store.put(store, 5, noWait)
        assert.isTrue(Store.isFull(store))
        assert.deepStrictEqual(Store.takeAvailableUnsafe(store, 10, () => {}), [4, 5])
        assert.deepStrictEqual(Store.takeAvailableUnsafe(store, 10, () => {}), [])
      }))
  })

  describe("give back", () => {
    it.effect("an item given back goes to the front", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2])
        const { delivery, item } = yield* takeDelivered(store)
        assert.strictEqual(item, 1)
        delivery.back()
        assert.deepStrictEqual(yield* drain(store), [1, 2])
      }))

    it.effect("items given back one after another keep their order, in front of the rest", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2, 3, 4, 5])
        const deliveries: Array<Delivery> = []
        assert.deepStrictEqual(Store.takeAvailableUnsafe(store, 3, (d) => deliveries.push(d)), [1, 2, 3])
        for (const delivery of deliveries) delivery.back()
        assert.strictEqual(Store.size(store), 5)
        assert.deepStrictEqual(yield* drain(store), [1, 2, 3, 4, 5])
      }))

    it.effect("items given back after a first give back and a take still come first, in order", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2, 3, 4])
        const deliveries: Array<Delivery> = []
        Store.takeAvailableUnsafe(store, 2, (d) => deliveries.push(d))
        deliveries[0]!.back()
        assert.strictEqual(yield* Store.take(store, noWait), 1)
        deliveries[1]!.back()
        assert.deepStrictEqual(yield* drain(store), [2, 3, 4])
      }))

    it.effect("an item given back goes straight to a waiting taker", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1])
        const { delivery } = yield* takeDelivered(store)
        const taker = yield* fork(Store.take(store, block))
        assert.isTrue(isWaiting(taker))
        delivery.back()
        assert.strictEqual(yield* finished(taker), 1)
        assert.strictEqual(Store.size(store), 0)
      }))

    it.effect("a delivery settles once: back after ack, or a second back, does nothing", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2])
        const first = yield* takeDelivered(store)
        first.delivery.ack()
        first.delivery.back()
        const second = yield* takeDelivered(store)
        second.delivery.back()
        second.delivery.back()
        assert.deepStrictEqual(yield* drain(store), [2])
      }))
  })

  describe("memory", () => {
    it.effect("a burst of items is kept in bounded chunks, each freed once its items are taken", () =>
      Effect.gen(function*() {
        const store = Store.make(Infinity)
        const n = 3 * Store.chunkSize + 5
        for (let i = 0; i < n; i++) yield* Store.put(store, i, noWait)
        const chunks = () => {
          const lengths: Array<number> = []
          for (let chunk = store.items.head; chunk !== undefined; chunk = chunk.next) lengths.push(chunk.array.length)
          return lengths
        }
        assert.deepStrictEqual(chunks(), [Store.chunkSize, Store.chunkSize, Store.chunkSize, 5])
        for (let i = 0; i < 2 * Store.chunkSize; i++) assert.strictEqual(yield* Store.take(store, noWait), i)
        assert.deepStrictEqual(chunks(), [Store.chunkSize, 5], "the two chunks taken are gone")
        assert.strictEqual(Store.size(store), Store.chunkSize + 5)
      }))
  })

  describe("end", () => {
    it.effect("takers see Done only once nothing is left and nothing is in flight", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2])
        const { delivery } = yield* takeDelivered(store)
        yield* Store.end(store)
        assert.strictEqual(yield* Store.take(store, noWait), 2)
        // Empty, but 1 is still in flight: it may come back.
        const taker = yield* fork(Store.take(store, block))
        assert.isTrue(isWaiting(taker))
        delivery.ack()
        const error = yield* Effect.flip(finished(taker))
        assert.isTrue(Cause.isDone(error))
        assert.isTrue(Cause.isDone(yield* Effect.flip(Store.take(store, noWait))))
      }))

    it.effect("an item that comes back after end still reaches a waiting taker", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1])
        const { delivery } = yield* takeDelivered(store)
        const taker = yield* fork(Store.take(store, block))
        yield* Store.end(store)
        assert.isTrue(isWaiting(taker))
        delivery.back()
        assert.strictEqual(yield* finished(taker), 1)
        assert.isTrue(Cause.isDone(yield* Effect.flip(Store.take(store, noWait))))
      }))

    it.effect("after end, puts fail with QueueClosedError and a waiting putter is failed", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const putter = yield* fork(Store.put(store, 2, block))
        yield* Store.end(store)
        assert.instanceOf(yield* Effect.flip(finished(putter)), QueueClosedError)
        assert.instanceOf(yield* Effect.flip(Store.put(store, 3, noWait)), QueueClosedError)
        assert.strictEqual(Store.putAllUnsafe(store, [4])?._tag, "QueueClosedError")
        assert.deepStrictEqual(yield* drain(store), [1])
      }))
  })

  describe("bounded", () => {
    it.effect("a put waits while the queue is full and goes in when a take frees a slot", () =>
      Effect.gen(function*() {
        const store = filled(2, [1, 2])
        assert.isTrue(Store.isFull(store))
        const putter = yield* fork(Store.put(store, 3, block))
        assert.isTrue(isWaiting(putter))
        assert.strictEqual(yield* Store.take(store, noWait), 1)
        yield* finished(putter)
        assert.deepStrictEqual(yield* drain(store), [2, 3])
      }))

    it.effect("an item in flight keeps its slot until it is acknowledged", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const { delivery } = yield* takeDelivered(store)
        assert.strictEqual(Store.size(store), 0)
        assert.isTrue(Store.isFull(store))
        const putter = yield* fork(Store.put(store, 2, block))
        assert.isTrue(isWaiting(putter))
        delivery.ack()
        yield* finished(putter)
        assert.deepStrictEqual(yield* drain(store), [2])
      }))

    it.effect("an item in flight that comes back takes its slot again: the putter still waits", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const { delivery } = yield* takeDelivered(store)
        const putter = yield* fork(Store.put(store, 2, block))
        delivery.back()
        assert.isTrue(isWaiting(putter))
        assert.strictEqual(yield* Store.take(store, noWait), 1)
        yield* finished(putter)
        assert.deepStrictEqual(yield* drain(store), [2])
      }))

    it.effect("a put to a full queue that waits for a taker goes straight to it", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const { delivery } = yield* takeDelivered(store)
        const taker = yield* fork(Store.take(store, block))
        // Full (1 in flight) but a taker waits: the item goes to it, taking no slot.
        yield* Store.put(store, 2, noWait)
        assert.strictEqual(yield* finished(taker), 2)
        delivery.ack()
        assert.isFalse(Store.isFull(store))
      }))

    it.effect("NoWait fails at once: a put with QueueFullError, a take with QueueEmptyError", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        assert.instanceOf(yield* Effect.flip(Store.put(store, 2, noWait)), QueueFullError)
        assert.strictEqual(yield* Store.take(store, noWait), 1)
        assert.instanceOf(yield* Effect.flip(Store.take(store, noWait)), QueueEmptyError)
      }))

    it.effect("a put that waits fails with QueueFullError after exactly its timeout, and leaves the queue", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const putter = yield* fork(Store.put(store, 2, within(100)))
        yield* TestClock.adjust(99)
        assert.isTrue(isWaiting(putter))
        yield* TestClock.adjust(1)
        assert.instanceOf(yield* Effect.flip(finished(putter)), QueueFullError)
        // Gone: a freed slot does not let it in.
        assert.strictEqual(yield* Store.take(store, noWait), 1)
        assert.strictEqual(Store.size(store), 0)
      }))

    it.effect("a take that waits fails with QueueEmptyError after exactly its timeout, and leaves the queue", () =>
      Effect.gen(function*() {
        const store = Store.make(Infinity)
        const taker = yield* fork(takeDelivered(store, within(100)))
        yield* TestClock.adjust(99)
        assert.isTrue(isWaiting(taker))
        yield* TestClock.adjust(1)
        assert.instanceOf(yield* Effect.flip(finished(taker)), QueueEmptyError)
        // Gone: a new item is not handed to it.
        yield* Store.put(store, 1, noWait)
        assert.strictEqual(Store.size(store), 1)
      }))

    it.effect("a put whose slot frees at the instant its time is up is either in, or failed and not in", () =>
      Effect.gen(function*() {
        for (const takerFirst of [true, false]) {
          const store = filled(1, [1])
          const freeSlot = Effect.andThen(Effect.sleep(100), Store.take(store, noWait))
          const taker = takerFirst ? yield* fork(freeSlot) : undefined
          const putter = yield* fork(Effect.exit(Store.put(store, 2, within(100))))
          const lateTaker = takerFirst ? undefined : yield* fork(freeSlot)
          yield* TestClock.adjust(100)
          assert.strictEqual(yield* finished((taker ?? lateTaker)!), 1)
          const exit = yield* finished(putter)
          assert.deepStrictEqual(yield* drain(store), Exit.isSuccess(exit) ? [2] : [], `taker first: ${takerFirst}`)
        }
      }))

    it.effect("a take handed an item at the instant its time is up has it, or timed out and left it", () =>
      Effect.gen(function*() {
        for (const putterFirst of [true, false]) {
          const store = Store.make(Infinity)
          const give = Effect.andThen(Effect.sleep(100), Store.put(store, 7, noWait))
          const putter = putterFirst ? yield* fork(give) : undefined
          const taker = yield* fork(Effect.exit(takeDelivered(store, within(100))))
          const latePutter = putterFirst ? undefined : yield* fork(give)
          yield* TestClock.adjust(100)
          yield* finished((putter ?? latePutter)!)
          const exit = yield* finished(taker)
          assert.strictEqual(Store.size(store), Exit.isSuccess(exit) ? 0 : 1, `putter first: ${putterFirst}`)
        }
      }))

    it.effect("a waiting put goes straight to a taker that waits too, full as the queue is", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const { delivery } = yield* takeDelivered(store)
        // Every slot in flight: a putter waits, and so do two takers.
        const putter = yield* fork(Store.put(store, 2, block))
        const first = yield* fork(takeDelivered(store))
        const second = yield* fork(takeDelivered(store))
        assert.isTrue(isWaiting(putter) && isWaiting(first) && isWaiting(second))
        // 1 comes back to the first taker and holds the slot again; 2 need not wait for it.
        delivery.back()
        assert.strictEqual((yield* finished(first)).item, 1)
        yield* finished(putter)
        assert.strictEqual((yield* finished(second)).item, 2)
      }))
  })

  describe("interruption", () => {
    it.effect("a waiting taker interrupted after it was handed an item gives it back: nothing lost or duplicated", () =>
      Effect.gen(function*() {
        const store = Store.make(1)
        const deliveries: Array<Delivery> = []
        const scheduler = new YieldOnce()
        const taker = yield* fork(
          Store.take(store, block, (d) => deliveries.push(d)).pipe(Effect.provideService(Scheduler.Scheduler, scheduler))
        )
        assert.isTrue(isWaiting(taker))
        yield* Effect.sync(() => {
          // Handed the item, the taker yields before it runs again: the interruption comes first.
          scheduler.armed = true
          Store.putAllUnsafe(store, [1])
          taker.interruptUnsafe()
        })
        const exit = yield* Fiber.await(taker)
        assert.isTrue(Exit.hasInterrupts(exit))
        assert.strictEqual(deliveries.length, 0)
        // Back in the queue once, and its slot no longer held in flight.
        assert.deepStrictEqual(yield* drain(store), [1])
        assert.isFalse(Store.isFull(store))
      }))

    it.effect("a waiting taker interrupted before any item leaves the queue", () =>
      Effect.gen(function*() {
        const store = Store.make(Infinity)
        const taker = yield* fork(Store.take(store, block))
        yield* Fiber.interrupt(taker)
        yield* Store.put(store, 1, noWait)
        assert.deepStrictEqual(yield* drain(store), [1])
      }))

    it.effect("a take or a put waiting with a timeout can be interrupted before its time is up", () =>
      Effect.gen(function*() {
        const empty = Store.make(1)
        const full = filled(1, [1])
        const taker = yield* fork(Store.take(empty, within(100)))
        const putter = yield* fork(Store.put(full, 2, within(100)))
        taker.interruptUnsafe()
        putter.interruptUnsafe()
        assert.isFalse(isWaiting(taker) || isWaiting(putter), "still waiting")
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(taker)))
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(putter)))
        // Both have left their queues.
        yield* Store.put(empty, 1, noWait)
        assert.strictEqual(Store.size(empty), 1)
        assert.strictEqual(yield* Store.take(full, noWait), 1)
        assert.strictEqual(Store.size(full), 0)
      }))

    it.effect("a waiting putter that is interrupted is removed: its item never goes in", () =>
      Effect.gen(function*() {
        const store = filled(1, [1])
        const putter = yield* fork(Store.put(store, 2, block))
        yield* Fiber.interrupt(putter)
        assert.strictEqual(yield* Store.take(store, noWait), 1)
        assert.strictEqual(Store.size(store), 0)
        // Not counted either: one taskDone finishes the queue's work.
        yield* Store.taskDone(store)
        yield* finished(yield* fork(Store.join(store)))
      }))
  })

  describe("shutdown", () => {
    it.effect("fails every waiter with the error it was given", () =>
      Effect.gen(function*() {
        const full = filled(1, [1])
        const empty = Store.make(1)
        const putter = yield* fork(Store.put(full, 2, block))
        const joiner = yield* fork(Store.join(full))
        const taker = yield* fork(Store.take(empty, block))
        assert.isTrue(isWaiting(putter) && isWaiting(joiner) && isWaiting(taker))
        const error = new QueueClosedError({ message: "shut down" })
        Store.shutdown(full, error)
        Store.shutdown(empty, error)
        assert.strictEqual(yield* Effect.flip(finished(putter)), error)
        assert.strictEqual(yield* Effect.flip(finished(joiner)), error)
        assert.strictEqual(yield* Effect.flip(finished(taker)), error)
      }))

    it.effect("every later operation fails with that error, and what was in flight does not come back", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2])
        const { delivery } = yield* takeDelivered(store)
        const error = new QueueClosedError({ message: "shut down" })
        Store.shutdown(store, error)
        delivery.back()
        assert.strictEqual(Store.size(store), 0)
        assert.strictEqual(yield* Effect.flip(Store.take(store, noWait)), error)
        assert.strictEqual(yield* Effect.flip(Store.put(store, 3, noWait)), error)
        assert.strictEqual(yield* Effect.flip(Store.end(store)), error)
        assert.strictEqual(yield* Effect.flip(Store.taskDone(store)), error)
        assert.strictEqual(yield* Effect.flip(Store.join(store)), error)
        assert.strictEqual(yield* Effect.flip(Store.guard(store, Effect.void)), error)
        assert.strictEqual(Store.putAllUnsafe(store, [4]), error)
        assert.deepStrictEqual(Store.takeAvailableUnsafe(store, 10, () => {}), [])
      }))
  })

  describe("joinable", () => {
    it.effect("join waits until every accepted item is marked done", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1])
        Store.putAllUnsafe(store, [2, 3])
        const joiner = yield* fork(Store.join(store))
        yield* Store.taskDone(store, 2)
        assert.isTrue(isWaiting(joiner))
        yield* Store.taskDone(store)
        yield* finished(joiner)
        // With nothing unfinished, join returns at once.
        yield* finished(yield* fork(Store.join(store)))
      }))

    it.effect("an interrupted joiner does not stop the others from being released", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1])
        const gone = yield* fork(Store.join(store))
        const staying = yield* fork(Store.join(store))
        yield* Fiber.interrupt(gone)
        yield* Store.taskDone(store)
        yield* finished(staying)
      }))

    it.effect("taskDone past zero fails with TaskDoneError, after applying what it could", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2])
        const joiner = yield* fork(Store.join(store))
        assert.instanceOf(yield* Effect.flip(Store.taskDone(store, 3)), TaskDoneError)
        yield* finished(joiner)
        assert.instanceOf(yield* Effect.flip(Store.taskDone(store)), TaskDoneError)
      }))

    it.effect("an item given back is not counted twice", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1])
        const first = yield* takeDelivered(store)
        first.delivery.back()
        const second = yield* takeDelivered(store)
        second.delivery.ack()
        yield* Store.taskDone(store)
        yield* finished(yield* fork(Store.join(store)))
        assert.instanceOf(yield* Effect.flip(Store.taskDone(store)), TaskDoneError)
      }))

    it.effect("a held item's acknowledgement is its taskDone, in the same step: join is released by it", () =>
      Effect.gen(function*() {
        const store = filled(2, [1, 2])
        const joiner = yield* fork(Store.join(store))
        const first = yield* takeHeld(store)
        assert.isTrue(Store.isFull(store), "a held item keeps its slot")
        first.delivery.ack()
        assert.isFalse(Store.isFull(store))
        assert.isTrue(isWaiting(joiner), "one task left")
        const waiting = yield* fork(takeHeld(store))
        const second = yield* finished(waiting)
        second.delivery.ack()
        second.delivery.ack()
        yield* finished(joiner)
        assert.instanceOf(yield* Effect.flip(Store.taskDone(store)), TaskDoneError, "each ack marked one task, once")
      }))

    it.effect("a held item given back goes in front, in order, and its task stays unfinished", () =>
      Effect.gen(function*() {
        const store = filled(Infinity, [1, 2, 3])
        const first = yield* takeHeld(store)
        const second = yield* takeHeld(store)
        first.delivery.back()
        second.delivery.back()
        const joiner = yield* fork(Store.join(store))
        assert.deepStrictEqual(yield* drain(store), [1, 2, 3])
        yield* Store.taskDone(store, 2)
        assert.isTrue(isWaiting(joiner), "every item is still unfinished until marked done")
        yield* Store.taskDone(store)
        yield* finished(joiner)
      }))
  })
})
