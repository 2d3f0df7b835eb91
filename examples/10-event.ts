/**
 * Seed example 10: an event shared with two children. `block` waits for it without a
 * timeout; `nonblock` waits at most 2 s and gives up (the wait returns the flag, `false`),
 * before the main program sets the event after 3 s and wakes `block`.
 *
 *   node examples/10-event.ts
 */
import { Console, Effect, Schema } from "effect"
import { Process, ProcessEvent, Target } from "../src/index.ts"

/** Waits for the event to be set before doing anything. */
const waitForEvent = Target.make("wait_for_event", {
  module: import.meta.url,
  args: ProcessEvent.schema,
  run: (e) =>
    Effect.gen(function*() {
      yield* Console.log("wait_for_event: starting")
      yield* ProcessEvent.wait(e)
      yield* Console.log(`wait_for_event: e.is_set()-> ${yield* ProcessEvent.isSet(e)}`)
    }).pipe(Effect.orDie)
})

/** Waits `t` seconds and then times out. */
const waitForEventTimeout = Target.make("wait_for_event_timeout", {
  module: import.meta.url,
  args: Schema.Struct({ e: ProcessEvent.schema, t: Schema.Number }),
  run: ({ e, t }) =>
    Effect.gen(function*() {
      yield* Console.log("wait_for_event_timeout: starting")
      yield* ProcessEvent.wait(e, { timeout: `${t} seconds` })
      yield* Console.log(`wait_for_event_timeout: e.is_set()-> ${yield* ProcessEvent.isSet(e)}`)
    }).pipe(Effect.orDie)
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const e = yield* ProcessEvent.make
    const w1 = yield* Process.spawn(waitForEvent, { name: "block", args: e })
    const w2 = yield* Process.spawn(waitForEventTimeout, { name: "nonblock", args: { e, t: 2 } })
    // Count the 3 s from when both run their target: starting a child takes a while on a busy machine.
    yield* Process.ready(w1)
    yield* Process.ready(w2)

    yield* Console.log("main: waiting before calling Event.set()")
    yield* Effect.sleep("3 seconds")
    yield* ProcessEvent.set(e)
    yield* Console.log("main: event is set")
    // No join, as in Python: runMain waits for both at the end, and the event stays
    // usable until they are done.
  }))
}
