/**
 * A pool worker's loop, in this process: its pool is a fake `PoolLink` (the worker's side
 * of poolTransport.ts) that the tests send messages through.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { DecodeError } from "../src/ProcessError.ts"
import type * as PoolProtocol from "../src/internal/poolProtocol.ts"
import type { PoolHandlers, PoolLink } from "../src/internal/poolTransport.ts"
import { runWorker } from "../src/internal/poolWorker.ts"
import * as P from "./fixtures/pool.ts"
import { until } from "./utils/files.ts"

/** A pool that records what its worker sends, and sends what the test says. */
const fakePool = () => {
  const sent: Array<PoolProtocol.WorkerMessage> = []
  let handlers: PoolHandlers | undefined
  const link: PoolLink = {
    send: (message) => {
      sent.push(message)
    },
    listen: (given) => {
      handlers = given
    },
    flush: () => true,
    written: Effect.void
  }
  /** The answers so far, every chunk's, in order. */
  const answers = () => sent.flatMap((message) => message._tag === "Results" ? message.chunks : [])
  return { link, sent, answers, handlers: () => handlers! }
}

/** A worker on `link`, started in a fiber of the test. */
const startWorker = (link: PoolLink) =>
  Effect.forkChild(Effect.scoped(runWorker(link, { initializer: null })), { startImmediately: true })

const targets = [
  { ref: 1, module: P.sleepy.module, name: P.sleepy.name },
  { ref: 2, module: P.square.module, name: P.square.name }
]

describe("pool worker loop (fake pool)", () => {
  it.live("a message of its pool it cannot read ends the worker with a DecodeError, not a silent drop", () =>
    Effect.gen(function*() {
      const pool = fakePool()
      const worker = yield* startWorker(pool.link)
      assert.deepStrictEqual(pool.sent, [{ _tag: "Idle" }], "ready")
      pool.handlers().onUnreadable("Expected array, got \"garbled\"")
      const exit = yield* Fiber.await(worker)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause), "the worker died")
      const defect = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
      assert.instanceOf(defect, DecodeError)
      assert.include((defect as DecodeError).message, "from the pool: Expected array")
    }))

  it.live("chunks run one at a time, in order; cancelling the running one answers it `cancelled`, and the next runs", () =>
    Effect.gen(function*() {
      const pool = fakePool()
      const worker = yield* startWorker(pool.link)
      // Both targets loaded first: from then on, a chunk starts as soon as it comes.
      pool.handlers().onMessage({
        _tag: "Run",
        targets,
        chunks: [{ id: 1, target: 1, args: [0] }, { id: 2, target: 2, args: [2] }]
      })
      yield* until(() => pool.answers().length === 2)
      // The first sleeps a minute: the second waits behind it.
      pool.handlers().onMessage({
        _tag: "Run",
        targets: [],
        chunks: [{ id: 3, target: 1, args: [60_000] }, { id: 4, target: 2, args: [3] }]
      })
      yield* Effect.yieldNow
      assert.strictEqual(pool.answers().length, 2, "nothing answered while the first runs")
      pool.handlers().onMessage({ _tag: "Cancel", id: 3 })
      yield* until(() => pool.answers().length === 4)
      const [, , first, second] = pool.answers()
      assert.deepStrictEqual([first?.id, first?.cancelled], [3, true])
      assert.deepStrictEqual([second?.id, second?.values], [4, [9]])
      // Another burst: a new runner takes it.
      pool.handlers().onMessage({ _tag: "Run", targets: [], chunks: [{ id: 5, target: 2, args: [4] }] })
      yield* until(() => pool.answers().length === 5)
      assert.deepStrictEqual(pool.answers()[4]?.values, [16])
      yield* Fiber.interrupt(worker)
    }))
})
