import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import { Process, ProcessEvent } from "../src/index.ts"
import * as E from "./fixtures/events.ts"
import * as N from "./fixtures/newuser-events.ts"
import { until } from "./utils/files.ts"
import { serving } from "./utils/serving.ts"

describe("ProcessEvent", () => {
  it.live("in its own process: set, clear, isSet, and wait with a timeout returns the flag", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      assert.isFalse(yield* ProcessEvent.isSet(event))
      assert.isFalse(yield* ProcessEvent.wait(event, { timeout: "50 millis" }))
      yield* ProcessEvent.set(event)
      assert.isTrue(yield* ProcessEvent.isSet(event))
      assert.isTrue(yield* ProcessEvent.wait(event))
      yield* ProcessEvent.clear(event)
      assert.isFalse(yield* ProcessEvent.isSet(event))
    }).pipe(Effect.scoped))

  it.live("a child's wait with a timeout returns false when nobody sets the event", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      assert.isFalse(yield* Process.run(E.wait, { args: { event, timeout: 300 } }))
    }).pipe(Effect.scoped))

  it.live("set in the parent wakes a waiting child", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      const p = yield* Process.spawn(E.wait, { args: { event, timeout: null } })
      yield* Process.ready(p)
      yield* ProcessEvent.set(event)
      assert.isTrue(yield* Process.result(p))
    }).pipe(Effect.scoped))

  it.live("set in a child wakes the parent; clear and isSet work from the child", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      yield* ProcessEvent.set(event)
      assert.deepStrictEqual(yield* Process.run(E.toggle, { args: event }), [false, true])
      yield* ProcessEvent.clear(event)
      yield* Process.run(E.set, { args: event })
      assert.isTrue(yield* ProcessEvent.wait(event, { timeout: "10 seconds" }))
    }).pipe(Effect.scoped))

  it.live("a child passes the event on to its own child", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      yield* Process.run(E.relaySet, { args: event })
      assert.isTrue(yield* ProcessEvent.isSet(event))
    }).pipe(Effect.scoped))

  it.live("interrupting a child's wait cancels the wait in the parent", () =>
    Effect.gen(function*() {
      const gaveUp = yield* Deferred.make<void>()
      const logger = Logger.make((options) => {
        if (String(options.message).includes("gave up")) Deferred.doneUnsafe(gaveUp, Exit.void)
      })
      const event = yield* ProcessEvent.make
      const p = yield* Process.spawn(E.giveUp, { args: { event, ms: 300 }, daemon: true }).pipe(Effect.provide(Logger.layer([logger])))
      yield* Deferred.await(gaveUp)
      // The child lingers: only its Cancel can have ended the parent's side of the wait.
      yield* until(() => serving(p) === 0)
      assert.strictEqual(serving(p), 0, "nothing is left waiting in the parent")
      assert.isTrue(yield* Process.isAlive(p))
      yield* Process.kill(p)
    }).pipe(Effect.scoped))

  it.live("a child's call that arrives while its scope is closing (joining it) is still served", () =>
    Effect.gen(function*() {
      const p = yield* Effect.gen(function*() {
        const event = yield* ProcessEvent.make
        yield* ProcessEvent.set(event)
        return yield* Process.spawn(E.lateIsSet, { args: { event, ms: 500 } })
      }).pipe(Effect.scoped)
      assert.isTrue(yield* Process.result(p))
    }))

  it.live("closing the owner's scope fails every waiter in every child with EventClosedError", () =>
    Effect.gen(function*() {
      const owner = yield* Scope.make()
      const event = yield* ProcessEvent.make.pipe(Scope.provide(owner))
      const waiters = [
        yield* Process.spawn(E.wait, { args: { event, timeout: null } }),
        yield* Process.spawn(E.wait, { args: { event, timeout: 60_000 } })
      ]
      for (const p of waiters) yield* Process.ready(p)
      // Give the calls time to reach the owner; closing earlier is fine too (they fail at once).
      yield* Effect.sleep("200 millis")
      yield* Scope.close(owner, Exit.void)
      for (const p of waiters) {
        const error = yield* Effect.flip(Process.result(p))
        assert.instanceOf(error, ProcessEvent.EventClosedError)
      }
      const closed = yield* Effect.flip(ProcessEvent.wait(event))
      assert.instanceOf(closed, ProcessEvent.EventClosedError)
      const late = yield* Effect.flip(Process.run(E.set, { args: event }))
      assert.instanceOf(late, ProcessEvent.EventClosedError, "a child that gets a closed event is told so")
    }).pipe(Effect.scoped))
  it.effect("a wait with a timeout woken by set returns true though clear came before it ran (threading.Event)", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      const waiters = yield* Effect.forEach(
        Array.from({ length: 100 }),
        () => Effect.forkChild(ProcessEvent.wait(event, { timeout: "1 second" }), { startImmediately: true })
      )
      const untimed = yield* Effect.forkChild(ProcessEvent.wait(event), { startImmediately: true })
      yield* ProcessEvent.set(event)
      yield* ProcessEvent.clear(event)
      assert.isFalse(yield* ProcessEvent.isSet(event))
      const flags = yield* Fiber.joinAll(waiters)
      assert.strictEqual(flags.filter((flag) => flag).length, 100, "every waiter saw the set")
      assert.isTrue(yield* Fiber.join(untimed))
      // A waiter that starts after the clear waits for the next set, and times out without one.
      const late = yield* Effect.forkChild(ProcessEvent.wait(event, { timeout: "1 second" }), { startImmediately: true })
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(late))
    }).pipe(Effect.scoped))

  it.effect("a wait that times out returns false, and closing the scope fails the waiters left", () =>
    Effect.gen(function*() {
      const owner = yield* Scope.make()
      const event = yield* ProcessEvent.make.pipe(Scope.provide(owner))
      const timed = yield* Effect.forkChild(ProcessEvent.wait(event, { timeout: "1 second" }), { startImmediately: true })
      const untimed = yield* Effect.forkChild(ProcessEvent.wait(event), { startImmediately: true })
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(timed.pollUnsafe(), "still waiting before its time is up")
      yield* TestClock.adjust("1 millis")
      assert.isFalse(yield* Fiber.join(timed))
      yield* Scope.close(owner, Exit.void)
      assert.instanceOf(yield* Effect.flip(Fiber.join(untimed)), ProcessEvent.EventClosedError)
    }))

  it.effect("String(event) says whether the owner's event is set", () =>
    Effect.gen(function*() {
      const owner = yield* Scope.make()
      const event = yield* ProcessEvent.make.pipe(Scope.provide(owner))
      assert.strictEqual(String(event), "<ProcessEvent owned unset>")
      yield* ProcessEvent.set(event)
      assert.strictEqual(String(event), "<ProcessEvent owned set>")
      yield* ProcessEvent.clear(event)
      assert.strictEqual(String(event), "<ProcessEvent owned unset>")
      yield* Scope.close(owner, Exit.void)
      assert.strictEqual(String(event), "<ProcessEvent owned closed>")
    }))

  it.live("String(event) in a child says what its proxy last saw of the flag", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      yield* ProcessEvent.set(event)
      assert.deepStrictEqual(yield* Process.run(N.show, { args: event }), [
        "<ProcessEvent proxy not read yet>",
        "<ProcessEvent proxy set when last seen>"
      ])
    }).pipe(Effect.scoped))

  it.live("waits with a timeout in a child are all woken by a set that a clear follows at once", () =>
    Effect.gen(function*() {
      const event = yield* ProcessEvent.make
      const waiters = 100
      const p = yield* Process.spawn(N.waitMany, { args: { event, waiters, timeout: 60_000 } })
      // Every wait has reached the owner and waits there: the set below finds them all.
      yield* until(() => serving(p) === waiters)
      assert.strictEqual(serving(p), waiters)
      yield* ProcessEvent.set(event)
      yield* ProcessEvent.clear(event)
      assert.deepStrictEqual(yield* Process.result(p), { woken: waiters, shown: "<ProcessEvent proxy set when last seen>" })
    }).pipe(Effect.scoped))
})
