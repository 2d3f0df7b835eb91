/**
 * Runs the seed examples that share a queue or an event between processes (08–10) as
 * real programs (`node examples/NN-name.ts` from the repository root) and checks what
 * must hold on every run, per the table in the seed's README. Output order between
 * processes is racy, as in Python: only the listed properties are asserted, and timings
 * only as lower bounds.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Os from "node:os"
import * as Effect from "effect/Effect"
import { type Run, runExample } from "./utils/runExample.ts"

/** Exit status 0 and nothing on stderr, with the whole run printed for the failure message. */
const assertClean = (run: Run) =>
  assert.deepStrictEqual(
    { code: run.code, signal: run.signal, stderr: run.stderr },
    { code: 0, signal: null, stderr: [] },
    `stdout:\n${run.stdout.join("\n")}\nstderr:\n${run.stderr.join("\n")}`
  )

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe("seed examples with queues and events", () => {
  it.live("08: an object put on a queue is rebuilt, with its behaviour, in the child", () =>
    Effect.gen(function*() {
      const run = yield* runExample("08-queue-object.ts")
      assertClean(run)
      assert.deepStrictEqual(run.stdout, ["Doing something fancy in Process-1 for Fancy Dan!"])
    }))

  it.live(
    "09: each task is done once by some Consumer-k, each consumer exits once after its tasks, and join waits for every taskDone",
    () =>
      Effect.gen(function*() {
        const run = yield* runExample("09-joinable-queue.ts")
        assertClean(run)
        const all = run.stdout.join("\n")
        const consumers = Os.availableParallelism() * 2
        assert.strictEqual(run.stdout[0], `Creating ${consumers} consumers`, all)
        const body = run.stdout.slice(1)

        const taskLines = body.filter((line) => /^Consumer-\d+: \d+ \* \d+$/.test(line))
        const exitLines = body.filter((line) => /^Consumer-\d+: Exiting$/.test(line))
        const resultLines = body.filter((line) => line.startsWith("Result: "))
        assert.strictEqual(taskLines.length + exitLines.length + resultLines.length, body.length, `unexpected lines:\n${all}`)

        const names = range(1, consumers + 1).map((k) => `Consumer-${k}`)
        const taskOf = (line: string) => {
          const [name, task] = line.split(": ")
          assert.include(names, name, line)
          return task!
        }
        assert.deepStrictEqual(sorted(taskLines.map(taskOf)), sorted(range(0, 10).map((i) => `${i} * ${i}`)), all)
        assert.deepStrictEqual(sorted(exitLines), sorted(names.map((name) => `${name}: Exiting`)), all)
        assert.deepStrictEqual(sorted(resultLines), sorted(range(0, 10).map((i) => `Result: ${i} * ${i} = ${i * i}`)), all)

        // A consumer exits only after the tasks it printed.
        for (const name of names) {
          const exiting = body.indexOf(`${name}: Exiting`)
          body.forEach((line, index) => {
            if (taskLines.includes(line) && line.startsWith(`${name}: `)) assert.isBelow(index, exiting, all)
          })
        }
        // join returned only after every taskDone, the pills' included.
        const lastExit = Math.max(...exitLines.map((line) => body.indexOf(line)))
        const firstResult = Math.min(...resultLines.map((line) => body.indexOf(line)))
        assert.isBelow(lastExit, firstResult, all)
      })
  )

  it.live("10: the 2 s wait gives false before the event is set at 3 s; the blocked waiter wakes after it, with true", () =>
    Effect.gen(function*() {
      const run = yield* runExample("10-event.ts")
      assertClean(run)
      const all = run.stdout.join("\n")
      assert.deepStrictEqual(
        sorted(run.stdout),
        sorted([
          "main: waiting before calling Event.set()",
          "wait_for_event: starting",
          "wait_for_event_timeout: starting",
          "wait_for_event_timeout: e.is_set()-> false",
          "main: event is set",
          "wait_for_event: e.is_set()-> true"
        ])
      )
      const at = (line: string) => run.stdout.indexOf(line)
      const before = (a: string, b: string) => assert.isBelow(at(a), at(b), `${a} before ${b}:\n${all}`)
      before("wait_for_event_timeout: starting", "wait_for_event_timeout: e.is_set()-> false")
      before("wait_for_event_timeout: e.is_set()-> false", "main: event is set")
      before("wait_for_event_timeout: e.is_set()-> false", "wait_for_event: e.is_set()-> true")
      before("wait_for_event: starting", "wait_for_event: e.is_set()-> true")
      before("main: waiting before calling Event.set()", "main: event is set")
      // Not ordered, in Python either: "main: event is set" and the woken waiter's line.
      assert.isAtLeast(run.wall, 3)
    }))
})
