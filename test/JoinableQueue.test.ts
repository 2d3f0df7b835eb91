import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { JoinableQueue, Process, ProcessQueue, ProcessQueueError } from "../src/index.ts"
import * as H from "./fixtures/queue-held.ts"
import { tempPath, until, untilFile } from "./utils/files.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** A joinable queue of numbers holding `items`. */
const tasksOf = (items: ReadonlyArray<number>, capacity?: number) =>
  Effect.gen(function*() {
    const queue = yield* JoinableQueue.make({ item: Schema.Number, capacity })
    for (const item of items) yield* ProcessQueue.put(queue, item)
    return queue
  })

/** Takes what is there now, in order. */
const takeAll = (queue: ProcessQueue.ProcessQueue<number>) =>
  Effect.gen(function*() {
    const items: Array<number> = []
    while ((yield* ProcessQueue.size(queue)) > 0) items.push(yield* ProcessQueue.get(queue))
    return items
  })

const isWaiting = <A, E>(fiber: Fiber.Fiber<A, E>) => fiber.pollUnsafe() === undefined

describe("JoinableQueue.take (held items)", () => {
  describe("in its own process", () => {
    it.live("a held item is done when its scope ends well: join returns, no taskDone needed", () =>
      Effect.gen(function*() {
        const queue = yield* tasksOf([1, 2])
        const joined = yield* Effect.forkChild(JoinableQueue.join(queue), { startImmediately: true })
        assert.strictEqual(yield* JoinableQueue.process(queue, (n) => Effect.succeed(n * 10)), 10)
        assert.isTrue(isWaiting(joined), "one task left")
        yield* Effect.scoped(JoinableQueue.take(queue))
        yield* Fiber.join(joined)
        assert.strictEqual(yield* ProcessQueue.size(queue), 0)
        // Nothing left to mark done: a taskDone now is one too many.
        assert.instanceOf(yield* Effect.flip(JoinableQueue.taskDone(queue)), ProcessQueueError.TaskDoneError)
      }).pipe(Effect.scoped))

    it.live("a held item whose consumer is interrupted goes back to the front, in order; join stays exact", () =>
      Effect.gen(function*() {
        const queue = yield* tasksOf([1, 2, 3])
        const holding = yield* Deferred.make<number>()
        const consumer = yield* Effect.forkChild(
          JoinableQueue.process(queue, (n) => Effect.andThen(Deferred.succeed(holding, n), Effect.never))
        )
        assert.strictEqual(yield* Deferred.await(holding), 1)
        assert.strictEqual(yield* ProcessQueue.size(queue), 2, "the held item is out of the queue")
        const joined = yield* Effect.forkChild(JoinableQueue.join(queue), { startImmediately: true })
        yield* Fiber.interrupt(consumer)
        assert.strictEqual(yield* ProcessQueue.size(queue), 3, "it came back")
        const seen: Array<number> = []
        for (let i = 0; i < 3; i++) yield* JoinableQueue.process(queue, (n) => Effect.sync(() => seen.push(n)))
        assert.deepStrictEqual(seen, [1, 2, 3], "at the front, in order")
        yield* Fiber.join(joined)
      }).pipe(Effect.scoped))

    it.live("a held item whose work fails goes back; a failed take (timeout, interruption) holds nothing", () =>
      Effect.gen(function*() {
        const queue = yield* tasksOf([])
        const error = yield* Effect.flip(JoinableQueue.process(queue, Effect.succeed, { timeout: "20 millis" }))
        assert.instanceOf(error, ProcessQueueError.QueueEmptyError)
        const waiting = yield* Effect.forkChild(Effect.scoped(JoinableQueue.take(queue)), { startImmediately: true })
        yield* Fiber.interrupt(waiting)
        yield* ProcessQueue.put(queue, 7)
        assert.strictEqual(yield* ProcessQueue.size(queue), 1, "neither the timed-out nor the interrupted take holds it")
        assert.strictEqual(yield* Effect.flip(JoinableQueue.process(queue, (n) => Effect.fail(n))), 7)
        assert.strictEqual(yield* ProcessQueue.size(queue), 1, "the failed work gave it back")
        yield* JoinableQueue.process(queue, () => Effect.void)
        yield* JoinableQueue.join(queue)
      }).pipe(Effect.scoped))

    it.live("a held item keeps its slot in a bounded queue until it is done", () =>
      Effect.gen(function*() {
        const queue = yield* tasksOf([1, 2], 2)
        yield* Effect.scoped(Effect.gen(function*() {
          assert.strictEqual(yield* JoinableQueue.take(queue), 1)
          assert.isTrue(yield* ProcessQueue.isFull(queue), "the held item still counts")
          assert.instanceOf(yield* Effect.flip(ProcessQueue.putNowait(queue, 3)), ProcessQueueError.QueueFullError)
        }))
        yield* ProcessQueue.putNowait(queue, 3)
        assert.deepStrictEqual(yield* takeAll(queue), [2, 3])
      }).pipe(Effect.scoped))

    it.live("after end, takers see Done only once no item is held: one that comes back is still taken", () =>
      Effect.gen(function*() {
        const queue = yield* tasksOf([1])
        const holding = yield* Deferred.make<void>()
        const failing = yield* Effect.forkChild(
          JoinableQueue.process(queue, () => Effect.andThen(Deferred.succeed(holding, undefined), Effect.fail("boom")).pipe(Effect.delay("50 millis"))),
          { startImmediately: true }
        )
        yield* ProcessQueue.end(queue)
        const next = yield* Effect.forkChild(JoinableQueue.process(queue, Effect.succeed), { startImmediately: true })
        assert.isTrue(isWaiting(next), "the queue is empty, but an item is held")
        yield* Deferred.await(holding)
        assert.strictEqual(yield* Effect.flip(Fiber.join(failing)), "boom")
        assert.strictEqual(yield* Fiber.join(next), 1)
        yield* JoinableQueue.join(queue)
        assert.isTrue((yield* Effect.flip(JoinableQueue.process(queue, Effect.succeed)))._tag === "Done")
      }).pipe(Effect.scoped))
  })

  describe("across processes", () => {
    it.live("interruption storms in child consumers: every item is processed, join returns, nothing is left", () =>
      Effect.gen(function*() {
        const n = 10_000
        const queue = yield* tasksOf(range(n))
        const results = yield* ProcessQueue.make({ item: Schema.Number })
        const consumers = yield* Effect.forEach(range(2), () =>
          Process.spawn(H.interruptedConsumer, { args: { queue, results, hangEvery: 200 } }))
        yield* ProcessQueue.end(queue)
        yield* JoinableQueue.join(queue)
        // Join returned: every item's work ended well, and its record came before its end. An
        // interrupted attempt records nothing: its item is recorded only if it came back.
        const recorded = yield* takeAll(results)
        assert.deepStrictEqual([...new Set(recorded)].sort((a, b) => a - b), range(n), "every item was processed")
        const interrupted = (yield* Effect.forEach(consumers, Process.result)).reduce((a, b) => a + b, 0)
        assert.isAtLeast(interrupted, 25, "interrupted while holding at least 25 times")
        assert.strictEqual(yield* ProcessQueue.size(queue), 0)
        assert.instanceOf(yield* Effect.flip(JoinableQueue.taskDone(queue)), ProcessQueueError.TaskDoneError, "no task left")
      }).pipe(Effect.scoped), 120_000)

    it.live("an item held by a consumer that is SIGKILLed goes back to the front; join stays exact", () =>
      Effect.gen(function*() {
        const queue = yield* tasksOf([1, 2, 3])
        const marker = yield* tempPath("holding")
        const frozen = yield* Process.spawn(H.holdThenFreeze, { args: { queue, marker }, daemon: true })
        yield* untilFile(marker)
        assert.strictEqual(yield* ProcessQueue.size(queue), 2, "it holds item 1")
        const joined = yield* Effect.forkChild(JoinableQueue.join(queue), { startImmediately: true })
        yield* Process.kill(frozen)
        yield* Process.join(frozen)
        yield* until(() => Effect.runSync(ProcessQueue.size(queue)) === 3)
        assert.isTrue(isWaiting(joined), "its task is still unfinished")
        const seen: Array<number> = []
        for (let i = 0; i < 3; i++) yield* JoinableQueue.process(queue, (n) => Effect.sync(() => seen.push(n)))
        assert.deepStrictEqual(seen, [1, 2, 3], "back at the front")
        yield* Fiber.join(joined)
      }).pipe(Effect.scoped))

    it.live("a child's held item whose work fails comes back to it; a grandchild's, through its parent's relay", () =>
      Effect.gen(function*() {
        for (const target of [H.failThenDone, H.relayFailThenDone]) {
          const queue = yield* tasksOf([4, 5])
          assert.deepStrictEqual(yield* Process.run(target, { args: queue }), [4, 4], target.name)
          assert.strictEqual(yield* ProcessQueue.size(queue), 1)
          yield* JoinableQueue.process(queue, Effect.succeed)
          yield* JoinableQueue.join(queue)
        }
      }).pipe(Effect.scoped))
  })
})

