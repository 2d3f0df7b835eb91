/**
 * Seed example 5: exit codes. 0 for a normal end (whatever the target returns),
 * `n` for `Process.exit(n)`, 1 for an uncaught error (with its stack on stderr), and
 * -15 for a process ended by `terminate`.
 *
 *   node examples/05-exitcode.ts
 */
import { Console, Effect, Schema } from "effect"
import { Process, Target } from "../src/index.ts"

const exitError = Target.make("exit_error", {
  module: import.meta.url,
  run: () => Process.exit(1)
})

const exitOk = Target.make("exit_ok", {
  module: import.meta.url,
  run: () => Effect.void
})

const returnValue = Target.make("return_value", {
  module: import.meta.url,
  success: Schema.Number,
  run: () => Effect.succeed(1)
})

const raises = Target.make("raises", {
  module: import.meta.url,
  run: () =>
    Effect.sync(() => {
      throw new Error("There was an error!")
    })
})

const terminated = Target.make("terminated", {
  module: import.meta.url,
  run: () => Effect.sleep("3 seconds")
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const jobs: Array<Process.Process<unknown, unknown>> = []
    for (const target of [exitError, exitOk, returnValue, raises, terminated]) {
      yield* Console.log(`Starting process for ${target.name}`)
      jobs.push(yield* Process.spawn(target as Target.Target<void, unknown, unknown>, { name: target.name }))
    }
    yield* Process.terminate(jobs[jobs.length - 1]!)
    for (const job of jobs) {
      const code = yield* Process.join(job)
      yield* Console.log(`${job.name.padStart(15)}.exitcode = ${code}`)
    }
  }))
}
