/**
 * Runs the seed examples as real programs (`node examples/NN-name.ts` from the
 * repository root) and checks what must hold on every run, per the table in the seed's
 * README. Output order between processes is racy, as in Python: only the listed
 * properties are asserted, and timings only as lower bounds.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type Run, runExample } from "./utils/runExample.ts"

/** Exit status 0, and the whole run printed for the failure message. */
const assertSuccess = (run: Run) =>
  assert.deepStrictEqual(
    { code: run.code, signal: run.signal },
    { code: 0, signal: null },
    `stdout:\n${run.stdout.join("\n")}\nstderr:\n${run.stderr.join("\n")}`
  )

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

describe("seed examples", () => {
  it.live("01: five workers started and never joined all print, and the program exits 0", () =>
    Effect.gen(function*() {
      const run = yield* runExample("01-simple-process.ts")
      assertSuccess(run)
      assert.deepStrictEqual(sorted(run.stdout), [0, 1, 2, 3, 4].map((i) => `Worker: ${i}`))
      assert.deepStrictEqual(run.stderr, [])
    }))

  it.live("02: names follow creation order (the unnamed one is Process-3), and the program waits for my_service", () =>
    Effect.gen(function*() {
      const run = yield* runExample("02-current-process.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stderr, [])
      const names = ["worker 1", "Process-3", "my_service"]
      assert.deepStrictEqual(
        sorted(run.stdout),
        sorted(names.flatMap((name) => [`${name} Starting`, `${name} Exiting`]))
      )
      const lastStarting = Math.max(...names.map((name) => run.stdout.indexOf(`${name} Starting`)))
      const firstExiting = Math.min(...names.map((name) => run.stdout.indexOf(`${name} Exiting`)))
      assert.isBelow(lastStarting, firstExiting, "every Starting comes before every Exiting")
      assert.strictEqual(run.stdout[run.stdout.length - 1], "my_service Exiting")
      // my_service sleeps 3 s and is never joined explicitly: the parent waited for it.
      assert.isAtLeast(run.wall, 3)
    }))

  it.live("03: join with a timeout returns while the daemon runs, and the daemon is terminated at the end", () =>
    Effect.gen(function*() {
      const run = yield* runExample("03-daemon-join-timeout.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stderr, [])
      assert.include(run.stdout, "d.is_alive() true")
      // The daemon sleeps 2 s before this line; runExample waits for every holder of the
      // pipe, so a daemon that outlived the program would have printed it.
      assert.notInclude(run.stdout, "Exiting : daemon")
      const allowed = ["Starting: daemon", "Starting: non-daemon", "Exiting : non-daemon", "d.is_alive() true"]
      for (const line of run.stdout) assert.include(allowed, line)
      const starting = run.stdout.indexOf("Starting: non-daemon")
      assert.isAbove(starting, -1)
      assert.isBelow(starting, run.stdout.indexOf("Exiting : non-daemon"))
    }))

  it.live("03b: a daemon never joined is terminated at the end, the non-daemon is waited for", () =>
    Effect.gen(function*() {
      const run = yield* runExample("03b-daemon-no-join.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stderr, [])
      const pids = run.stdout.map((line) => Number(/ (\d+)$/.exec(line)?.[1]))
      for (const pid of pids) assert.isTrue(pid > 0 && pid !== run.pid, `a child's pid in ${run.stdout}`)
      const out = run.stdout.map((line) => line.replace(/ \d+$/, ""))
      assert.deepStrictEqual(out.slice(-2), ["Starting: non-daemon", "Exiting : non-daemon"])
      // The daemon may be terminated before it prints anything on a slow machine.
      const before = out.slice(0, -2)
      assert.isTrue(before.length === 0 || (before.length === 1 && before[0] === "Starting: daemon"), out.join("\n"))
      assert.isAtLeast(run.wall, 1)
    }))

  it.live("04: the handle prints like Python's repr before start, while running, after terminate and after join", () =>
    Effect.gen(function*() {
      const run = yield* runExample("04-terminate.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stderr, [])
      const out = run.stdout.filter((line) => line !== "Starting worker" && line !== "Finished worker")
      assert.strictEqual(out.length, 4, out.join("\n"))
      const parent = `parent=${run.pid}`
      assert.strictEqual(out[0], `BEFORE: <Process name='Process-1' ${parent} initial> false`)
      const during = new RegExp(`^DURING: <Process name='Process-1' pid=(\\d+) ${parent} started> true$`).exec(out[1]!)
      assert.isNotNull(during, out[1])
      const pid = during![1]!
      assert.match(out[2]!, new RegExp(`^TERMINATED: <Process name='Process-1' pid=${pid} ${parent} started> (true|false)$`))
      assert.strictEqual(out[3], `JOINED: <Process name='Process-1' pid=${pid} ${parent} stopped exitcode=-SIGTERM> false`)
    }))

  it.live("05: exit codes are 1, 0, 0, 1 and -15, and the uncaught error's stack is on stderr", () =>
    Effect.gen(function*() {
      const run = yield* runExample("05-exitcode.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stdout, [
        "Starting process for exit_error",
        "Starting process for exit_ok",
        "Starting process for return_value",
        "Starting process for raises",
        "Starting process for terminated",
        "     exit_error.exitcode = 1",
        "        exit_ok.exitcode = 0",
        "   return_value.exitcode = 0",
        "         raises.exitcode = 1",
        "     terminated.exitcode = -15"
      ])
      // Only `raises` prints: a header, the error, its stack frames. `Process.exit(1)` is quiet, as `sys.exit(1)` is.
      const [header, error, ...frames] = run.stderr
      assert.strictEqual(header, "Process raises:", run.stderr.join("\n"))
      assert.strictEqual(error, "Error: There was an error!")
      assert.isAbove(frames.length, 0)
      for (const frame of frames) assert.match(frame, /^\s+at /)
      assert.isTrue(frames.some((frame) => frame.includes("examples/05-exitcode.ts")), frames.join("\n"))
    }))

  it.live("06: log_to_stderr prints the child's lifecycle as [INFO/Process-1], then the main process's shutdown", () =>
    Effect.gen(function*() {
      const run = yield* runExample("06-logging.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stdout, ["Doing some work"])
      assert.deepStrictEqual(run.stderr, [
        "[INFO/Process-1] child process calling worker()",
        "[INFO/Process-1] process shutting down",
        "[INFO/Process-1] process exiting with exitcode 0",
        "[INFO/MainProcess] process shutting down"
      ])
    }))

  it.live("07: a kind of process names its instances Worker-1 … Worker-5", () =>
    Effect.gen(function*() {
      const run = yield* runExample("07-subclass.ts")
      assertSuccess(run)
      assert.deepStrictEqual(run.stderr, [])
      assert.deepStrictEqual(sorted(run.stdout), [1, 2, 3, 4, 5].map((i) => `In Worker-${i}`))
    }))

  it.live("the README's quick start: a typed result, the target's own error, exit code 0", () =>
    Effect.gen(function*() {
      const run = yield* runExample("square.ts")
      assertSuccess(run)
      assert.strictEqual(run.stdout.length, 2, run.stdout.join("\n"))
      assert.match(run.stdout[0]!, /^144 0 <Process name='Process-1' pid=\d+ parent=\d+ stopped exitcode=0>$/)
      assert.strictEqual(run.stdout[1], "-5000")
      assert.deepStrictEqual(run.stderr, [], "a typed failure is not printed as a crash")
    }))

  it.live("11: a pool counts primes with a progress bar that rises to 200/200", () =>
    Effect.gen(function*() {
      const run = yield* runExample("11-pool-progress.ts")
      assertSuccess(run)
      assert.strictEqual(run.stdout.length, 1)
      assert.match(run.stdout[0]!, /^148933 primes below 2000000 \(\d+ workers, \d+ ms\)$/)
      const progress = run.stderr.map((line) => Number(/(\d+)\/200$/.exec(line)?.[1]))
      assert.isTrue(progress.every((n) => Number.isInteger(n)), run.stderr.join("\n"))
      assert.deepStrictEqual(progress, [...progress].sort((a, b) => a - b), "the bar only rises")
      assert.strictEqual(progress.at(-1), 200)
    }))
})
