/**
 * Seed example 6: Python's `log_to_stderr()` with the level set to INFO. The child
 * prints to stdout; the library's lifecycle lines go to stderr as
 * `[INFO/<process name>] <message>`, the child's forwarded to the parent's logger, then
 * the main process's own `[INFO/MainProcess] process shutting down`.
 *
 *   node examples/06-logging.ts
 */
import { Console, Effect } from "effect"
import { Process, ProcessLogger, Target } from "../src/index.ts"

const worker = Target.make("worker", {
  module: import.meta.url,
  run: () => Console.log("Doing some work")
})

if (import.meta.main) {
  Process.runMain(
    Effect.gen(function*() {
      const p = yield* Process.spawn(worker)
      yield* Process.join(p)
    }),
    // Given to runMain, not provided inside the program, so that the main process's
    // own "process shutting down" line is logged with it too.
    { layer: ProcessLogger.layerStderr({ level: "Info" }) }
  )
}
