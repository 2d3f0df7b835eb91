/**
 * Process faults and Python semantics: daemon defaults, what a joined handle keeps,
 * payload limits, out-of-memory children, and what a child inherits (environment,
 * Node flags). Real children throughout.
 */
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { Process } from "../src/index.ts"
import * as F from "./fixtures/fault-targets.ts"

/** A full, forced collection, in a later turn: a `WeakRef` read in this turn keeps its target alive until the turn ends. */
const collect = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))).pipe(
  Effect.andThen(Effect.sync(() => {
    V8.setFlagsFromString("--expose-gc")
    const gc: () => void = Vm.runInNewContext("gc")
    gc()
  }))
)

const numbers = () => ({ values: Array.from({ length: 1000 }, (_, i) => i) })

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

  describe("what a joined handle keeps", () => {
    it.live("the arguments are not kept alive by the handle once the child is started", () =>
      Effect.gen(function*() {
        // Made in an effect of its own: no local of this test holds the arguments.
        const { p, ref } = yield* Effect.suspend(() => {
          const args = numbers()
          return Effect.map(Process.make(F.double, { args }), (p) => ({ p, ref: new WeakRef(args) }))
        })
        yield* Process.start(p)
        assert.strictEqual(yield* Process.join(p), 0)
        yield* collect
        assert.isUndefined(ref.deref(), "the arguments outlived the join")
        assert.strictEqual(p.name.startsWith("Process-"), true)
        assert.isNumber(p.pid)
        assert.deepStrictEqual(yield* Process.exitCode(p), Option.some(0))
      }).pipe(Effect.scoped))

    it.live("the result is kept until the process's scope closes, then released; name, pid and exit code stay", () =>
      Effect.gen(function*() {
        let ref: WeakRef<object> | undefined
        const p = yield* Effect.scoped(Effect.gen(function*() {
          const p = yield* Process.spawn(F.double, { args: { values: [1, 2] } })
          assert.strictEqual(yield* Process.join(p), 0)
          // After join, within the scope: still there, as often as asked.
          const result = yield* Process.result(p)
          assert.deepStrictEqual(result, { values: [2, 4] })
          assert.strictEqual(yield* Process.result(p), result)
          ref = new WeakRef(result)
          return p
        }))
        yield* collect
        assert.isUndefined(ref!.deref(), "the result outlived the process's scope")
        assert.isNumber(p.pid)
        assert.deepStrictEqual(yield* Process.exitCode(p), Option.some(0))
        assert.match(String(p), /stopped exitcode=0/)
        const late = yield* Effect.exit(Process.result(p))
        assert.isTrue(Exit.hasDies(late), "reading a released result is a defect")
      }))
  })
})

