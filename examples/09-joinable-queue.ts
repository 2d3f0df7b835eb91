/**
 * Seed example 9: consumers of a `JoinableQueue` of tasks, with the answers sent back on
 * a second queue. Each task is a `Task` (its Schema is the class, so a consumer gets one
 * with its methods). As in Python, a `null` is the poison pill, one per consumer, and
 * each consumer calls `taskDone` for its pill too: `join` returns only once every task
 * and every pill is done, so every `Result` line comes after every `Exiting` line.
 * (`ProcessQueue.end` is the built-in pill when `join` need not wait for the consumers.)
 *
 *   node examples/09-joinable-queue.ts
 */
import { Console, Effect, Schema } from "effect"
import { JoinableQueue, Process, ProcessQueue, Target } from "../src/index.ts"

class Task extends Schema.Class<Task>("Task")({
  a: Schema.Number,
  b: Schema.Number
}) {
  run(): Effect.Effect<string> {
    // pretend to take time to do the work
    return Effect.sleep("100 millis").pipe(Effect.as(`${this.a} * ${this.b} = ${this.a * this.b}`))
  }

  override toString(): string {
    return `${this.a} * ${this.b}`
  }
}

const Consumer = Target.make("Consumer", {
  module: import.meta.url,
  kind: true,
  args: Schema.Struct({
    tasks: JoinableQueue.schema(Schema.NullOr(Task)),
    results: ProcessQueue.schema(Schema.String)
  }),
  run: ({ results, tasks }) =>
    Effect.gen(function*() {
      const { name } = yield* Process.current
      while (true) {
        const nextTask = yield* ProcessQueue.get(tasks)
        if (nextTask === null) {
          // Poison pill means shutdown
          yield* Console.log(`${name}: Exiting`)
          yield* JoinableQueue.taskDone(tasks)
          return
        }
        yield* Console.log(`${name}: ${nextTask}`)
        const answer = yield* nextTask.run()
        yield* JoinableQueue.taskDone(tasks)
        yield* ProcessQueue.put(results, answer)
      }
    }).pipe(Effect.orDie)
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    // Establish communication queues
    const tasks = yield* JoinableQueue.make({ item: Schema.NullOr(Task) })
    const results = yield* ProcessQueue.make({ item: Schema.String })

    // Start consumers
    const numConsumers = (yield* Process.cpuCount) * 2
    yield* Console.log(`Creating ${numConsumers} consumers`)
    for (let i = 0; i < numConsumers; i++) {
      yield* Process.spawn(Consumer, { args: { tasks, results } })
    }

    // Enqueue jobs
    const numJobs = 10
    for (let i = 0; i < numJobs; i++) {
      yield* ProcessQueue.put(tasks, new Task({ a: i, b: i }))
    }

    // Add a poison pill for each consumer
    for (let i = 0; i < numConsumers; i++) {
      yield* ProcessQueue.put(tasks, null)
    }

    // Wait for all of the tasks to finish
    yield* JoinableQueue.join(tasks)

    // Start printing results
    for (let i = 0; i < numJobs; i++) {
      const result = yield* ProcessQueue.get(results)
      yield* Console.log(`Result: ${result}`)
    }
  }))
}
