/**
 * Seed example 2: naming processes and reading the name with `Process.current`. The
 * unnamed process is `Process-3`: default names count every process in creation order,
 * and `my_service` and `worker 1` were made first. The program ends when `my_service`
 * (the slowest) ends, because non-daemon children are waited for.
 *
 *   node examples/02-current-process.ts
 */
import { Console, Effect } from "effect"
import { Process, Target } from "../src/index.ts"

const worker = Target.make("worker", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      const { name } = yield* Process.current
      yield* Console.log(name, "Starting")
      yield* Effect.sleep("2 seconds")
      yield* Console.log(name, "Exiting")
    })
})

const myService = Target.make("my_service", {
  module: import.meta.url,
  run: () =>
    Effect.gen(function*() {
      const { name } = yield* Process.current
      yield* Console.log(name, "Starting")
      yield* Effect.sleep("3 seconds")
      yield* Console.log(name, "Exiting")
    })
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const service = yield* Process.make(myService, { name: "my_service" })
    const worker1 = yield* Process.make(worker, { name: "worker 1" })
    const worker2 = yield* Process.make(worker) // default name: Process-3

    yield* Process.start(worker1)
    yield* Process.start(worker2)
    yield* Process.start(service)
  }))
}
