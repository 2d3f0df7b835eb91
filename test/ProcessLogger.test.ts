import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { Process, ProcessLogger } from "../src/index.ts"
import * as T from "./fixtures/targets.ts"

/** layerStderr's settings, with the formatted lines kept instead of printed. */
const capturePython = () => {
  const lines: Array<string> = []
  const layer = Layer.mergeAll(
    Logger.layer([Logger.map(ProcessLogger.formatPython, (line) => void lines.push(line))]),
    Layer.succeed(ProcessLogger.LifecycleLogs, true)
  )
  return { lines, layer }
}

describe("ProcessLogger", () => {
  it.live("formats the parent's own logs as [LEVEL/MainProcess]", () =>
    Effect.gen(function*() {
      const { layer, lines } = capturePython()
      yield* Effect.logWarning("careful", 42).pipe(Effect.provide(layer))
      assert.deepStrictEqual(lines, ["[WARNING/MainProcess] careful 42"])
    }))

  it.live("formats a child's logs with the child's name, lifecycle lines included", () =>
    Effect.gen(function*() {
      const { layer, lines } = capturePython()
      yield* Effect.gen(function*() {
        const p = yield* Process.spawn(T.logs, { name: "chatty" })
        yield* Process.join(p)
      }).pipe(Effect.scoped, Effect.provide(layer))
      assert.deepStrictEqual(lines, [
        "[INFO/chatty] child process calling logs()",
        "[WARNING/chatty] hello from the child {\"n\":1}",
        "[INFO/chatty] process shutting down",
        "[INFO/chatty] process exiting with exitcode 0"
      ])
    }))

  it.live("lifecycle lines are off unless asked for", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const layer = Logger.layer([Logger.map(ProcessLogger.formatPython, (line) => void lines.push(line))])
      yield* Process.run(T.logs, { name: "quiet" }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(lines, ["[WARNING/quiet] hello from the child {\"n\":1}"])
    }))
})
