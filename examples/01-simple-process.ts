/**
 * Seed example 1: start five processes with a target and an argument, and never join
 * them. `Process.runMain` waits for non-daemon children before the program exits, as
 * Python does at interpreter exit, so all five lines are printed (in any order).
 *
 *   node examples/01-simple-process.ts
 */
import { Console, Effect, Schema } from "effect"
import { Process, Target } from "../src/index.ts"

const worker = Target.make("worker", {
  module: import.meta.url,
  args: Schema.Number,
  run: (num) => Console.log(`Worker: ${num}`)
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    for (let i = 0; i < 5; i++) {
      yield* Process.spawn(worker, { args: i })
    }
  }))
}
