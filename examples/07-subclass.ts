/**
 * Seed example 7: a kind of process, in place of a subclass of Python's `Process` that
 * overrides `run()`. A target made with `kind: true` gives its processes default names
 * `<Kind>-N`, so the five workers are `Worker-1` … `Worker-5`.
 *
 *   node examples/07-subclass.ts
 */
import { Console, Effect } from "effect"
import { Process, Target } from "../src/index.ts"

const Worker = Target.make("Worker", {
  module: import.meta.url,
  kind: true,
  run: () =>
    Effect.gen(function*() {
      const { name } = yield* Process.current
      yield* Console.log(`In ${name}`)
    })
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const jobs: Array<Process.Process<void, never>> = []
    for (let i = 0; i < 5; i++) {
      jobs.push(yield* Process.spawn(Worker))
    }
    for (const job of jobs) {
      yield* Process.join(job)
    }
  }))
}
