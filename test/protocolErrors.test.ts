/**
 * A peer that breaks the protocol (a bug, or something else writing to the channel) is a
 * typed DecodeError for that peer, never a log line alone and never a hang: a process's
 * result fails with it, a pool replaces the worker and fails its task, a child stops.
 */
import * as Fs from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Process, ProcessError, ProcessPool, ProcessPoolError } from "../src/index.ts"
import type { ProcessImpl } from "../src/internal/process.ts"
import * as G from "./fixtures/protocol.ts"
import { tempPath, untilFile } from "./utils/files.ts"

const hows = Object.keys(G.garbage) as Array<G.How>

const processReason = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(ProcessError.isProcessError(error), String(error))
  return (error as ProcessError.ProcessError).reason
}

describe("protocol errors", () => {
  it.live("a child that writes garbage and then succeeds: its result is a DecodeError, not the success", () =>
    Effect.gen(function*() {
      for (const how of hows) {
        const reason = processReason(yield* Effect.exit(Process.run(G.writeAndSucceed, { args: how })))
        assert.strictEqual(reason._tag, "DecodeError", how)
        assert.strictEqual((reason as ProcessError.DecodeError).payload, "message", how)
      }
    }))

  it.live("a pool worker that writes garbage is replaced, and its task fails with a DecodeError at once", () =>
    Effect.gen(function*() {
      const pool = yield* ProcessPool.make({ size: 1 })
      for (const how of hows) {
        const error = yield* Effect.flip(ProcessPool.run(pool, G.writeAndWait, how))
        assert.isTrue(ProcessPoolError.isProcessPoolError(error), how)
        const reason = (error as ProcessPoolError.ProcessPoolError).reason
        assert.strictEqual(reason._tag, "DecodeError", how)
      }
      // The pool goes on, on a fresh worker.
      const exit = yield* Effect.exit(ProcessPool.run(pool, G.writeAndSucceed, "untagged"))
      assert.isTrue(Exit.isFailure(exit), "even a task that succeeds fails when its worker broke the protocol")
    }).pipe(Effect.scoped))

  it.live("a child whose parent sends what it cannot read stops (finalizers run) and ends with a DecodeError", () =>
    Effect.gen(function*() {
      const marker = yield* tempPath("finalized")
      const p = yield* Process.spawn(G.waitWithFinalizer, { args: marker })
      yield* Process.ready(p)
      const state = (p as ProcessImpl<void, never>).state
      assert.strictEqual(state._tag, "Running")
      if (state._tag === "Running") state.connection.send({ _tag: "Bogus" })
      const reason = processReason(yield* Effect.exit(Process.result(p)))
      assert.strictEqual(reason._tag, "DecodeError")
      assert.include(reason.message, "an unknown message 'Bogus'")
      yield* untilFile(marker)
      assert.strictEqual(Fs.readFileSync(marker, "utf8"), "finalized")
      assert.strictEqual(yield* Process.join(p), 1)
    }).pipe(Effect.scoped))
})
