/**
 * Seed example 3b: a daemon that is never joined. When the main program ends, daemon
 * children are terminated and the other children waited for, so the daemon's
 * `Exiting` line never appears while the non-daemon's does.
 *
 *   node examples/03b-daemon-no-join.ts
 */
import { Console, Effect } from "effect"
import { Process, Target } from "../src/index.ts"

const daemon = Target.make("daemon", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      const { name, pid } = yield* Process.current
      yield* Console.log("Starting:", name, pid)
      yield* Effect.sleep("2 seconds")
      yield* Console.log("Exiting :", name, pid)
    })
})

const nonDaemon = Target.make("non_daemon", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      const { name, pid } = yield* Process.current
      yield* Console.log("Starting:", name, pid)
      yield* Console.log("Exiting :", name, pid)
    })
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    yield* Process.spawn(daemon, { name: "daemon", daemon: true })
    yield* Effect.sleep("1 second")
    yield* Process.spawn(nonDaemon, { name: "non-daemon", daemon: false })
  }))
}
