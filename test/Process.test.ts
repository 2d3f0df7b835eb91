import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import { Process, ProcessError, Target } from "../src/index.ts"
import * as ExitsOnImport from "./fixtures/exits-on-import.ts"
import * as ThrowsOnImport from "./fixtures/throws-on-import.ts"
import * as T from "./fixtures/targets.ts"
import { until } from "./utils/files.ts"

/** The ProcessError reason of a failed exit, or a test failure. */
const reasonOf = <A, E>(exit: Exit.Exit<A, E>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Cause.squash((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(ProcessError.isProcessError(error), `expected a ProcessError, got ${String(error)}`)
  return (error as ProcessError.ProcessError).reason
}

interface Captured {
  readonly level: string
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

/** A logger that records what reaches the parent. */
const capture = () => {
  const logs: Array<Captured> = []
  const logger = Logger.make((options) => {
    logs.push({
      level: options.logLevel,
      message: options.message,
      annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
    })
  })
  return { logs, layer: Logger.layer([logger]) }
}

describe("Process", () => {
  describe("exit codes (Python's semantics)", () => {
    it.live("a target that returns gives exit code 0 and its typed success", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.succeed, { args: 7 })
        assert.strictEqual(yield* Process.result(p), 49)
        assert.strictEqual(yield* Process.join(p), 0)
        assert.deepStrictEqual(yield* Process.exitCode(p), Option.some(0))
        assert.isFalse(yield* Process.isAlive(p))
      }).pipe(Effect.scoped))

    it.live("Process.exit(n) gives n & 0xFF and an ExitCodeError", () =>
      Effect.gen(function*() {
        for (const [code, expected] of [[3, 3], [263, 7], [0, 0]] as const) {
          const p = yield* Process.spawn(T.exitWith, { args: code })
          const exit = yield* Effect.exit(Process.result(p))
          assert.strictEqual(yield* Process.join(p), expected)
          const reason = reasonOf(exit)
          assert.strictEqual(reason._tag, "ExitCodeError")
          assert.strictEqual((reason as ProcessError.ExitCodeError).exitCode, expected)
        }
      }).pipe(Effect.scoped))

    it.live("process.exit(n) called directly gives n", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.rawExit, { args: 2 })
        assert.strictEqual(yield* Process.join(p), 2)
        const reason = reasonOf(yield* Effect.exit(Process.result(p)))
        assert.strictEqual(reason._tag, "ExitCodeError")
      }).pipe(Effect.scoped))

    it.live("a defect gives exit code 1 and an UncaughtError with the remote stack", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.defect)
        const exit = yield* Effect.exit(Process.result(p))
        assert.strictEqual(yield* Process.join(p), 1)
        const reason = reasonOf(exit) as ProcessError.UncaughtError
        assert.strictEqual(reason._tag, "UncaughtError")
        assert.strictEqual(reason.message, "There was an error!")
        assert.include(reason.name, "RangeError")
        assert.include(reason.stack ?? "", "targets.ts")
      }).pipe(Effect.scoped))

    it.live("an error thrown outside any Effect is an UncaughtError too", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.throwsInCallback)
        const reason = reasonOf(yield* Effect.exit(Process.result(p))) as ProcessError.UncaughtError
        assert.strictEqual(reason._tag, "UncaughtError")
        assert.strictEqual(reason.message, "thrown in a callback")
        assert.strictEqual(yield* Process.join(p), 1)
      }).pipe(Effect.scoped))

    it.live("the target's typed error comes back as itself, with exit code 1", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.failTyped, { args: "user-42" })
        const error = yield* Effect.flip(Process.result(p))
        assert.instanceOf(error, T.NotFound)
        assert.strictEqual((error as T.NotFound).key, "user-42")
        assert.strictEqual(yield* Process.join(p), 1)
      }).pipe(Effect.scoped))

    it.live("terminate gives exit code -15 and runs the child's finalizers", () =>
      Effect.gen(function*() {
        const { layer, logs } = capture()
        const exit = yield* Effect.gen(function*() {
          const p = yield* Process.spawn(T.sleeper)
          yield* Process.ready(p)
          yield* Process.terminate(p)
          assert.strictEqual(yield* Process.join(p), -15)
          assert.match(String(p), /^<Process name='Process-\d+' pid=\d+ parent=\d+ stopped exitcode=-SIGTERM>$/)
          return yield* Effect.exit(Process.result(p))
        }).pipe(Effect.scoped, Effect.provide(layer))
        const reason = reasonOf(exit) as ProcessError.SignalError
        assert.strictEqual(reason._tag, "SignalError")
        assert.strictEqual(reason.signal, "SIGTERM")
        assert.isTrue(logs.some((log) => String(log.message).includes("finalizer ran")))
      }))

    it.live("kill gives exit code -9", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.sleeper)
        yield* Process.ready(p)
        yield* Process.kill(p)
        assert.strictEqual(yield* Process.join(p), -9)
        const reason = reasonOf(yield* Effect.exit(Process.result(p))) as ProcessError.SignalError
        assert.strictEqual(reason.signal, "SIGKILL")
      }).pipe(Effect.scoped))
  })

  describe("join and terminate", () => {
    it.live("join with a timeout returns None while the child still runs", () =>
      Effect.gen(function*() {
        // A daemon: were a check to fail before the terminate, the scope would not wait for it forever.
        const p = yield* Process.spawn(T.sleeper, { daemon: true })
        assert.deepStrictEqual(yield* Process.join(p, { timeout: "300 millis" }), Option.none())
        assert.isTrue(yield* Process.isAlive(p))
        assert.deepStrictEqual(yield* Process.exitCode(p), Option.none())
        yield* Process.terminate(p)
        assert.deepStrictEqual(yield* Process.join(p, { timeout: "30 seconds" }), Option.some(-15))
      }).pipe(Effect.scoped))

    it.live("a child that ignores SIGTERM is killed after the grace period (-9)", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.ignoresSigterm, { gracePeriod: "300 millis" })
        yield* Process.ready(p)
        const started = Date.now()
        yield* Process.terminate(p)
        assert.strictEqual(yield* Process.join(p), -9)
        assert.isAtLeast(Date.now() - started, 250)
      }).pipe(Effect.scoped))

    it.live("a child in a synchronous loop is killed after the grace period (-9)", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.cpuLoop, { gracePeriod: "300 millis" })
        yield* Process.ready(p)
        yield* Process.terminate(p)
        assert.strictEqual(yield* Process.join(p), -9)
      }).pipe(Effect.scoped))

    it.live("interrupting the fiber that owns a process terminates it", () =>
      Effect.gen(function*() {
        const handle = yield* Deferred.make<Process.Process<void, never>>()
        const fiber = yield* Effect.gen(function*() {
          const p = yield* Process.spawn(T.sleeper)
          yield* Deferred.succeed(handle, p)
          yield* Process.ready(p)
          return yield* Process.join(p)
        }).pipe(Effect.scoped, Effect.forkChild)
        const p = yield* Deferred.await(handle)
        yield* Process.ready(p)
        yield* Fiber.interrupt(fiber)
        assert.isFalse(yield* Process.isAlive(p), "the child is reaped before the interruption completes")
        assert.deepStrictEqual(yield* Process.exitCode(p), Option.some(-15))
      }))

    it.live("closing a scope joins non-daemon children and terminates daemon children", () =>
      Effect.gen(function*() {
        const [daemon, worker] = yield* Effect.gen(function*() {
          const daemon = yield* Process.spawn(T.sleeper, { daemon: true })
          const worker = yield* Process.spawn(T.sleepFor, { args: 300 })
          yield* Process.ready(daemon)
          return [daemon, worker] as const
        }).pipe(Effect.scoped)
        assert.deepStrictEqual(yield* Process.exitCode(worker), Option.some(0), "the non-daemon ran to its end")
        assert.deepStrictEqual(yield* Process.exitCode(daemon), Option.some(-15), "the daemon was terminated")
        assert.include(String(daemon), " daemon>")
      }))

    it.live("a scope closed by interruption terminates non-daemon children too", () =>
      Effect.gen(function*() {
        const handle = yield* Deferred.make<Process.Process<void, never>>()
        const fiber = yield* Effect.gen(function*() {
          const p = yield* Process.spawn(T.sleepFor, { args: 60_000 })
          yield* Deferred.succeed(handle, p)
          return yield* Effect.never
        }).pipe(Effect.scoped, Effect.forkChild({ startImmediately: true }))
        const p = yield* Deferred.await(handle)
        yield* Process.ready(p)
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* Process.exitCode(p), Option.some(-15))
      }))

    it.live("an interrupted scope sends SIGTERM to all its children at once", () =>
      Effect.gen(function*() {
        const events: Array<string> = []
        const logger = Logger.make((options) => {
          const name = options.fiber.getRef(References.CurrentLogAnnotations)["processName"]
          if (String(options.message).includes("stopping")) events.push(`${String(name)} stopping`)
        })
        const started = yield* Deferred.make<ReadonlyArray<Process.Process<void, never>>>()
        const fiber = yield* Effect.gen(function*() {
          const a = yield* Process.spawn(T.slowToStop, { name: "a" })
          const b = yield* Process.spawn(T.slowToStop, { name: "b" })
          yield* Process.ready(a)
          yield* Process.ready(b)
          for (const p of [a, b]) {
            yield* Process.join(p).pipe(
              Effect.andThen(Effect.sync(() => events.push(`${p.name} exited`))),
              Effect.forkDetach
            )
          }
          yield* Deferred.succeed(started, [a, b])
          return yield* Effect.never
        }).pipe(Effect.scoped, Effect.provide(Logger.layer([logger])), Effect.forkChild)
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        yield* until(() => events.length >= 4)
        const firstExit = events.findIndex((event) => event.endsWith("exited"))
        assert.isAtLeast(firstExit, 2, `both were stopping before either exited: ${events.join(", ")}`)
      }))

    it.live("starting a process twice is a defect", () =>
      Effect.gen(function*() {
        const p = yield* Process.make(T.sleepFor, { args: 1 })
        yield* Process.start(p)
        const exit = yield* Effect.exit(Process.start(p))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      }).pipe(Effect.scoped))
  })

  describe("payloads at the boundary", () => {
    it.live("bad arguments fail with an EncodeError before anything is spawned", () =>
      Effect.gen(function*() {
        const before = (yield* Process.activeChildren).length
        const p = yield* Process.make(T.succeed, { args: "seven" as unknown as number })
        const reason = reasonOf(yield* Effect.exit(Process.start(p))) as ProcessError.EncodeError
        assert.strictEqual(reason._tag, "EncodeError")
        assert.strictEqual(reason.payload, "arguments")
        assert.isUndefined(p.pid)
        assert.strictEqual((yield* Process.activeChildren).length, before)
        assert.include(String(p), "initial")
      }).pipe(Effect.scoped))

    it.live("arguments that cannot be carried (functions, cycles, too large) fail with an EncodeError", () =>
      Effect.gen(function*() {
        const cyclic: Record<string, unknown> = {}
        cyclic["self"] = cyclic
        for (const args of [() => 1, cyclic, Symbol("s")]) {
          const reason = reasonOf(yield* Effect.exit(Process.spawn(T.takesAnything, { args })))
          assert.strictEqual(reason._tag, "EncodeError")
        }
        // Nor arguments whose JSON is longer than V8 makes a string (~512 M characters), with
        // no maxMessageBytes to refuse them first.
        const before = (yield* Process.activeChildren).length
        const big = "x".repeat(300_000_000)
        const reason = reasonOf(
          yield* Effect.exit(Process.spawn(T.takesAnything, { args: [big, big], maxMessageBytes: Infinity }))
        )
        assert.strictEqual(reason._tag, "EncodeError")
        assert.include(reason.message, "too large to send")
        assert.strictEqual((yield* Process.activeChildren).length, before)
      }).pipe(Effect.scoped))

    it.live("a Schema.Class travels both ways with its behaviour", () =>
      Effect.gen(function*() {
        const result = yield* Process.run(T.greet, { args: new T.Greeting({ name: "Dan" }) })
        assert.instanceOf(result, T.Greeting)
        assert.strictEqual(result.greet(), "Hello, Hello, Dan!!")
      }))

    it.live("a success value that fails its Schema in the child is an EncodeError", () =>
      Effect.gen(function*() {
        const reason = reasonOf(yield* Effect.exit(Process.run(T.badSuccess))) as ProcessError.EncodeError
        assert.strictEqual(reason._tag, "EncodeError")
        assert.strictEqual(reason.payload, "success")
      }))

    it.live("garbage on the channel is a typed DecodeError and the parent keeps working", () =>
      Effect.gen(function*() {
        const { layer, logs } = capture()
        const garbage = reasonOf(yield* Effect.exit(Process.run(T.writesGarbage).pipe(Effect.provide(layer))))
        assert.strictEqual(garbage._tag, "DecodeError")
        assert.strictEqual((garbage as ProcessError.DecodeError).payload, "message")
        assert.isTrue(logs.some((log) => log.level === "Warn" && String(log.message).includes("not JSON")))
        const forged = reasonOf(yield* Effect.exit(Process.run(T.forgesResult))) as ProcessError.DecodeError
        assert.strictEqual(forged._tag, "DecodeError")
        assert.strictEqual(forged.payload, "success")
        assert.strictEqual(yield* Process.run(T.succeed, { args: 3 }), 9, "the parent still spawns and talks")
      }))

    it.live("ProcessError round-trips through its Schema", () =>
      Effect.gen(function*() {
        const error = new ProcessError.ProcessError({
          process: "Process-1",
          pid: 42,
          reason: new ProcessError.SignalError({ signal: "SIGTERM", exitCode: -15 })
        })
        const codec = Schema.toCodecJson(ProcessError.ProcessError)
        const json = JSON.parse(JSON.stringify(Schema.encodeUnknownSync(codec)(error)))
        const back = Schema.decodeUnknownSync(codec)(json)
        assert.instanceOf(back, ProcessError.ProcessError)
        assert.isTrue(ProcessError.isProcessError(back))
        assert.strictEqual(back.message, "process Process-1 (pid 42): killed by SIGTERM")
      }))
  })

  describe("children that never get ready", () => {
    it.live("a child that cannot be spawned (no such working directory): start fails with a SpawnError; result gives it, join is a defect, nothing hangs", () =>
      Effect.gen(function*() {
        const p = yield* Process.make(T.succeed, { args: 2, cwd: "/no/such/directory" })
        const started = reasonOf(yield* Effect.exit(Process.start(p)))
        assert.strictEqual(started._tag, "SpawnError")
        assert.strictEqual(reasonOf(yield* Effect.exit(Process.result(p)))._tag, "SpawnError")
        const joined = yield* Effect.exit(Process.join(p))
        assert.isTrue(Exit.isFailure(joined) && Cause.hasDies(joined.cause), "joining a process that never started is a defect, as in Python")
        assert.isFalse(yield* Process.isAlive(p))
        assert.include(String(p), "stopped")
      }).pipe(Effect.scoped))

    it.live("a child that dies while loading is a SpawnError, with no hang", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(ExitsOnImport.never, { env: { EMP_CHILD_EXITS: "1" } })
        const ready = reasonOf(yield* Effect.exit(Process.ready(p))) as ProcessError.SpawnError
        assert.strictEqual(ready._tag, "SpawnError")
        assert.strictEqual(ready.exitCode, 3)
        assert.strictEqual(reasonOf(yield* Effect.exit(Process.result(p)))._tag, "SpawnError")
        assert.strictEqual(yield* Process.join(p), 3)
      }).pipe(Effect.scoped))

    it.live("a module that throws on import is a SpawnError that carries the error", () =>
      Effect.gen(function*() {
        const reason = reasonOf(
          yield* Effect.exit(Process.run(ThrowsOnImport.never, { env: { EMP_CHILD_THROWS: "1" } }))
        ) as ProcessError.SpawnError
        assert.strictEqual(reason._tag, "SpawnError")
        assert.include(reason.message, "cannot load this module")
      }))

    it.live("a target its module does not define is a SpawnError", () =>
      Effect.gen(function*() {
        const ghost = Target.make("ghost", {
          module: new URL("./fixtures/exits-on-import.ts", import.meta.url),
          run: () => Effect.void
        })
        const reason = reasonOf(yield* Effect.exit(Process.run(ghost))) as ProcessError.SpawnError
        assert.strictEqual(reason._tag, "SpawnError")
        assert.include(reason.message, "no target named 'ghost'")
      }))

    it.live("a child that cannot be spawned fails start with a SpawnError", () =>
      Effect.gen(function*() {
        const reason = reasonOf(
          yield* Effect.exit(Process.spawn(T.sleeper, { cwd: "/nonexistent/directory" }))
        ) as ProcessError.SpawnError
        assert.strictEqual(reason._tag, "SpawnError")
        assert.include(reason.message, "ENOENT")
      }).pipe(Effect.scoped))
  })

  describe("identity", () => {
    it.live("names count processes in creation order; kinds name theirs <Kind>-N", () =>
      Effect.gen(function*() {
        const Worker = Target.make("Worker", { module: T.sleeper.module, kind: true, run: () => Effect.void })
        const a = yield* Process.make(T.sleeper)
        const named = yield* Process.make(T.sleeper, { name: "my_service" })
        const b = yield* Process.make(Worker)
        const [, n] = /^Process-(\d+)$/.exec(a.name) ?? []
        assert.isDefined(n)
        assert.strictEqual(named.name, "my_service")
        assert.strictEqual(b.name, `Worker-${Number(n) + 2}`)
        assert.match(String(b), /^<Worker name='Worker-\d+' parent=\d+ initial>$/)
      }))

    it.live("a child knows its name, its parent, and gets env and cwd", () =>
      Effect.gen(function*() {
        const me = yield* Process.current
        assert.strictEqual(me.name, "MainProcess")
        assert.deepStrictEqual(yield* Process.parent, Option.none())
        const p = yield* Process.spawn(T.whoAmI, { name: "asker", env: { EMP_TEST_VAR: "yes" }, cwd: "/tmp" })
        const info = yield* Process.result(p)
        assert.strictEqual(info.name, "asker")
        assert.strictEqual(info.pid, p.pid)
        assert.deepStrictEqual(info.parent, { name: "MainProcess", pid: process.pid })
        assert.strictEqual(info.env, "yes")
        assert.strictEqual(info.cwd, "/tmp")
      }).pipe(Effect.scoped))

    it.live("execArgv: the parent's module-loading flags by default, or exactly what is given", () =>
      Effect.gen(function*() {
        const saved = process.execArgv
        try {
          Object.defineProperty(process, "execArgv", {
            value: ["--inspect=0", "--stack-size=2000", "--inspect-brk", "--debug-port=9999"],
            configurable: true
          })
          assert.deepStrictEqual(Process.defaultExecArgv(), [])
        } finally {
          Object.defineProperty(process, "execArgv", { value: saved, configurable: true })
        }
        const given = yield* Process.run(T.execArgv, { execArgv: ["--max-old-space-size=200"] })
        assert.deepStrictEqual(given, ["--max-old-space-size=200"])
      }))

    it.live("a child's children are named after it (Process-N:1)", () =>
      Effect.gen(function*() {
        const p = yield* Process.spawn(T.spawnsChild)
        const result = yield* Process.result(p)
        assert.strictEqual(result.grandchild, `${p.name}:1 of ${p.name}`)
      }).pipe(Effect.scoped))

    it.live("activeChildren lists started children until they are reaped", () =>
      Effect.gen(function*() {
        // A daemon: were a check to fail before the kill, the scope would not wait for it forever.
        const p = yield* Process.spawn(T.sleeper, { daemon: true })
        assert.isTrue((yield* Process.activeChildren).includes(p as Process.Process<unknown, unknown>))
        yield* Process.kill(p)
        yield* Process.join(p)
        assert.isFalse((yield* Process.activeChildren).includes(p as Process.Process<unknown, unknown>))
        assert.isAtLeast(yield* Process.cpuCount, 1)
      }).pipe(Effect.scoped))
  })

  describe("logging", () => {
    it.live("join returns only after the child's last logs were emitted", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 5; i++) {
          const { layer, logs } = capture()
          const p = yield* Process.spawn(T.logs).pipe(Effect.provide(layer))
          yield* Process.join(p)
          assert.isTrue(logs.some((log) => JSON.stringify(log.message).includes("hello from the child")), `run ${i}`)
        }
      }).pipe(Effect.scoped))

    it.live("a child's logs reach the parent's logger with level, annotations, name and pid", () =>
      Effect.gen(function*() {
        const { layer, logs } = capture()
        const p = yield* Process.spawn(T.logs, { name: "chatty" }).pipe(Effect.provide(layer))
        yield* Process.result(p)
        const log = logs.find((log) => JSON.stringify(log.message).includes("hello from the child"))
        assert.isDefined(log)
        assert.strictEqual(log!.level, "Warn")
        assert.deepStrictEqual(log!.message, ["hello from the child", { n: 1 }])
        assert.strictEqual(log!.annotations["requestId"], "abc")
        assert.strictEqual(log!.annotations["processName"], "chatty")
        assert.strictEqual(log!.annotations["pid"], p.pid)
      }).pipe(Effect.scoped))
  })
})
