import * as Fs from "node:fs"
import * as Os from "node:os"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { JoinableQueue, Process, ProcessEvent, ProcessQueue, ProcessQueueError, type Target } from "../src/index.ts"
import * as AckFile from "../src/internal/ackFile.ts"
import * as H from "./fixtures/queue-held.ts"
import * as T from "./fixtures/queue-timeouts.ts"
import * as Q from "./fixtures/queues.ts"
import { tempPath, until, untilFile } from "./utils/files.ts"
import { serving } from "./utils/serving.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)

/** Completes when a child's log contains `text`. */
const onLog = (text: string) =>
  Effect.gen(function*() {
    const seen = yield* Deferred.make<void>()
    const layer = Logger.layer([
      Logger.make((options) => {
        if (String(options.message).includes(text)) Deferred.doneUnsafe(seen, Exit.void)
      })
    ])
    return { seen, layer }
  })

const untilNoneServing = (...children: ReadonlyArray<Process.Process<unknown, unknown>>) => until(() => serving(...children) === 0)

/** An unbounded queue of numbers holding 0 … n - 1. */
const filledQueue = (n: number) =>
  Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.Number })
    for (const i of range(n)) yield* ProcessQueue.put(queue, i)
    return queue
  })

/**
 * A child that stops responding (or stays until killed), spawned as a daemon: if a check
 * fails before the test kills it, closing the scope terminates it instead of waiting for
 * it forever (the test would time out, and say nothing of the check).
 */
const spawnFrozen = <I, A, E>(target: Target.Target<I, A, E>, args: I) =>
  Process.spawn(target, ...([{ args, daemon: true }] as Process.OptionsFor<I>))

/** Sleeps a random 0 … `ms` milliseconds. */
const randomSleep = (ms: number) => Effect.suspend(() => Effect.sleep(Math.floor(Math.random() * (ms + 1))))

/** Takes what is there now, in order. */
const takeAll = <A>(queue: ProcessQueue.ProcessQueue<A>) =>
  Effect.gen(function*() {
    const items: Array<A> = []
    while ((yield* ProcessQueue.size(queue)) > 0) items.push(yield* ProcessQueue.get(queue))
    return items
  })

/**
 * What paces this process's side of a race with a child: waits before its next operation,
 * giving up early once `stopped` (the child is done).
 */
type Pace = (child: Process.Process<unknown, unknown>, stopped: () => boolean) => Effect.Effect<void>

/**
 * Runs `step` after each `pace` until the child's result is in. Stopped by a flag, not by
 * interruption, which could fall between an operation and its record.
 */
const alongside = <A, E>(
  child: Process.Process<A, E>,
  pace: Pace,
  step: Effect.Effect<void>
) =>
  Effect.gen(function*() {
    let stopped = false
    const loop = yield* Effect.forkChild(Effect.whileLoop({
      while: () => !stopped,
      body: () => Effect.andThen(pace(child, () => stopped), Effect.suspend(() => stopped ? Effect.void : step)),
      step: () => {}
    }))
    const result = yield* Process.result(child)
    stopped = true
    yield* Fiber.join(loop)
    return result
  })

/**
 * A child puts `count` items with a timeout into a full queue of one slot, while this
 * process takes an item after each `pace`, so that slots free up around the timeouts. The
 * items that arrived must be exactly those the child was told went in, in order.
 */
const putsAgainstTimeouts = (
  args: { readonly count: number; readonly size: number; readonly timeout: number; readonly relay: boolean },
  pace: Pace
) =>
  Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.String, capacity: 1 })
    yield* ProcessQueue.put(queue, T.itemOf(-1, 4))
    const child = yield* Process.spawn(T.putsWithin, { args: { queue, ...args } })
    const arrived: Array<number> = []
    const take = ProcessQueue.get(queue, { timeout: 50 }).pipe(
      Effect.map((item) => void arrived.push(T.indexOf(item))),
      Effect.catchTag("QueueEmptyError", () => Effect.void),
      Effect.orDie
    )
    const wentIn = yield* alongside(child, pace, take)
    arrived.push(...(yield* takeAll(queue)).map(T.indexOf))
    assert.deepStrictEqual(arrived.filter((i) => i >= 0), wentIn, "what arrived is what the producer was told went in")
    return wentIn.length
  }).pipe(Effect.scoped)

/**
 * A child gets `count` times with a timeout from an empty queue, while this process puts
 * an item after each `pace`. What the child got and what is left must be every item put,
 * each once.
 */
const getsAgainstTimeouts = (
  spawn: (queue: ProcessQueue.ProcessQueue<string>) => Effect.Effect<Process.Process<ReadonlyArray<number>, unknown>, unknown, Scope.Scope>,
  size: number,
  pace: Pace
) =>
  Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: Schema.String })
    const child = yield* spawn(queue)
    let put = 0
    const give = Effect.suspend(() => ProcessQueue.put(queue, T.itemOf(put, size))).pipe(
      Effect.andThen(Effect.sync(() => void put++)),
      Effect.orDie
    )
    const got = yield* alongside(child, pace, give)
    const left = (yield* takeAll(queue)).map(T.indexOf)
    assert.deepStrictEqual(sorted([...got, ...left]), range(put), "every item put was got or is left, once")
    return got.length
  }).pipe(Effect.scoped)

describe("ProcessQueue", () => {
  describe("in its own process", () => {
    it.live("FIFO, sizes, nowait variants and timeouts", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number, capacity: 2 })
        assert.isTrue(yield* ProcessQueue.isEmpty(queue))
        yield* ProcessQueue.put(queue, 1)
        yield* ProcessQueue.putNowait(queue, 2)
        assert.isTrue(yield* ProcessQueue.isFull(queue))
        assert.strictEqual(yield* ProcessQueue.size(queue), 2)
        assert.instanceOf(yield* Effect.flip(ProcessQueue.putNowait(queue, 3)), ProcessQueueError.QueueFullError)
        assert.instanceOf(
          yield* Effect.flip(ProcessQueue.put(queue, 3, { timeout: "30 millis" })),
          ProcessQueueError.QueueFullError
        )
        assert.strictEqual(yield* ProcessQueue.get(queue), 1)
        assert.strictEqual(yield* ProcessQueue.getNowait(queue), 2)
        assert.instanceOf(yield* Effect.flip(ProcessQueue.getNowait(queue)), ProcessQueueError.QueueEmptyError)
        assert.instanceOf(
          yield* Effect.flip(ProcessQueue.get(queue, { timeout: "30 millis" })),
          ProcessQueueError.QueueEmptyError
        )
      }).pipe(Effect.scoped))

    it.live("end: what is left is taken, then Done; puts fail", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.String })
        yield* ProcessQueue.put(queue, "a")
        yield* ProcessQueue.end(queue)
        assert.instanceOf(yield* Effect.flip(ProcessQueue.put(queue, "b")), ProcessQueueError.QueueClosedError)
        assert.strictEqual(yield* ProcessQueue.get(queue), "a")
        assert.isTrue(Cause.isDone(yield* Effect.flip(ProcessQueue.get(queue))))
      }).pipe(Effect.scoped))

    it.live("an item that does not fit its Schema, or cannot be carried, fails at the producer", () =>
      Effect.gen(function*() {
        const numbers = yield* ProcessQueue.make({ item: Schema.Number })
        const error = yield* Effect.flip(ProcessQueue.put(numbers, "x" as unknown as number))
        assert.instanceOf(error, ProcessQueueError.ItemEncodeError)
        const anything = yield* ProcessQueue.make({ item: Schema.Unknown })
        const cyclic: Record<string, unknown> = {}
        cyclic["self"] = cyclic
        for (const item of [() => 1, Symbol("s"), cyclic]) {
          assert.instanceOf(yield* Effect.flip(ProcessQueue.put(anything, item)), ProcessQueueError.ItemEncodeError)
        }
        assert.strictEqual(yield* ProcessQueue.size(anything), 0, "nothing was put")
      }).pipe(Effect.scoped))

    it.live("JoinableQueue: join waits for every taskDone; one too many is a TaskDoneError", () =>
      Effect.gen(function*() {
        const queue = yield* JoinableQueue.make({ item: Schema.Number })
        yield* JoinableQueue.join(queue)
        yield* ProcessQueue.put(queue, 1)
        yield* ProcessQueue.put(queue, 2)
        const joined = yield* Effect.forkChild(JoinableQueue.join(queue))
        yield* ProcessQueue.get(queue)
        yield* JoinableQueue.taskDone(queue)
        yield* ProcessQueue.get(queue)
        assert.isUndefined(joined.pollUnsafe(), "one task is still unfinished")
        yield* JoinableQueue.taskDone(queue)
        yield* until(() => joined.pollUnsafe() !== undefined)
        assert.instanceOf(yield* Effect.flip(JoinableQueue.taskDone(queue)), ProcessQueueError.TaskDoneError)
      }).pipe(Effect.scoped))
  })

  describe("across processes", () => {
    it.live("children produce and consume; every item arrives exactly once", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        const consumers = [yield* Process.spawn(Q.drain, { args: queue }), yield* Process.spawn(Q.drain, { args: queue })]
        const producers = [
          yield* Process.spawn(Q.produce, { args: { queue, items: range(200), timeout: null } }),
          yield* Process.spawn(Q.produce, { args: { queue, items: range(200).map((i) => i + 200), timeout: null } })
        ]
        for (const p of producers) yield* Process.result(p)
        yield* ProcessQueue.end(queue)
        const taken = (yield* Effect.forEach(consumers, Process.result)).flat()
        assert.deepStrictEqual(sorted(taken), range(400))
      }).pipe(Effect.scoped))

    it.live("size, isEmpty and isFull through a proxy", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number, capacity: 2 })
        yield* ProcessQueue.put(queue, 1)
        yield* ProcessQueue.put(queue, 2)
        assert.deepStrictEqual(yield* Process.run(Q.inspect, { args: queue }), { size: 2, empty: false, full: true })
      }).pipe(Effect.scoped))

    it.live("a bounded queue blocks a producer in a child; a put timeout there is a QueueFullError", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number, capacity: 2 })
        const blocked = yield* Process.spawn(Q.produce, { args: { queue, items: range(5), timeout: null } })
        yield* until(() => serving(blocked) > 0)
        assert.strictEqual(yield* ProcessQueue.size(queue), 2, "the child waits with its third item")
        assert.isTrue(yield* Process.isAlive(blocked))
        const taken: Array<number> = []
        for (let i = 0; i < 5; i++) taken.push(yield* ProcessQueue.get(queue))
        yield* Process.result(blocked)
        assert.deepStrictEqual(taken, range(5), "FIFO")

        yield* ProcessQueue.put(queue, 1)
        yield* ProcessQueue.put(queue, 2)
        const error = yield* Effect.flip(Process.run(Q.produce, { args: { queue, items: [3], timeout: 100 } }))
        assert.instanceOf(error, ProcessQueueError.QueueFullError)
      }).pipe(Effect.scoped))

    it.live("a put whose item does not fit fails in the child, and nothing is sent", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        assert.instanceOf(yield* Effect.flip(Process.run(Q.putsWrongType, { args: queue })), ProcessQueueError.ItemEncodeError)
        assert.strictEqual(yield* ProcessQueue.size(queue), 0)
      }).pipe(Effect.scoped))

    it.live("an item that does not fit the owner's Schema is refused where it arrives, and the queue keeps working", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        const error = yield* Effect.flip(Process.run(Q.putsAsString, { args: queue as never }))
        assert.instanceOf(error, ProcessQueueError.ItemDecodeError)
        assert.strictEqual(yield* ProcessQueue.size(queue), 0)
        yield* Process.run(Q.produce, { args: { queue, items: [7], timeout: null } })
        assert.strictEqual(yield* ProcessQueue.get(queue), 7)
      }).pipe(Effect.scoped))

    it.live("a {\"__proto__\": …} item pollutes nothing", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Unknown })
        yield* Process.run(Q.putsProto, { args: queue })
        const item = (yield* ProcessQueue.get(queue)) as Record<string, unknown>
        assert.strictEqual(item["ok"], 1)
        assert.isUndefined(({} as Record<string, unknown>)["polluted"])
        assert.isUndefined(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted") ? "polluted" : undefined)
      }).pipe(Effect.scoped))

    it.live("a child passes the queue on to its own child", () =>
      Effect.gen(function*() {
        const queue = yield* filledQueue(20)
        yield* ProcessQueue.end(queue)
        assert.deepStrictEqual(yield* Process.run(Q.relayDrain, { args: queue }), range(20))
      }).pipe(Effect.scoped))

    it.live("interrupting a waiting get or put in a child cancels the wait in the parent", () =>
      Effect.gen(function*() {
        for (const op of ["get", "put"] as const) {
          const queue = yield* ProcessQueue.make({ item: Schema.Number, capacity: 1 })
          if (op === "put") yield* ProcessQueue.put(queue, 0)
          const { layer, seen } = yield* onLog("gave up")
          const p = yield* Process.spawn(Q.giveUp, { args: { queue, op, ms: 300 }, daemon: true }).pipe(
            Effect.provide(layer)
          )
          yield* Deferred.await(seen)
          yield* untilNoneServing(p)
          assert.strictEqual(serving(p), 0, `nothing is left waiting in the parent after a ${op}`)
          assert.isTrue(yield* Process.isAlive(p))
          if (op === "get") {
            yield* ProcessQueue.put(queue, 5)
            assert.strictEqual(yield* ProcessQueue.get(queue), 5, "a later item is not sent to the given-up get")
          } else {
            assert.strictEqual(yield* ProcessQueue.size(queue), 1, "the given-up put did not land")
          }
          yield* Process.kill(p)
        }
      }).pipe(Effect.scoped))

    it.live("consumers that keep giving up their gets lose and duplicate nothing", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        const consumers = [
          yield* Process.spawn(Q.impatient, { args: queue }),
          yield* Process.spawn(Q.impatient, { args: queue })
        ]
        for (const p of consumers) yield* Process.ready(p)
        for (const i of range(500)) {
          yield* ProcessQueue.put(queue, i)
          if (i % 50 === 0) yield* Effect.sleep("5 millis")
        }
        yield* ProcessQueue.end(queue)
        const taken = (yield* Effect.forEach(consumers, Process.result)).flat()
        assert.deepStrictEqual(sorted(taken), range(500))
      }).pipe(Effect.scoped))

    it.live("an item handed to a consumer that is SIGKILLed before reading it goes back; join stays exact", () =>
      Effect.gen(function*() {
        const queue = yield* JoinableQueue.make({ item: Schema.Number })
        const marker = yield* tempPath("frozen")
        const frozen = yield* spawnFrozen(Q.getThenFreeze, { queue, marker })
        yield* untilFile(marker)
        assert.strictEqual(serving(frozen), 1, "its get waits in the parent")
        // Its get waits in the parent; the item goes to it, and the answer is never read.
        yield* ProcessQueue.put(queue, 42)
        yield* untilNoneServing(frozen)
        assert.strictEqual(yield* ProcessQueue.size(queue), 0, "the item was handed out")
        yield* Process.kill(frozen)
        yield* Process.join(frozen)
        const joined = yield* Effect.forkChild(JoinableQueue.join(queue))
        assert.strictEqual(yield* ProcessQueue.get(queue, { timeout: "10 seconds" }), 42, "it came back")
        assert.isUndefined(joined.pollUnsafe(), "the task is still unfinished")
        yield* JoinableQueue.taskDone(queue)
        yield* until(() => joined.pollUnsafe() !== undefined)
        assert.isDefined(joined.pollUnsafe(), "join returned after the one taskDone")
      }).pipe(Effect.scoped))

    it.live("a child's puts are all in the queue when its result arrives", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        yield* Process.run(Q.produce, { args: { queue, items: range(5000), timeout: null } })
        assert.strictEqual(yield* ProcessQueue.size(queue), 5000)
        const taken: Array<number> = []
        for (let i = 0; i < 5000; i++) taken.push(yield* ProcessQueue.get(queue))
        assert.deepStrictEqual(taken, range(5000), "in order")
      }).pipe(Effect.scoped))

    it.live("a child's last batches and its result reach a parent too busy to read them before it exits", () =>
      Effect.gen(function*() {
        for (let round = 0; round < 3; round++) {
          const queue = yield* ProcessQueue.make({ item: Schema.Number })
          const p = yield* Process.spawn(Q.produce, { args: { queue, items: range(100_000), timeout: null } })
          yield* Process.ready(p)
          // Busy: the child writes everything and wants to exit long before we read it.
          const until = Date.now() + 1500
          while (Date.now() < until) {
            // block the event loop
          }
          let taken = 0
          while (taken < 100_000) {
            yield* ProcessQueue.get(queue, { timeout: "30 seconds" })
            taken++
          }
          yield* Process.result(p)
          assert.strictEqual(yield* Process.join(p), 0, `round ${round}`)
        }
      }).pipe(Effect.scoped))

    it.live("prefetching consumers take every item exactly once, in order per consumer", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        const consumers = [
          yield* Process.spawn(Q.drainPrefetching, { args: queue }),
          yield* Process.spawn(Q.drainPrefetching, { args: queue })
        ]
        for (const i of range(2000)) yield* ProcessQueue.put(queue, i)
        yield* ProcessQueue.end(queue)
        const results = yield* Effect.forEach(consumers, Process.result)
        for (const taken of results) assert.deepStrictEqual(taken, sorted(taken), "FIFO within a consumer")
        assert.deepStrictEqual(sorted(results.flat()), range(2000))
      }).pipe(Effect.scoped))

    it.live("by default, a consumer that takes its time over each item leaves the rest to others; a tight one batches", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        // All there before either asks: a fixed batch of 256 would go to whoever asks first.
        for (const i of range(300)) yield* ProcessQueue.put(queue, i)
        yield* ProcessQueue.end(queue)
        // The slow one starts once the fast one runs (a busy machine may start it much later).
        const go = yield* ProcessEvent.make
        const slow = yield* Process.spawn(Q.slowDrain, { args: { queue, ms: 200, go } })
        const fast = yield* Process.spawn(Q.drain, { args: queue })
        yield* Process.ready(fast)
        yield* ProcessEvent.set(go)
        const [slowTook, fastTook] = [yield* Process.result(slow), yield* Process.result(fast)]
        assert.isAtMost(slowTook.length, 5, `the slow consumer took ${slowTook.length} items`)
        assert.deepStrictEqual(sorted([...slowTook, ...fastTook]), range(300), "every item exactly once")
      }).pipe(Effect.scoped))

    it.live("items a SIGKILLed consumer prefetched but never took go back to the queue", () =>
      Effect.gen(function*() {
        const queue = yield* filledQueue(10)
        const marker = yield* tempPath("took")
        const frozen = yield* spawnFrozen(Q.prefetchThenStop, { queue, marker, busy: true })
        yield* untilFile(marker)
        assert.strictEqual(Fs.readFileSync(marker, "utf8"), "0", "it took the first item")
        assert.strictEqual(yield* ProcessQueue.size(queue), 2, "and holds seven more, unacknowledged")
        yield* Process.kill(frozen)
        yield* Process.join(frozen)
        yield* ProcessQueue.end(queue)
        // Back at the front, in their order: a consumer then takes 1 … 9 as if nobody had fetched them.
        assert.deepStrictEqual(yield* Process.run(Q.drain, { args: queue }), range(10).slice(1))
      }).pipe(Effect.scoped))

    it.live("items a live consumer fetched but stopped taking go back to the queue for others", () =>
      Effect.gen(function*() {
        const queue = yield* filledQueue(10)
        const marker = yield* tempPath("took")
        const idle = yield* spawnFrozen(Q.prefetchThenStop, { queue, marker, busy: false })
        yield* untilFile(marker)
        assert.strictEqual(Fs.readFileSync(marker, "utf8"), "0")
        yield* ProcessQueue.end(queue)
        // Without the give-back, this drain would wait forever for the 7 items the idle one holds.
        assert.deepStrictEqual(yield* Process.run(Q.drain, { args: queue }), range(10).slice(1), "all, in order")
        assert.isTrue(yield* Process.isAlive(idle), "the idle consumer is still there")
        yield* Process.kill(idle)
      }).pipe(Effect.scoped))

    it.live("a consumer SIGKILLed after taking many items: what it took is gone, what it only fetched comes back", () =>
      Effect.gen(function*() {
        const queue = yield* filledQueue(3000)
        const marker = yield* tempPath("took")
        const frozen = yield* spawnFrozen(Q.takeThenFreeze, { queue, count: 1000, marker })
        yield* untilFile(marker)
        const taken = JSON.parse(Fs.readFileSync(marker, "utf8")) as Array<number>
        assert.deepStrictEqual(taken, range(1000), "it took the first 1000, in order")
        assert.strictEqual(yield* ProcessQueue.size(queue), 3000 - 1024, "and holds 24 more, fetched but not taken")
        yield* Process.kill(frozen)
        yield* Process.join(frozen)
        yield* ProcessQueue.end(queue)
        assert.deepStrictEqual(yield* Process.run(Q.drain, { args: queue }), range(3000).slice(1000), "the rest, in order")
      }).pipe(Effect.scoped))

    it.live("a child gets an acknowledgements file only once it is handed items, and none is left open after it", () =>
      Effect.gen(function*() {
        // The parent's open files that are acknowledgements files (unlinked, so seen only here).
        const openAckFiles = () =>
          Fs.readdirSync("/proc/self/fd").filter((fd) => {
            try {
              return Fs.readlinkSync(`/proc/self/fd/${fd}`).includes(`effect-multiprocessing-acks-${process.pid}-`)
            } catch {
              return false
            }
          }).length
        const before = openAckFiles()
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        const waiting = yield* Process.spawn(Q.lateGet, { args: { queue, ms: 0 } })
        yield* Process.ready(waiting)
        yield* until(() => serving(waiting) === 1)
        assert.strictEqual(openAckFiles(), before, "a child that uses a queue but was handed nothing has none")
        yield* ProcessQueue.put(queue, 11)
        assert.strictEqual(yield* Process.result(waiting), 11)
        for (const i of range(100)) yield* ProcessQueue.put(queue, i)
        const marker = yield* tempPath("took")
        const frozen = yield* spawnFrozen(Q.takeThenFreeze, { queue, count: 10, marker })
        yield* untilFile(marker)
        assert.strictEqual(openAckFiles(), before + 1, "the child handed items has one")
        yield* Process.kill(frozen)
        yield* Process.join(frozen)
        yield* until(() => openAckFiles() === before)
        assert.strictEqual(openAckFiles(), before, "closed once the child is gone")
      }).pipe(Effect.scoped))

    it.live("acknowledgements files switched every few entries: still exactly once, under SIGKILL too, and none left behind", () =>
      Effect.gen(function*() {
        const leftovers = () => Fs.readdirSync(Os.tmpdir()).filter((f) => f.startsWith(`effect-multiprocessing-acks-${process.pid}-`))
        const before = leftovers().length
        const queue = yield* filledQueue(3000)
        const marker = yield* tempPath("took")
        const frozen = yield* spawnFrozen(Q.takeThenFreeze, { queue, count: 1000, marker }).pipe(
          Effect.provideService(AckFile.Limit, 64)
        )
        yield* untilFile(marker)
        yield* Process.kill(frozen)
        yield* Process.join(frozen)
        assert.deepStrictEqual(JSON.parse(Fs.readFileSync(marker, "utf8")), range(1000))
        const consumers = yield* Effect.forEach([1, 2], () => Process.spawn(Q.drain, { args: queue })).pipe(
          Effect.provideService(AckFile.Limit, 64)
        )
        yield* ProcessQueue.end(queue)
        const rest = (yield* Effect.forEach(consumers, Process.result)).flat()
        assert.deepStrictEqual(sorted(rest), range(3000).slice(1000), "the 2000 it did not take, once each")
        assert.strictEqual(leftovers().length, before, "no acknowledgements file left in the temporary directory")
      }).pipe(Effect.scoped))

    it.live("a child's batch of puts serves the parent's waiting gets first, in order, and queues the rest in order", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number })
        const waiting = yield* Effect.forEach(range(3), () => Effect.forkChild(ProcessQueue.get(queue)))
        yield* Effect.sleep("50 millis")
        yield* Process.run(Q.produce, { args: { queue, items: range(10), timeout: null } })
        assert.deepStrictEqual(yield* Effect.forEach(waiting, Fiber.join), [0, 1, 2], "the waiting gets, first come first served")
        assert.deepStrictEqual(yield* Effect.forEach(range(7), () => ProcessQueue.get(queue)), range(10).slice(3))
        assert.strictEqual(yield* ProcessQueue.size(queue), 0)
      }).pipe(Effect.scoped))

    it.live("JoinableQueue across processes: join returns after the workers' taskDones; one too many fails", () =>
      Effect.gen(function*() {
        const queue = yield* JoinableQueue.make({ item: Schema.Number })
        const workers = [yield* Process.spawn(Q.worker, { args: queue }), yield* Process.spawn(Q.worker, { args: queue })]
        for (const i of range(100)) yield* ProcessQueue.put(queue, i)
        yield* JoinableQueue.join(queue)
        yield* ProcessQueue.end(queue)
        assert.deepStrictEqual(sorted((yield* Effect.forEach(workers, Process.result)).flat()), range(100))

        yield* ProcessQueue.put(queue, 1).pipe(Effect.flip, Effect.map((e) => assert.instanceOf(e, ProcessQueueError.QueueClosedError)))
        const fresh = yield* JoinableQueue.make({ item: Schema.Number })
        yield* ProcessQueue.put(fresh, 1)
        const error = yield* Effect.flip(Process.run(Q.tooManyTaskDone, { args: fresh }))
        assert.instanceOf(error, ProcessQueueError.TaskDoneError)
      }).pipe(Effect.scoped))

    it.live("a child's taskDone (or held item's end) never overtakes its put before it: join waits for the item put", () =>
      Effect.gen(function*() {
        for (const target of [Q.countdown, H.countdownHeld]) {
          const queue = yield* JoinableQueue.make({ item: Schema.Number })
          const worker = yield* Process.spawn(target, { args: queue })
          yield* ProcessQueue.put(queue, 20)
          yield* JoinableQueue.join(queue)
          // Had a taskDone overtaken the put of the next item, join would have returned early
          // and the put would come after the end (refused): the countdown would stop short.
          assert.strictEqual(yield* ProcessQueue.size(queue), 0, target.name)
          yield* ProcessQueue.end(queue)
          assert.deepStrictEqual(yield* Process.result(worker), range(21).reverse(), target.name)
        }
      }).pipe(Effect.scoped))

    it.live("a child's get that arrives while its scope is closing (joining it) is still served", () =>
      Effect.gen(function*() {
        const p = yield* Effect.gen(function*() {
          const queue = yield* ProcessQueue.make({ item: Schema.Number })
          const p = yield* Process.spawn(Q.lateGet, { args: { queue, ms: 500 } })
          yield* ProcessQueue.put(queue, 11)
          return p
        }).pipe(Effect.scoped)
        assert.strictEqual(yield* Process.result(p), 11)
      }))

    it.live("closing the owner's scope fails every waiter in every child with QueueClosedError", () =>
      Effect.gen(function*() {
        const owner = yield* Scope.make()
        const queue = yield* ProcessQueue.make({ item: Schema.Number }).pipe(Scope.provide(owner))
        const waiters = [yield* Process.spawn(Q.getOrFail, { args: queue }), yield* Process.spawn(Q.getOrFail, { args: queue })]
        yield* until(() => serving(...waiters) >= 2)
        yield* Scope.close(owner, Exit.void)
        for (const p of waiters) {
          assert.instanceOf(yield* Effect.flip(Process.result(p)), ProcessQueueError.QueueClosedError)
        }
        assert.instanceOf(yield* Effect.flip(ProcessQueue.get(queue)), ProcessQueueError.QueueClosedError)
        const late = yield* Effect.flip(Process.run(Q.getOrFail, { args: queue }))
        assert.instanceOf(late, ProcessQueueError.QueueClosedError, "a child that gets a closed queue is told so")
      }).pipe(Effect.scoped))
  })

  describe("timeouts are atomic: the owner decides, and a timed-out operation did nothing", () => {
    const tenMegabytes = 10 * 1024 * 1024
    /** Frees a slot (or puts an item) a random time around the timeout after the child's call reached the owner. */
    const aroundTimeout = (timeout: number): Pace => (child, stopped) =>
      Effect.andThen(until(() => stopped() || serving(child) > 0), randomSleep(2 * timeout))

    it.live("a child's 10 MB bounded put that timed out put nothing; one that went in is there once", () =>
      Effect.gen(function*() {
        const wentIn = yield* putsAgainstTimeouts({ count: 6, size: tenMegabytes, timeout: 100, relay: false }, aroundTimeout(100))
        yield* Effect.log(`10 MB puts: ${wentIn} of 6 went in`)
      }), 120_000)

    it.live("many small puts racing their timeouts, from a child and from a grandchild through its parent", () =>
      Effect.gen(function*() {
        for (const relay of [false, true]) {
          const wentIn = yield* putsAgainstTimeouts({ count: 300, size: 8, timeout: 2, relay }, () => randomSleep(4))
          yield* Effect.log(`small puts (relay: ${relay}): ${wentIn} of 300 went in`)
        }
      }), 120_000)

    it.live("a child's gets that timed out took nothing: one by one, prefetching, through a relay, 10 MB items", () =>
      Effect.gen(function*() {
        const small = { count: 300, timeout: 2 }
        const runs = [
          getsAgainstTimeouts((queue) => Process.spawn(T.getsWithin, { args: { queue, ...small, relay: false } }), 8, () => randomSleep(8)),
          getsAgainstTimeouts((queue) => Process.spawn(T.getsWithinPrefetching, { args: { queue, ...small } }), 8, () => randomSleep(8)),
          getsAgainstTimeouts((queue) => Process.spawn(T.getsWithin, { args: { queue, ...small, relay: true } }), 8, () => randomSleep(8)),
          getsAgainstTimeouts(
            (queue) => Process.spawn(T.getsWithin, { args: { queue, count: 6, timeout: 100, relay: false } }),
            tenMegabytes,
            aroundTimeout(100)
          )
        ]
        for (const run of runs) yield* Effect.log(`gets: ${yield* run} got`)
      }), 120_000)

    it.live("in the owner's own process: puts and gets racing their timeouts do all or nothing", () =>
      Effect.gen(function*() {
        const queue = yield* ProcessQueue.make({ item: Schema.Number, capacity: 1 })
        const wentIn: Array<number> = []
        const got: Array<number> = []
        const producer = yield* Effect.forkChild(Effect.forEach(range(500), (i) =>
          ProcessQueue.put(queue, i, { timeout: 1 }).pipe(
            Effect.andThen(Effect.sync(() => wentIn.push(i))),
            Effect.catchTag("QueueFullError", () => Effect.void)
          ), { discard: true }))
        let stopped = false
        const consumer = yield* Effect.forkChild(Effect.whileLoop({
          while: () => !stopped,
          body: () =>
            Effect.andThen(randomSleep(2), ProcessQueue.get(queue, { timeout: 1 })).pipe(
              Effect.map((i) => void got.push(i)),
              Effect.catchTag("QueueEmptyError", () => Effect.void)
            ),
          step: () => {}
        }))
        yield* Fiber.join(producer)
        stopped = true
        yield* Fiber.join(consumer)
        got.push(...(yield* takeAll(queue)))
        assert.deepStrictEqual(got, wentIn)
      }).pipe(Effect.scoped))
  })
})
