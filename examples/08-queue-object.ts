/**
 * Seed example 8: an object with behaviour sent through a queue. The queue's item Schema
 * is the class itself, so what the child gets is a `MyFancyClass` again, methods and
 * all, not a bare copy of its fields.
 *
 *   node examples/08-queue-object.ts
 */
import { Console, Effect, Schema } from "effect"
import { Process, ProcessQueue, Target } from "../src/index.ts"

class MyFancyClass extends Schema.Class<MyFancyClass>("MyFancyClass")({
  name: Schema.String
}) {
  doSomething(): Effect.Effect<void> {
    return Process.current.pipe(
      Effect.flatMap((proc) => Console.log(`Doing something fancy in ${proc.name} for ${this.name}!`))
    )
  }
}

const worker = Target.make("worker", {
  module: import.meta.url,
  args: ProcessQueue.schema(MyFancyClass),
  run: (queue) =>
    ProcessQueue.get(queue).pipe(
      Effect.flatMap((obj) => obj.doSomething()),
      Effect.orDie
    )
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const queue = yield* ProcessQueue.make({ item: MyFancyClass })

    const p = yield* Process.spawn(worker, { args: queue })

    yield* ProcessQueue.put(queue, new MyFancyClass({ name: "Fancy Dan" }))

    // Wait for the worker to finish
    yield* Process.join(p)
  }))
}
