/**
 * The state of a queue in the process that owns it. Items are kept encoded (JSON, already
 * validated by the item Schema), so an item going to a child is sent as it is.
 *
 * Rules that make "nothing lost, nothing duplicated" hold:
 * - an item handed to a child is *in flight* until the child acknowledges it; it still
 *   takes a slot of a bounded queue, and goes back to the front if the child gives up or
 *   dies; items that come back together (what a consumer fetched and did not take) keep
 *   their order there;
 * - a waiting taker that is interrupted after it was handed an item puts it back;
 * - after `end`, takers see `Done` only when no item is left *and* none is in flight, so
 *   an item coming back from a dead consumer still reaches a live one;
 * - `unfinished` (JoinableQueue) counts accepted puts minus `taskDone`s, and an item that
 *   comes back is not counted twice.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Schema from "effect/Schema"
import { QueueClosedError, QueueEmptyError, QueueFullError, TaskDoneError } from "../ProcessQueueError.ts"
import type { Delivery } from "./connection.ts"

type Item = Schema.Json

interface Taker {
  readonly deferred: Deferred.Deferred<Item, Cause.Done | QueueClosedError>
  /** A child's take: the item keeps its slot until the child acknowledges it. */
  readonly holdSlot: boolean
}

interface Putter {
  readonly item: Item
  readonly deferred: Deferred.Deferred<void, QueueClosedError>
}

export interface Store {
  readonly capacity: number
  items: Array<Item>
  head: number
  /** Items that came back, in the order they came: they go in front of `items` before the next take. */
  returned: Array<Item>
  inFlight: number
  readonly takers: Array<Taker>
  readonly putters: Array<Putter>
  ended: boolean
  closed: QueueClosedError | undefined
  unfinished: number
  readonly joiners: Array<Deferred.Deferred<void, QueueClosedError>>
}

export const make = (capacity: number): Store => ({
  capacity,
  items: [],
  head: 0,
  returned: [],
  inFlight: 0,
  takers: [],
  putters: [],
  ended: false,
  closed: undefined,
  unfinished: 0,
  joiners: []
})

/** What a wait does: block (optionally with a timeout in ms), or not at all. */
export type Wait = { readonly _tag: "Block"; readonly timeout: number | undefined } | { readonly _tag: "NoWait" }

export const size = (store: Store): number => store.items.length - store.head + store.returned.length
export const isFull = (store: Store): boolean => size(store) + store.inFlight >= store.capacity

const shift = (store: Store): Item => {
  if (store.returned.length > 0) returnedToFront(store)
  const item = store.items[store.head]!
  store.items[store.head++] = null
  if (store.head > 1024 && store.head * 2 > store.items.length) {
    store.items = store.items.slice(store.head)
    store.head = 0
  }
  return item
}

const remove = <A>(list: Array<A>, value: A) => {
  const index = list.indexOf(value)
  if (index !== -1) list.splice(index, 1)
}

/** Gives an item to the first waiting taker, if any. */
const handToTaker = (store: Store, item: Item): boolean => {
  while (store.takers.length > 0) {
    const taker = store.takers.shift()!
    if (Deferred.doneUnsafe(taker.deferred, Exit.succeed(item))) {
      if (taker.holdSlot) store.inFlight++
      return true
    }
  }
  return false
}

/** A new item: to a waiting taker, else to the back. */
const accept = (store: Store, item: Item) => {
  store.unfinished++
  if (!handToTaker(store, item)) store.items.push(item)
}

/**
 * An item that came back: to a waiting taker, else to the front. A consumer gives back
 * what it fetched and did not take one item after another, in order: were each put in
 * front of the one before it, the next consumer would take them in reverse. So they wait
 * in `returned` and go in front together, in the order they came, before the next take.
 */
const giveBack = (store: Store, item: Item) => {
  if (store.closed !== undefined) return
  // A taker waits only on an empty queue: `returned` is empty whenever one can take this.
  if (!handToTaker(store, item)) store.returned.push(item)
}

const returnedToFront = (store: Store) => {
  const returned = store.returned
  store.returned = []
  if (store.head >= returned.length) {
    store.head -= returned.length
    for (let i = 0; i < returned.length; i++) store.items[store.head + i] = returned[i]!
  } else {
    store.items = returned.concat(store.head === 0 ? store.items : store.items.slice(store.head))
    store.head = 0
  }
}

/** An item just taken off the front goes back there (no taker wanted it). */
const toFront = (store: Store, item: Item) => {
  if (store.head > 0) store.items[--store.head] = item
  else store.items.unshift(item)
}

/** A slot was freed: admit waiting putters while there is room. */
const admitPutters = (store: Store) => {
  while (store.putters.length > 0 && (!isFull(store) || store.takers.length > 0)) {
    const putter = store.putters.shift()!
    accept(store, putter.item)
    Deferred.doneUnsafe(putter.deferred, Exit.void)
  }
}

/** After `end`: once nothing is left or in flight, every taker sees the end. */
const finishIfEnded = (store: Store) => {
  if (!store.ended || size(store) > 0 || store.inFlight > 0) return
  for (const taker of store.takers.splice(0)) Deferred.doneUnsafe(taker.deferred, Exit.fail(Cause.Done()))
}

const closedNow = (store: Store) => store.closed ?? (store.ended ? endedError : undefined)
const endedError = new QueueClosedError({ message: "the queue was ended: it takes no more items" })

/**
 * Accepts items at once, without an Effect per item: for a child's batch of puts to an
 * unbounded queue, which always has room.
 */
export const putAllUnsafe = (store: Store, items: ReadonlyArray<Item>): QueueClosedError | undefined => {
  const closed = closedNow(store)
  if (closed !== undefined) return closed
  // All in first, then the waiting takers served from the front: a taker that resumes here
  // and asks again finds the rest already queued (a plain take), instead of waiting for
  // each next item to be handed to it.
  store.unfinished += items.length
  for (const item of items) store.items.push(item)
  while (store.takers.length > 0 && size(store) > 0) {
    // Off the queue before it is handed: a taker resuming at once must not see it again.
    const item = shift(store)
    if (!handToTaker(store, item)) toFront(store, item)
  }
  return undefined
}

export const put = (store: Store, item: Item, wait: Wait): Effect.Effect<void, QueueFullError | QueueClosedError> =>
  Effect.suspend(() => {
    const closed = closedNow(store)
    if (closed !== undefined) return Effect.fail(closed)
    if (store.takers.length > 0 || !isFull(store)) {
      accept(store, item)
      return Effect.void
    }
    if (wait._tag === "NoWait") return Effect.fail(new QueueFullError({ message: "the queue is full" }))
    const putter: Putter = { item, deferred: Deferred.makeUnsafe() }
    store.putters.push(putter)
    const waiting = Deferred.await(putter.deferred).pipe(
      Effect.onExit((exit) => Effect.sync(() => Exit.isSuccess(exit) || remove(store.putters, putter)))
    )
    return wait.timeout === undefined ? waiting : Effect.timeoutOption(waiting, wait.timeout).pipe(
      Effect.flatMap((done) =>
        done._tag === "Some"
          ? Effect.void
          : Effect.fail(new QueueFullError({ message: `the queue stayed full for ${wait.timeout} ms` }))
      )
    )
  })

/**
 * Takes the next item. With `onDelivered` (a child's take), the item stays in flight and
 * its delivery is handed to `onDelivered` in the same step that takes it, to be settled:
 * `ack` once the child has it, `back` otherwise.
 */
export const take = (
  store: Store,
  wait: Wait,
  onDelivered?: (delivery: Delivery) => void
): Effect.Effect<Item, Cause.Done | QueueEmptyError | QueueClosedError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const holdSlot = onDelivered !== undefined
      if (store.closed !== undefined) return Effect.fail(store.closed)
      if (size(store) > 0) {
        const item = shift(store)
        if (holdSlot) {
          store.inFlight++
          onDelivered(deliveryOf(store, item))
        } else admitPutters(store)
        finishIfEnded(store)
        return Effect.succeed(item)
      }
      if (store.ended && store.inFlight === 0) return Effect.fail(Cause.Done())
      if (wait._tag === "NoWait") return Effect.fail(new QueueEmptyError({ message: "the queue is empty" }))
      const taker: Taker = { deferred: Deferred.makeUnsafe(), holdSlot }
      store.takers.push(taker)
      const waiting = restore(Deferred.await(taker.deferred)).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isSuccess(exit)) {
              // Still in the uninterruptible part: the delivery is known before anything can stop us.
              if (holdSlot) onDelivered(deliveryOf(store, exit.value))
              return
            }
            remove(store.takers, taker)
            // Handed an item just as it gave up: the item goes back, untouched.
            const handed = taker.deferred.effect as Exit.Exit<Item, unknown> | undefined
            if (handed !== undefined && Exit.isSuccess(handed)) {
              if (holdSlot) store.inFlight--
              giveBack(store, handed.value)
            }
          })
        )
      )
      return wait.timeout === undefined ? waiting : Effect.timeoutOption(waiting, wait.timeout).pipe(
        Effect.flatMap((item) =>
          item._tag === "Some"
            ? Effect.succeed(item.value)
            : Effect.fail(new QueueEmptyError({ message: `the queue stayed empty for ${wait.timeout} ms` }))
        )
      )
    })
  )

/**
 * Takes up to `max` more items that are there now, each in flight and its delivery handed
 * to `onDelivered`, without an Effect per item: the rest of a prefetching child's batch.
 */
export const takeAvailableUnsafe = (store: Store, max: number, onDelivered: (delivery: Delivery) => void): Array<Item> => {
  const items: Array<Item> = []
  if (store.closed !== undefined) return items
  while (items.length < max && size(store) > 0) {
    const item = shift(store)
    store.inFlight++
    onDelivered(deliveryOf(store, item))
    items.push(item)
  }
  return items
}

const deliveryOf = (store: Store, item: Item): Delivery => {
  let settled = false
  return {
    ack: () => {
      if (settled) return
      settled = true
      store.inFlight--
      admitPutters(store)
      finishIfEnded(store)
    },
    back: () => {
      if (settled) return
      settled = true
      store.inFlight--
      giveBack(store, item)
      admitPutters(store)
    }
  }
}

export const end = (store: Store): Effect.Effect<void, QueueClosedError> =>
  Effect.suspend(() => {
    if (store.closed !== undefined) return Effect.fail(store.closed)
    store.ended = true
    for (const putter of store.putters.splice(0)) Deferred.doneUnsafe(putter.deferred, Exit.fail(endedError))
    finishIfEnded(store)
    return Effect.void
  })

export const shutdown = (store: Store, error: QueueClosedError): void => {
  if (store.closed !== undefined) return
  store.closed = error
  store.items = []
  store.head = 0
  store.returned = []
  for (const taker of store.takers.splice(0)) Deferred.doneUnsafe(taker.deferred, Exit.fail(error))
  for (const putter of store.putters.splice(0)) Deferred.doneUnsafe(putter.deferred, Exit.fail(error))
  for (const joiner of store.joiners.splice(0)) Deferred.doneUnsafe(joiner, Exit.fail(error))
}

/** Marks `count` tasks done (a child sends its own in batches); those past zero fail, as Python's extra calls do. */
export const taskDone = (store: Store, count = 1): Effect.Effect<void, TaskDoneError | QueueClosedError> =>
  Effect.suspend((): Effect.Effect<void, TaskDoneError | QueueClosedError> => {
    if (store.closed !== undefined) return Effect.fail(store.closed)
    const applied = Math.min(count, store.unfinished)
    store.unfinished -= applied
    if (applied > 0 && store.unfinished === 0) {
      for (const joiner of store.joiners.splice(0)) Deferred.doneUnsafe(joiner, Exit.void)
    }
    if (applied < count) {
      return Effect.fail(new TaskDoneError({ message: "taskDone() called more times than items were put" }))
    }
    return Effect.void
  })

export const join = (store: Store): Effect.Effect<void, QueueClosedError> =>
  Effect.suspend(() => {
    if (store.closed !== undefined) return Effect.fail(store.closed)
    if (store.unfinished === 0) return Effect.void
    const joiner = Deferred.makeUnsafe<void, QueueClosedError>()
    store.joiners.push(joiner)
    return Deferred.await(joiner).pipe(
      Effect.onInterrupt(() => Effect.sync(() => remove(store.joiners, joiner)))
    )
  })

export const guard = <A, E>(store: Store, effect: Effect.Effect<A, E>): Effect.Effect<A, E | QueueClosedError> =>
  Effect.suspend((): Effect.Effect<A, E | QueueClosedError> =>
    store.closed !== undefined ? Effect.fail(store.closed) : effect
  )
