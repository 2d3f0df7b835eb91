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
import * as Schema from "effect/Schema"
import * as Option from "effect/Option"
import * as Cause from "effect/Cause"
import { Process, ProcessError, ProcessPool, ProcessPoolError, ProcessQueue } from "../src/index.ts"
import * as PayloadSize from "../src/internal/payloadSize.ts"
import * as F from "./fixtures/fault-targets.ts"

/** A full, forced collection, in a later turn: a `WeakRef` read in this turn keeps its target alive until the turn ends. */
const collect = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))).pipe(
  Effect.andThen(Effect.sync(() => {
    V8.setFlagsFromString("--expose-gc")
    const gc: () => void = Vm.runInNewContext("gc")
    gc()
  }))
)

/** The ProcessError reason of a failed exit, or a test failure. */
const reasonOf = <A, E>(exit: Exit.Exit<A, E>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Cause.squash((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(ProcessError.isProcessError(error), `expected a ProcessError, got ${String(error)}`)
  return (error as ProcessError.ProcessError).reason
}

/** Runs `effect` with what this process writes on stderr also recorded. */
const recordingStderr = <A, E, R>(effect: (written: () => string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const chunks: Array<string> = []
      const write = process.stderr.write
      process.stderr.write = function(this: NodeJS.WriteStream, chunk: unknown, ...rest: Array<any>) {
        chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"))
        return write.call(this, chunk as string, ...rest)
      } as typeof process.stderr.write
      return { write, chunks }
    }),
    ({ chunks }) => effect(() => chunks.join("")),
    ({ write }) => Effect.sync(() => { process.stderr.write = write })
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

    it.live("the result stays readable after join and after the scope that started the process closed", () =>
      Effect.gen(function*() {
        const p = yield* Effect.scoped(Effect.gen(function*() {
          const p = yield* Process.spawn(F.double, { args: { values: [1, 2] } })
          assert.strictEqual(yield* Process.join(p), 0)
          return p
        }))
        assert.deepStrictEqual(yield* Process.result(p), { values: [2, 4] })
        assert.deepStrictEqual(yield* Process.result(p), { values: [2, 4] })
      }))
  })

  describe("what a child inherits", () => {
    /** Runs `effect` with this process's environment and Node flags changed, and puts them back after. */
    const withParent = <A, E, R>(
      change: { readonly env?: Record<string, string>; readonly execArgv?: ReadonlyArray<string> },
      effect: Effect.Effect<A, E, R>
    ) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const saved = { env: { ...process.env }, execArgv: process.execArgv }
          Object.assign(process.env, change.env)
          if (change.execArgv !== undefined) {
            Object.defineProperty(process, "execArgv", { value: change.execArgv, configurable: true })
          }
          return saved
        }),
        () => effect,
        (saved) =>
          Effect.sync(() => {
            for (const name of Object.keys(process.env)) if (!(name in saved.env)) delete process.env[name]
            Object.assign(process.env, saved.env)
            Object.defineProperty(process, "execArgv", { value: saved.execArgv, configurable: true })
          })
      )

    it.live("by default a child inherits the whole environment, as in Python", () =>
      withParent(
        { env: { EMP_FAULT_SECRET: "hunter2" } },
        Effect.gen(function*() {
          const seen = yield* Process.run(F.startedWith, { env: { EMP_FAULT_ADDED: "yes" } })
          assert.strictEqual(seen.env["EMP_FAULT_SECRET"], "hunter2")
          assert.strictEqual(seen.env["EMP_FAULT_ADDED"], "yes")
        })
      ))

    it.live("inheritEnv: false passes nothing but PATH and the loading flags of NODE_OPTIONS; env is still set", () =>
      withParent(
        {
          env: {
            EMP_FAULT_SECRET: "hunter2",
            NODE_OPTIONS: `--max-old-space-size=300 --conditions="emp fault" --stack-size=900`
          }
        },
        Effect.gen(function*() {
          const seen = yield* Process.run(F.startedWith, { inheritEnv: false, env: { EMP_FAULT_ADDED: "yes" } })
          assert.isUndefined(seen.env["EMP_FAULT_SECRET"])
          assert.isUndefined(seen.env["HOME"])
          assert.strictEqual(seen.env["PATH"], process.env["PATH"])
          assert.strictEqual(seen.env["EMP_FAULT_ADDED"], "yes")
          assert.strictEqual(seen.env["NODE_OPTIONS"], `--conditions="emp fault"`)
          assert.deepStrictEqual(
            Object.keys(seen.env).filter((name) => !["PATH", "NODE_OPTIONS", "EMP_FAULT_ADDED", "NODE_COMPILE_CACHE"].includes(name)),
            []
          )
        })
      ))

    it.live("inheritEnv: a list passes those names only; env can remove what is kept", () =>
      withParent(
        { env: { EMP_FAULT_SECRET: "hunter2", EMP_FAULT_PUBLIC: "ok" } },
        Effect.gen(function*() {
          const seen = yield* Process.run(F.startedWith, {
            inheritEnv: ["EMP_FAULT_PUBLIC", "EMP_FAULT_UNSET"],
            env: { PATH: undefined }
          })
          assert.strictEqual(seen.env["EMP_FAULT_PUBLIC"], "ok")
          assert.isUndefined(seen.env["EMP_FAULT_SECRET"])
          assert.isFalse("EMP_FAULT_UNSET" in seen.env)
          assert.isUndefined(seen.env["PATH"])
        })
      ))

    it.live("a pool's workers take inheritEnv too", () =>
      withParent(
        { env: { EMP_FAULT_SECRET: "hunter2", EMP_FAULT_PUBLIC: "ok" } },
        Effect.gen(function*() {
          const pool = yield* ProcessPool.make({ size: 2, inheritEnv: ["EMP_FAULT_PUBLIC"] })
          const seen = yield* ProcessPool.map(pool, F.startedWithTask, [1, 2, 3, 4], { chunkSize: 1 })
          for (const { env } of seen) {
            assert.strictEqual(env["EMP_FAULT_PUBLIC"], "ok")
            assert.isUndefined(env["EMP_FAULT_SECRET"])
          }
        }).pipe(Effect.scoped)
      ))

    it("the default Node flags are the module-loading ones, each with its value", () => {
      const parent = [
        "--max-old-space-size=64",
        "--import",
        "./register.ts",
        "--stack-size",
        "2000",
        "--inspect=0",
        "--conditions=development",
        "-r",
        "./preload.cjs",
        "--no-experimental-strip-types",
        "--env-file=.env",
        "--experimental-loader=./loader.mjs",
        "--permission",
        "--allow-fs-read=/srv"
      ]
      const saved = process.execArgv
      try {
        Object.defineProperty(process, "execArgv", { value: parent, configurable: true })
        assert.deepStrictEqual(Process.defaultExecArgv(), [
          "--import",
          "./register.ts",
          "--conditions=development",
          "-r",
          "./preload.cjs",
          "--no-experimental-strip-types",
          "--experimental-loader=./loader.mjs",
          "--permission",
          "--allow-fs-read=/srv"
        ])
      } finally {
        Object.defineProperty(process, "execArgv", { value: saved, configurable: true })
      }
    })

    it.live("a child gets the parent's loading flags but not its heap limit", () =>
      withParent(
        { execArgv: ["--max-old-space-size=64", "--conditions=emp-fault"] },
        Effect.gen(function*() {
          const seen = yield* Process.run(F.startedWith)
          assert.deepStrictEqual(seen.execArgv, ["--conditions=emp-fault"])
          // Given explicitly, the limit is the child's: it then has a smaller heap than without.
          const limited = yield* Process.run(F.startedWith, { execArgv: ["--max-old-space-size=64"] })
          assert.deepStrictEqual(limited.execArgv, ["--max-old-space-size=64"])
          assert.isBelow(limited.heapLimit, seen.heapLimit)
        })
      ))
  })

  describe("out of memory", () => {
    it.live("a child that exhausts its heap fails with an OutOfMemoryError that names its heap limit; its stderr still reaches ours", () =>
      recordingStderr((written) =>
        Effect.gen(function*() {
          const p = yield* Process.spawn(F.exhaustHeap, { execArgv: ["--max-old-space-size=32"] })
          const reason = reasonOf(yield* Effect.exit(Process.result(p)))
          assert.strictEqual(reason._tag, "OutOfMemoryError", String(reason))
          if (reason._tag !== "OutOfMemoryError") return
          assert.strictEqual(reason.exitCode, -6)
          assert.strictEqual(reason.signal, "SIGABRT")
          // V8's limit for a 32 MiB old space: more than 32 MiB (young space too), far less than a default heap.
          assert.isAbove(reason.heapLimit!, 32 * 2 ** 20)
          assert.isBelow(reason.heapLimit!, 512 * 2 ** 20)
          assert.match(reason.message, /ran out of memory \(heap limit \d+ MiB\)/)
          assert.strictEqual(yield* Process.join(p), -6)
          assert.include(written(), "JavaScript heap out of memory")
        }).pipe(Effect.scoped)
      ))

    it.live("an abort with memory to spare stays a SignalError", () =>
      recordingStderr((written) =>
        Effect.gen(function*() {
          const reason = reasonOf(yield* Effect.exit(Process.run(F.abort)))
          assert.strictEqual(reason._tag, "SignalError", String(reason))
          assert.include(written(), "about to abort; not out of memory")
        })
      ))

    it.live("an OutOfMemoryError round-trips through its Schema", () =>
      Effect.gen(function*() {
        const Codec = Schema.toCodecJson(ProcessError.ProcessError)
        const error = new ProcessError.ProcessError({
          process: "Process-1",
          pid: 42,
          reason: new ProcessError.OutOfMemoryError({ heapLimit: 50331648, exitCode: -6, signal: "SIGABRT" })
        })
        const back = Schema.decodeUnknownSync(Codec)(Schema.encodeSync(Codec)(error))
        assert.deepStrictEqual(back.reason, error.reason)
        assert.strictEqual(back.message, "process Process-1 (pid 42): ran out of memory (heap limit 48 MiB): the JavaScript heap is exhausted, killed by SIGABRT")
      }))

    it.live("a pool worker that runs out of memory fails its task with a WorkerCrashedError caused by an OutOfMemoryError", () =>
      Effect.gen(function*() {
        const pool = yield* ProcessPool.make({ size: 1, execArgv: ["--max-old-space-size=32"] })
        const exit = yield* Effect.exit(ProcessPool.run(pool, F.exhaustHeapTask, 1))
        assert.isTrue(Exit.isFailure(exit))
        const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
        assert.isTrue(ProcessPoolError.isProcessPoolError(error), String(error))
        const reason = (error as ProcessPoolError.ProcessPoolError).reason
        assert.strictEqual(reason._tag, "WorkerCrashedError", String(reason))
        if (reason._tag !== "WorkerCrashedError") return
        assert.strictEqual(reason.exitCode, -6)
        assert.strictEqual(reason.cause?._tag, "OutOfMemoryError")
        assert.match(reason.message, /ran out of memory/)
      }).pipe(Effect.scoped))
  })

  describe("payload limits", () => {
    it("a payload is measured as its JSON's UTF-8 bytes, and the count stops past the limit", () => {
      const values: Array<unknown> = [
        0,
        -17,
        123456789,
        true,
        false,
        null,
        "",
        "héllo wörld ✓ 𝄞",
        [],
        {},
        [1, "two", [3], { four: 4 }],
        { a: 1, "ключ": ["x", null, { deep: [true] }], skipped: undefined }
      ]
      for (const value of values) {
        assert.strictEqual(PayloadSize.measure(value, Infinity), Buffer.byteLength(JSON.stringify(value)), JSON.stringify(value))
      }
      // A fraction is counted at its longest: never under what JSON writes.
      assert.isAtLeast(PayloadSize.measure([Math.PI, 1e-300], Infinity), Buffer.byteLength(JSON.stringify([Math.PI, 1e-300])))
      // Binary data by its bytes.
      assert.strictEqual(PayloadSize.measure(new Uint8Array(1000), Infinity), 1000)
      // Past the limit, the walk stops: a long array is not walked to its end.
      const long = Array.from({ length: 100_000 }, () => ({ text: "x".repeat(100) }))
      const over = PayloadSize.measure(long, 1000)
      assert.isAbove(over, 1000)
      assert.isBelow(over, 1000 + 200_000)
    })


    it.live("arguments over maxMessageBytes fail with a PayloadTooLargeError before anything is spawned", () =>
      Effect.gen(function*() {
        const before = (yield* Process.activeChildren).length
        const p = yield* Process.make(F.lengthOf, { args: "a".repeat(5000), maxMessageBytes: 1000 })
        const reason = reasonOf(yield* Effect.exit(Process.start(p)))
        assert.strictEqual(reason._tag, "PayloadTooLargeError", String(reason))
        if (reason._tag !== "PayloadTooLargeError") return
        assert.strictEqual(reason.payload, "arguments")
        assert.strictEqual(reason.limit, 1000)
        assert.isAbove(reason.size, 1000)
        assert.isUndefined(p.pid)
        assert.strictEqual((yield* Process.activeChildren).length, before)
        // Under the limit, the same target runs.
        assert.strictEqual(yield* Process.run(F.lengthOf, { args: "a".repeat(900), maxMessageBytes: 1000 }), 900)
      }).pipe(Effect.scoped))

    it.live("the default limit (64 MiB) refuses a 70 MB argument without building its JSON", () =>
      Effect.gen(function*() {
        const big = "b".repeat(70_000_000)
        const heapBefore = process.memoryUsage().heapUsed
        const reason = reasonOf(yield* Effect.exit(Process.run(F.lengthOf, { args: big })))
        const grown = process.memoryUsage().heapUsed - heapBefore
        assert.strictEqual(reason._tag, "PayloadTooLargeError", String(reason))
        if (reason._tag !== "PayloadTooLargeError") return
        assert.strictEqual(reason.limit, 64 * 1024 * 1024)
        // Its JSON text alone would be 70 MB more.
        assert.isBelow(grown, 32 * 1024 * 1024)
        assert.strictEqual(big.length, 70_000_000)
      }))

    it.live("a result over the limit fails in the child, and the parent gets the PayloadTooLargeError", () =>
      Effect.gen(function*() {
        const success = reasonOf(yield* Effect.exit(Process.run(F.textOf, { args: 5000, maxMessageBytes: 1000 })))
        assert.strictEqual(success._tag, "PayloadTooLargeError", String(success))
        if (success._tag === "PayloadTooLargeError") {
          assert.strictEqual(success.payload, "success")
          assert.strictEqual(success.limit, 1000)
          assert.isAbove(success.size, 1000)
        }
        const error = reasonOf(yield* Effect.exit(Process.run(F.textOf, { args: -5000, maxMessageBytes: 1000 })))
        assert.strictEqual(error._tag, "PayloadTooLargeError", String(error))
        if (error._tag === "PayloadTooLargeError") assert.strictEqual(error.payload, "error")
        // Small ones still cross.
        assert.strictEqual(yield* Process.run(F.textOf, { args: 10, maxMessageBytes: 1000 }), "x".repeat(10))
        // Infinity: no limit.
        assert.strictEqual((yield* Process.run(F.textOf, { args: 100_000, maxMessageBytes: Infinity })).length, 100_000)
      }))

    it.live("the parent's channel refuses a line over the child's limit (plus its envelope) as a protocol error", () =>
      Effect.gen(function*() {
        const reason = reasonOf(
          yield* Effect.exit(Process.run(F.writesLongLine, { args: 3 * 1024 * 1024, maxMessageBytes: 1000 }))
        )
        assert.strictEqual(reason._tag, "DecodeError", String(reason))
        assert.include(reason.message, "longer than", reason.message.slice(0, 300))
        // The same line is read when the limit allows it.
        const exit = yield* Effect.exit(Process.run(F.writesLongLine, { args: 3 * 1024 * 1024 }))
        assert.isTrue(Exit.isSuccess(exit))
      }))

    it.live("a pool refuses a task whose arguments are over its maxMessageBytes, before sending; the others run", () =>
      Effect.gen(function*() {
        const pool = yield* ProcessPool.make({ size: 1, maxMessageBytes: 1000 })
        const exits = yield* ProcessPool.mapExits(pool, F.lengthOf, ["a", "b".repeat(5000), "cc"], { chunkSize: 3 })
        assert.deepStrictEqual([exits[0], exits[2]], [Exit.succeed(1), Exit.succeed(2)])
        const refused = exits[1]!
        assert.isTrue(Exit.isFailure(refused))
        const error = Cause.squash((refused as Exit.Failure<unknown, unknown>).cause) as ProcessPoolError.ProcessPoolError
        assert.strictEqual(error.reason._tag, "PayloadTooLargeError", String(error))
        if (error.reason._tag === "PayloadTooLargeError") {
          assert.strictEqual(error.reason.payload, "arguments")
          assert.strictEqual(error.reason.limit, 1000)
        }
        // One task alone, too.
        const single = yield* Effect.exit(ProcessPool.run(pool, F.lengthOf, "d".repeat(5000)))
        assert.strictEqual((Cause.squash((single as Exit.Failure<unknown, unknown>).cause) as ProcessPoolError.ProcessPoolError).reason._tag, "PayloadTooLargeError")
        assert.strictEqual(yield* ProcessPool.run(pool, F.lengthOf, "eee"), 3)
        // An invalid limit is an invalid option.
        const invalid = yield* Effect.exit(ProcessPool.make({ size: 1, maxMessageBytes: -1 }))
        assert.strictEqual(
          (Cause.squash((invalid as Exit.Failure<unknown, unknown>).cause) as ProcessPoolError.ProcessPoolError).reason._tag,
          "InvalidOptionsError"
        )
      }).pipe(Effect.scoped))

    it.live("a pool task whose result or typed error is over maxMessageBytes fails with it in the worker; the others, and the worker, go on", () =>
      Effect.gen(function*() {
        const pool = yield* ProcessPool.make({ size: 1, maxMessageBytes: 1000 })
        const worker = yield* ProcessPool.run(pool, F.pidOf, undefined)
        const reasonOf = (exit: Exit.Exit<unknown, unknown> | undefined) => {
          assert.isTrue(exit !== undefined && Exit.isFailure(exit), "a failure")
          return (Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as ProcessPoolError.ProcessPoolError).reason
        }
        for (const target of [F.textOf, F.syncTextOf]) {
          const letter = target === F.textOf ? "x" : "z"
          const exits = yield* ProcessPool.mapExits(pool, target, [3, 5000, 4], { chunkSize: 3 })
          assert.deepStrictEqual([exits[0], exits[2]], [Exit.succeed(letter.repeat(3)), Exit.succeed(letter.repeat(4))])
          const reason = reasonOf(exits[1])
          assert.strictEqual(reason._tag, "PayloadTooLargeError", String(reason))
          if (reason._tag === "PayloadTooLargeError") {
            assert.strictEqual(reason.payload, "success")
            assert.strictEqual(reason.limit, 1000)
            assert.isAbove(reason.size, 1000)
          }
          // One task alone, too.
          assert.strictEqual(reasonOf(yield* Effect.exit(ProcessPool.run(pool, target, 6000)))._tag, "PayloadTooLargeError")
        }
        // A typed error over the limit.
        const error = reasonOf(yield* Effect.exit(ProcessPool.run(pool, F.textOf, -5000)))
        assert.strictEqual(error._tag, "PayloadTooLargeError")
        if (error._tag === "PayloadTooLargeError") assert.strictEqual(error.payload, "error")
        const small = yield* Effect.flip(ProcessPool.run(pool, F.textOf, -5))
        assert.strictEqual(small._tag, "Big", "a small typed error comes back as itself")
        assert.strictEqual(yield* ProcessPool.run(pool, F.pidOf, undefined), worker, "the same worker went on")
        // With no limit, a large result comes back.
        const unbounded = yield* ProcessPool.make({ size: 1, maxMessageBytes: Infinity })
        assert.strictEqual((yield* ProcessPool.run(unbounded, F.textOf, 5000)).length, 5000)
      }).pipe(Effect.scoped))

    it.live("a queue's put of an item over its maxMessageBytes fails with ItemTooLargeError, in the owner and in a child, before sending", () =>
      Effect.gen(function*() {
        for (const capacity of [undefined, 10]) {
          const queue = yield* ProcessQueue.make({ item: Schema.String, capacity, maxMessageBytes: 1000 })
          const local = yield* Effect.flip(ProcessQueue.put(queue, "o".repeat(5000)))
          assert.strictEqual(local._tag, "ItemTooLargeError")
          if (local._tag === "ItemTooLargeError") assert.strictEqual(local.limit, 1000)
          // In a child (write-behind puts for the unbounded queue, a call for the bounded one):
          // refused there, and the small ones arrive.
          const seen = yield* Process.run(F.putsTexts, { args: { queue, lengths: [3, 5000, 4] } })
          assert.deepStrictEqual(seen, ["ok", "ItemTooLargeError 1000", "ok"], `capacity ${capacity}`)
          assert.strictEqual(yield* ProcessQueue.get(queue), "qqq")
          assert.strictEqual(yield* ProcessQueue.get(queue), "qqqq")
          assert.strictEqual(yield* ProcessQueue.size(queue), 0)
        }
      }).pipe(Effect.scoped))

    it.live("maxMessageBytes must be positive", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Process.run(F.noop, { maxMessageBytes: 0 }))
        assert.isTrue(Exit.hasDies(exit))
      }))
  })
})

