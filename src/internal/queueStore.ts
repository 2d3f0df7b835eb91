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
 *   comes back is not counted twice;
 * - a *held* item (`JoinableQueue.take`) is in flight like a child's until its taker's
 *   scope ends: its acknowledgement is its `taskDone`, in the same step, so that no crash
 *   can come between the two: an item is either back in the queue or done, never neither.
 *
 * One file past the usual size on purpose: these rules hold across every operation on
 * the same state (a put hands to a taker, a give-back admits a putter, an ack may end the
 * queue), and they are checked best where they are all in view.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as MutableList from "effect/MutableList"
import type * as Schema from "effect/Schema"
import { QueueClosedError, QueueEmptyError, QueueFullError, TaskDoneError } from "../ProcessQueueError.ts"
import type { Delivery } from "./connection.ts"

type Item = Schema.Json

interface Taker {
  readonly deferred: Deferred.Deferred<Item, Cause.Done | QueueClosedError>
  /** A child's take: the item keeps its slot until the child acknowledges it. */
  readonly holdSlot: boolean
  /**
   * What the store handed it (boxed, as `null` is an item): a taker interrupted after the
   * hand-over learns here what it must give back.
   */
  handed: { readonly item: Item } | undefined
}

interface Putter {
  readonly item: Item
  readonly deferred: Deferred.Deferred<void, QueueClosedError>
}

export interface Store {
  readonly capacity: number
  readonly items: MutableList.MutableList<Item>
  /** Items that came back, in the order they came: they go in front of `items` before the next take. */
  returned: Array<Item>
  inFlight: number
  readonly takers: MutableList.MutableList<Taker>
  readonly putters: MutableList.MutableList<Putter>
  ended: boolean
  closed: QueueClosedError | undefined
  unfinished: number
  /** What every `join` waits on while tasks are unfinished, made by the first one. */
  joined: Deferred.Deferred<void, QueueClosedError> | undefined
}

export const make = (capacity: number): Store => ({
  capacity,
  items: MutableList.make(),
  returned: [],
  inFlight: 0,
  takers: MutableList.make(),
  putters: MutableList.make(),
  ended: false,
  closed: undefined,
  unfinished: 0,
  joined: undefined
})

/** What a wait does: block (optionally with a timeout in ms), or not at all. */
export type Wait = { readonly _tag: "Block"; readonly timeout: number | undefined } | { readonly _tag: "NoWait" }

export const size = (store: Store): number => store.items.length + store.returned.length
export const isFull = (store: Store): boolean => size(store) + store.inFlight >= store.capacity

/** What came back goes in front, before anything is taken. */
const returnedToFront = (store: Store) => {
  if (store.returned.length === 0) return
  // The list takes the array over as it is: one step, however many came back.
  MutableList.prependAllUnsafe(store.items, store.returned, true)
  store.returned = []
}

/** Takes the front item off the queue, if there is one. */
const takeFront = (store: Store): Item | MutableList.Empty => {
  returnedToFront(store)
  return MutableList.take(store.items)
}

/** Gives an item to the first waiting taker, if any. */
const handToTaker = (store: Store, item: Item): boolean => {
  const taker = MutableList.take(store.takers)
  if (taker === MutableList.Empty) return false
  // Only the store completes a taker's deferred, and only once the taker has left
  // `takers`: one still there is waiting, and takes the item.
  taker.handed = { item }
  if (taker.holdSlot) store.inFlight++
  Deferred.doneUnsafe(taker.deferred, Exit.succeed(item))
  return true
}

/**
 * The most items one chunk of `items` takes. A list appends to its last chunk for as long
 * as it is not taken from: after a burst of puts, one array as large as the burst stayed
 * until its last item was taken. Bounded chunks are freed one by one as they are taken;
 * large ones (past V8's large-object size) are made in the old generation, so that a
 * queue holding many items does not make the young generation grow, which the process
 * keeps at its peak size long after.
 */
export const chunkSize = 32_768

/** A new item: to a waiting taker, else to the back. */
const accept = (store: Store, item: Item) => {
  store.unfinished++
  if (handToTaker(store, item)) return
  const tail = store.items.tail
  if (tail !== undefined && tail.array.length >= chunkSize) MutableList.appendAllUnsafe(store.items, [item], true)
  else MutableList.append(store.items, item)
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

/** A slot was freed: admit waiting putters while there is room. */
const admitPutters = (store: Store) => {
  while (!isFull(store) || store.takers.length > 0) {
    const putter = MutableList.take(store.putters)
    if (putter === MutableList.Empty) return
    accept(store, putter.item)
    Deferred.doneUnsafe(putter.deferred, Exit.void)
  }
}

const doneExit = Exit.fail(Cause.Done())

/** After `end`: once nothing is left or in flight, every taker sees the end. */
const finishIfEnded = (store: Store) => {
  if (!store.ended || size(store) > 0 || store.inFlight > 0) return
  for (const taker of MutableList.takeAll(store.takers)) Deferred.doneUnsafe(taker.deferred, doneExit)
}

const closedNow = (store: Store) => store.closed ?? (store.ended ? endedError : undefined)
const endedError = new QueueClosedError({ message: "the queue was ended: it takes no more items" })

/**
 * Waits for the store to complete a waiter's deferred, for at most `timeout` ms of
 * Effect's clock. When the time is up, a waiter the store served meanwhile (the two
 * raced) keeps what it was given; any other leaves the queue in the same step as it
 * fails, so the store cannot serve it after it has said it timed out.
 */
const awaitWaiter = <A, E, E2>(
  deferred: Deferred.Deferred<A, E>,
  timeout: number | undefined,
  leave: () => void,
  timedOut: () => E2
): Effect.Effect<A, E | E2> =>
  timeout === undefined ? Deferred.await(deferred) : Effect.timeoutOption(Deferred.await(deferred), timeout).pipe(
    Effect.flatMap((done) =>
      done._tag === "Some" ? Effect.succeed(done.value) : Effect.suspend((): Effect.Effect<A, E | E2> => {
        if (Deferred.isDoneUnsafe(deferred)) return Deferred.await(deferred)
        leave()
        return Effect.fail(timedOut())
      })
    )
  )

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
  MutableList.appendAll(store.items, items)
  while (store.takers.length > 0) {
    // Off the queue before it is handed: a taker resuming at once must not see it again.
    const item = takeFront(store)
    if (item === MutableList.Empty) break
    handToTaker(store, item)
  }
  return undefined
}

/** A put that need not wait: the item goes in, or the queue is closed. `undefined` when it is full. */
const putNow = (store: Store, item: Item): Effect.Effect<void, QueueClosedError> | undefined => {
  const closed = closedNow(store)
  if (closed !== undefined) return Effect.fail(closed)
  if (store.takers.length > 0 || !isFull(store)) {
    accept(store, item)
    return Effect.void
  }
  return undefined
}

export const put = (store: Store, item: Item, wait: Wait): Effect.Effect<void, QueueFullError | QueueClosedError> =>
  Effect.suspend(() =>
    putNow(store, item) ?? (wait._tag === "NoWait"
      ? Effect.fail(new QueueFullError({ message: "the queue is full" }))
      : waitToPut(store, item, wait.timeout))
  )

/**
 * Waits for room. The putter joins the queue in the uninterruptible part, so that it is
 * sure to leave it if interrupted; it asks again there first, as the queue may have
 * changed since it last looked.
 */
const waitToPut = (
  store: Store,
  item: Item,
  timeout: number | undefined
): Effect.Effect<void, QueueFullError | QueueClosedError> =>
  Effect.uninterruptibleMask((restore) => {
    const now = putNow(store, item)
    if (now !== undefined) return now
    const putter: Putter = { item, deferred: Deferred.makeUnsafe() }
    MutableList.append(store.putters, putter)
    const leave = () => MutableList.remove(store.putters, putter)
    return restore(
      awaitWaiter(
        putter.deferred,
        timeout,
        leave,
        () => new QueueFullError({ message: `the queue stayed full for ${timeout} ms` })
      )
    ).pipe(
      // An admitted putter's item is in the queue: only one still waiting leaves.
      Effect.onInterrupt(() => Effect.sync(() => Deferred.isDoneUnsafe(putter.deferred) || leave()))
    )
  })

/**
 * A take that need not wait: an item, `Done`, or the queue closed. `undefined` when it
 * must wait. A child's item is in flight from here, its delivery handed to `onDelivered`.
 */
const takeNow = (
  store: Store,
  onDelivered: ((delivery: Delivery) => void) | undefined,
  holds: boolean
): Effect.Effect<Item, Cause.Done | QueueClosedError> | undefined => {
  if (store.closed !== undefined) return Effect.fail(store.closed)
  const item = takeFront(store)
  if (item !== MutableList.Empty) {
    if (onDelivered !== undefined) {
      store.inFlight++
      onDelivered(deliveryOf(store, item, holds))
    } else admitPutters(store)
    finishIfEnded(store)
    return Effect.succeed(item)
  }
  if (store.ended && store.inFlight === 0) return Effect.fail(Cause.Done())
  return undefined
}

/**
 * Takes the next item. With `onDelivered` (a child's take, or a held one), the item stays
 * in flight and its delivery is handed to `onDelivered` in the same step that takes it, to
 * be settled: `ack` once the child has it (for a held item: once it is done, which marks
 * its task done), `back` otherwise.
 */
export const take = (
  store: Store,
  wait: Wait,
  onDelivered?: (delivery: Delivery) => void,
  holds = false
): Effect.Effect<Item, Cause.Done | QueueEmptyError | QueueClosedError> =>
  Effect.suspend(() =>
    takeNow(store, onDelivered, holds) ?? (wait._tag === "NoWait"
      ? Effect.fail(new QueueEmptyError({ message: "the queue is empty" }))
      : waitToTake(store, wait.timeout, onDelivered, holds))
  )

/**
 * Waits for an item, in the uninterruptible part but for the wait itself: a taker handed
 * an item either delivers it or gives it back. It asks again first, as the queue may have
 * changed since it last looked.
 */
const waitToTake = (
  store: Store,
  timeout: number | undefined,
  onDelivered: ((delivery: Delivery) => void) | undefined,
  holds: boolean
): Effect.Effect<Item, Cause.Done | QueueEmptyError | QueueClosedError> =>
  Effect.uninterruptibleMask((restore) => {
    const now = takeNow(store, onDelivered, holds)
    if (now !== undefined) return now
    const taker: Taker = { deferred: Deferred.makeUnsafe(), holdSlot: onDelivered !== undefined, handed: undefined }
    MutableList.append(store.takers, taker)
    return restore(
      awaitWaiter(
        taker.deferred,
        timeout,
        () => MutableList.remove(store.takers, taker),
        () => new QueueEmptyError({ message: `the queue stayed empty for ${timeout} ms` })
      )
    ).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (Exit.isSuccess(exit)) {
            // Still in the uninterruptible part: the delivery is known before anything can stop us.
            onDelivered?.(deliveryOf(store, exit.value, holds))
          } else if (Exit.hasInterrupts(exit)) giveUp(store, taker)
        })
      )
    )
  })

/** An interrupted taker: leaves the queue, or gives back, untouched, what it was just handed. */
const giveUp = (store: Store, taker: Taker) => {
  if (!Deferred.isDoneUnsafe(taker.deferred)) return MutableList.remove(store.takers, taker)
  if (taker.handed === undefined) return
  if (taker.holdSlot) store.inFlight--
  giveBack(store, taker.handed.item)
}

/**
 * Takes up to `max` more items that are there now, each in flight and its delivery handed
 * to `onDelivered`, without an Effect per item: the rest of a prefetching child's batch.
 */
export const takeAvailableUnsafe = (
  store: Store,
  max: number,
  onDelivered: (delivery: Delivery) => void,
  /** Where they go (after what it holds already): one array per batch, none in between. */
  into: Array<Item> = []
): Array<Item> => {
  if (store.closed !== undefined) return into
  returnedToFront(store)
  for (let i = 0; i < max; i++) {
    const item = MutableList.take(store.items)
    if (item === MutableList.Empty) break
    store.inFlight++
    onDelivered(deliveryOf(store, item, false))
    into.push(item)
  }
  return into
}

/**
 * A delivery of `item`; with `holds`, its acknowledgement also marks its task done. One
 * small object per item handed out, with its methods on the class: a consumer that
 * fetches items in batches keeps many of these alive at once, for a round trip, long
 * enough for a collection to move them to the old generation, whose pages the process
 * keeps long after (a closure pair and its scope per item was several times the size).
 */
class StoreDelivery implements Delivery {
  readonly store: Store
  readonly item: Item
  readonly holds: boolean
  settled = false
  constructor(store: Store, item: Item, holds: boolean) {
    this.store = store
    this.item = item
    this.holds = holds
  }
  ack(): void {
    if (this.settled) return
    this.settled = true
    const store = this.store
    store.inFlight--
    if (this.holds) markDone(store, 1)
    admitPutters(store)
    finishIfEnded(store)
  }
  back(): void {
    if (this.settled) return
    this.settled = true
    const store = this.store
    store.inFlight--
    giveBack(store, this.item)
    admitPutters(store)
  }
}

const deliveryOf = (store: Store, item: Item, holds: boolean): Delivery => new StoreDelivery(store, item, holds)

export const end = (store: Store): Effect.Effect<void, QueueClosedError> =>
  Effect.suspend(() => {
    if (store.closed !== undefined) return Effect.fail(store.closed)
    store.ended = true
    const ended = Exit.fail(endedError)
    for (const putter of MutableList.takeAll(store.putters)) Deferred.doneUnsafe(putter.deferred, ended)
    finishIfEnded(store)
    return Effect.void
  })

export const shutdown = (store: Store, error: QueueClosedError): void => {
  if (store.closed !== undefined) return
  store.closed = error
  MutableList.clear(store.items)
  store.returned = []
  const closed = Exit.fail(error)
  for (const taker of MutableList.takeAll(store.takers)) Deferred.doneUnsafe(taker.deferred, closed)
  for (const putter of MutableList.takeAll(store.putters)) Deferred.doneUnsafe(putter.deferred, closed)
  if (store.joined !== undefined) Deferred.doneUnsafe(store.joined, closed)
  store.joined = undefined
}

/** Marks up to `count` tasks done (no more than are unfinished), waking the joiners at zero; gives how many it marked. */
const markDone = (store: Store, count: number): number => {
  const applied = Math.min(count, store.unfinished)
  store.unfinished -= applied
  if (applied > 0 && store.unfinished === 0 && store.joined !== undefined) {
    Deferred.doneUnsafe(store.joined, Exit.void)
    store.joined = undefined
  }
  return applied
}

/** Marks `count` tasks done (a child sends its own in batches); those past zero fail, as Python's extra calls do. */
export const taskDone = (store: Store, count = 1): Effect.Effect<void, TaskDoneError | QueueClosedError> =>
  Effect.suspend((): Effect.Effect<void, TaskDoneError | QueueClosedError> => {
    if (store.closed !== undefined) return Effect.fail(store.closed)
    if (markDone(store, count) < count) {
      return Effect.fail(new TaskDoneError({ message: "taskDone() called more times than items were put" }))
    }
    return Effect.void
  })

export const join = (store: Store): Effect.Effect<void, QueueClosedError> =>
  Effect.suspend(() => {
    if (store.closed !== undefined) return Effect.fail(store.closed)
    if (store.unfinished === 0) return Effect.void
    // One deferred for all: a joiner that gives up only stops waiting on it, nothing to remove.
    store.joined ??= Deferred.makeUnsafe()
    return Deferred.await(store.joined)
  })

export const guard = <A, E>(store: Store, effect: Effect.Effect<A, E>): Effect.Effect<A, E | QueueClosedError> =>
  Effect.suspend((): Effect.Effect<A, E | QueueClosedError> =>
    store.closed !== undefined ? Effect.fail(store.closed) : effect
  )
