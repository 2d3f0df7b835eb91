/**
 * Process faults and Python semantics: daemon defaults, what a joined handle keeps,
 * payload limits, out-of-memory children, and what a child inherits (environment,
 * Node flags). Real children throughout.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Process } from "../src/index.ts"
import * as F from "./fixtures/fault-targets.ts"

describe("Process faults", () => {
  describe("daemon", () => {
    it.live("daemon defaults to the creating process's flag: a process made in a daemon child is a daemon", () =>
      Effect.gen(function*() {
        // In the main program: not a daemon.
        assert.isFalse((yield* Process.make(F.noop)).daemon)
        const inDaemon = yield* Process.run(F.daemonOfChildren, { daemon: true })
        assert.deepStrictEqual(inDaemon, { unset: true, explicitFalse: false })
        const inNonDaemon = yield* Process.run(F.daemonOfChildren, { daemon: false })
        assert.deepStrictEqual(inNonDaemon, { unset: false, explicitFalse: false })
      }))
  })
})
