/**
 * Seed example 3: a daemon process, `join` with a timeout, and `isAlive`. The join
 * gives up after one second while the daemon still sleeps, so `d.is_alive()` is true;
 * when the main program ends the daemon is terminated, so `Exiting : daemon` is never
 * printed.
 *
 *   node examples/03-daemon-join-timeout.ts
 */
import { Console, Effect } from "effect"
import { Process, Target } from "../src/index.ts"

const daemon = Target.make("daemon", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      const { name } = yield* Process.current
      yield* Console.log("Starting:", name)
      yield* Effect.sleep("2 seconds")
      yield* Console.log("Exiting :", name)
    })
})

const nonDaemon = Target.make("non_daemon", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      const { name } = yield* Process.current
      yield* Console.log("Starting:", name)
      yield* Console.log("Exiting :", name)
    })
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const d = yield* Process.spawn(daemon, { name: "daemon", daemon: true })
    const n = yield* Process.spawn(nonDaemon, { name: "non-daemon", daemon: false })

    yield* Process.join(d, { timeout: "1 second" })
    yield* Console.log("d.is_alive()", yield* Process.isAlive(d))
    yield* Process.join(n)
  }))
}
