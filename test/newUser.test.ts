/**
 * A new user's first mistakes, and what they are told: a main program without its guard,
 * a target a child cannot find, a value JSON cannot carry, a relative module path.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { Process, ProcessError, ProcessQueue, Target } from "../src/index.ts"
import * as internalTarget from "../src/internal/target.ts"
import * as N from "./fixtures/newuser-targets.ts"
import { tempPath } from "./utils/files.ts"
import { runProgram } from "./utils/runExample.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs the program without its guard (see the fixture), its processes logged to `log`; stdout and stderr as text. */
const runNoGuard = (log: string, mode: "runMain" | "late" | "pool", env?: Record<string, string>) =>
  runProgram("test/fixtures/newuser-no-guard.ts", { env: { EMP_NO_GUARD_LOG: log, EMP_NO_GUARD_MODE: mode, ...env } }).pipe(
    Effect.map((ran) => ({ ...ran, stdout: ran.stdout.join("\n"), stderr: ran.stderr.join("\n") }))
  )

const pidsIn = (log: string) => Fs.readFileSync(log, "utf8").split("\n").filter(Boolean)

const occurrences = (text: string, part: string) => text.split(part).length - 1

/** The failure of an exit, or a test failure. */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  return Cause.squash((exit as Exit.Failure<A, E>).cause)
}

const reasonOf = <A, E>(exit: Exit.Exit<A, E>): ProcessError.ProcessError["reason"] => {
  const error = failureOf(exit)
  assert.isTrue(ProcessError.isProcessError(error), `expected a ProcessError, got ${String(error)}`)
  return (error as ProcessError.ProcessError).reason
}

describe("a main program without `if (import.meta.main)`", () => {
  it.live("Process.runMain at the top level: the parent fails with MissingMainGuardError, which shows the fix, once; no grandchild starts", () =>
    Effect.gen(function*() {
      const log = yield* tempPath("pids")
      const ran = yield* runNoGuard(log, "runMain")
      assert.strictEqual(ran.code, 1, ran.stderr)
      // The program, and the one child that imported its module: nothing more.
      assert.strictEqual(pidsIn(log).length, 2, `processes that loaded the module: ${pidsIn(log).join(", ")}`)
      assert.include(ran.stderr, "without the `if (import.meta.main)` guard")
      assert.include(ran.stderr, "if (import.meta.main) {\n    Process.runMain(program)\n  }")
      assert.strictEqual(occurrences(ran.stderr, "tried to start a process"), 1, `printed once:\n${ran.stderr}`)
    }).pipe(Effect.scoped))

  it.live("a spawn after the import, while the child's target runs, is refused too; the parent's call fails with the typed reason", () =>
    Effect.gen(function*() {
      const log = yield* tempPath("pids")
      const ran = yield* runNoGuard(log, "late")
      assert.strictEqual(ran.code, 1, ran.stderr)
      assert.strictEqual(pidsIn(log).length, 2, `processes that loaded the module: ${pidsIn(log).join(", ")}`)
      assert.include(ran.stdout.split("\n"), `${ran.pid} failed: ProcessError MissingMainGuardError`, ran.stdout)
      assert.strictEqual(ran.stderr, "", "the child says nothing of its own: the parent's error says it")
    }).pipe(Effect.scoped))

  it.live("a pool whose workers import the module: the task fails with the guard's message, no worker spawns", () =>
    Effect.gen(function*() {
      const log = yield* tempPath("pids")
      const ran = yield* runNoGuard(log, "pool")
      assert.strictEqual(ran.code, 1, ran.stderr)
      assert.notInclude(ran.stdout, "doubled")
      assert.include(ran.stderr, "ProcessPoolError")
      assert.include(ran.stderr, "without the `if (import.meta.main)` guard")
      assert.include(ran.stderr, "its target 'double'")
      // The program and the one worker that imported the module for its task.
      assert.strictEqual(pidsIn(log).length, 2, `processes that loaded the module: ${pidsIn(log).join(", ")}`)
    }).pipe(Effect.scoped))

  it.live("EFFECT_MULTIPROCESSING_CHILD_STDERR=1 asks the child to print why it could not start, too", () =>
    Effect.gen(function*() {
      const log = yield* tempPath("pids")
      const ran = yield* runNoGuard(log, "runMain", { EFFECT_MULTIPROCESSING_CHILD_STDERR: "1" })
      assert.strictEqual(ran.code, 1, ran.stderr)
      assert.include(ran.stderr, "Process Process-1:\n")
      assert.strictEqual(occurrences(ran.stderr, "tried to start a process"), 2, ran.stderr)
    }).pipe(Effect.scoped))
})

describe("errors that say how to fix them", () => {
  it.live("a target a child does not find: the message names the targets the module does define, and where to define it", () =>
    Effect.gen(function*() {
      const reason = reasonOf(yield* Effect.exit(Process.run(N.makeHello())))
      assert.strictEqual(reason._tag, "SpawnError")
      assert.include(reason.message, "defines no target named 'hello'")
      assert.include(reason.message, "(it defines 'present'")
      assert.include(reason.message, "top level")
      assert.include(reason.message, "export it")
    }))

  it("a value JSON cannot carry under Schema.Unknown: the message gives its path, what it is, and the fix", () => {
    class Point {
      x = 1
    }
    const cases: ReadonlyArray<readonly [unknown, string, string, string]> = [
      [() => 1, "a function", `["payload"]`, "a function cannot cross processes"],
      [{ n: 10n }, "a bigint", `["payload"]["n"]`, "Schema.BigInt"],
      [[new Point()], "an instance of Point", `["payload"][0]`, "Schema.Class for Point"],
      [{ m: new Map() }, "a Map", `["payload"]["m"]`, "Schema.ReadonlyMap"],
      [[1, undefined, 3], "undefined", `["payload"][1]`, "Schema.UndefinedOr"],
      [{ deep: [NaN] }, "NaN", `["payload"]["deep"][0]`, "Schema.Number"]
    ]
    const encode = internalTarget.codecs(N.takesAnything).encodeArgs
    for (const [payload, what, path, fix] of cases) {
      const message = String((failureOf(encode({ payload })) as Error).message)
      assert.include(message, `Expected JSON value, got ${what}`, message)
      assert.include(message, `at ${path}`, message)
      assert.include(message, fix, message)
      assert.include(message, "Schema.Unknown", message)
    }
  })

  it.live("arguments that are not JSON fail the spawn in the parent with that message; a success in the child too", () =>
    Effect.gen(function*() {
      const args = reasonOf(yield* Effect.exit(Process.run(N.takesAnything, { args: { payload: { f: Math.max } } })))
      assert.strictEqual(args._tag, "EncodeError")
      assert.include(args.message, `got a function (max)`)
      assert.include(args.message, `at ["payload"]["f"]`)
      const success = reasonOf(yield* Effect.exit(Process.run(N.returnsUndefined)))
      assert.strictEqual(success._tag, "EncodeError")
      assert.include(success.message, "got undefined")
      assert.include(success.message, `at ["values"]["list"][1]`, "the path from the success, not from its Exit")
    }))

  it.live("a queue item JSON cannot carry under Schema.Unknown: ItemEncodeError says what and where", () =>
    Effect.gen(function*() {
      const queue = yield* ProcessQueue.make({ item: Schema.Unknown })
      const error = yield* Effect.flip(ProcessQueue.put(queue, { tags: new Set(["a"]) }))
      assert.strictEqual(error._tag, "ItemEncodeError")
      assert.include(error.message, "got a Set")
      assert.include(error.message, `at ["tags"]`)
      assert.include(error.message, "Schema.ReadonlySet")
    }).pipe(Effect.scoped))

  it("a relative module path is refused where the target is defined, with the fix", () => {
    const thrown = (() => {
      try {
        Target.make("relative", { module: "./worker.ts", run: () => Effect.void })
      } catch (error) {
        return error
      }
    })()
    assert.instanceOf(thrown, TypeError)
    assert.include((thrown as TypeError).message, "relative path")
    assert.include((thrown as TypeError).message, "module: import.meta.url")
    const absolute = Target.make("absolute", { module: Path.join(root, "test/fixtures/newuser-targets.ts"), run: () => Effect.void })
    assert.strictEqual(absolute.module, new URL("./fixtures/newuser-targets.ts", import.meta.url).href)
  })
})

