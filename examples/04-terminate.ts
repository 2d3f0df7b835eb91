/**
 * Seed example 4: `terminate`, then `join`. The handle prints like Python's repr; its
 * state is only reliable after `join`, which reaps the child and records the exit code
 * (`-SIGTERM`).
 *
 *   node examples/04-terminate.ts
 */
import { Console, Effect } from "effect"
import { Process, Target } from "../src/index.ts"

const slowWorker = Target.make("slow_worker", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      yield* Console.log("Starting worker")
      yield* Effect.sleep("100 millis")
      yield* Console.log("Finished worker")
    })
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const p = yield* Process.make(slowWorker)
    yield* Console.log("BEFORE:", String(p), yield* Process.isAlive(p))

    yield* Process.start(p)
    yield* Console.log("DURING:", String(p), yield* Process.isAlive(p))

    yield* Process.terminate(p)
    yield* Console.log("TERMINATED:", String(p), yield* Process.isAlive(p))

    yield* Process.join(p)
    yield* Console.log("JOINED:", String(p), yield* Process.isAlive(p))
  }))
}
