import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"

const program = Path.join(import.meta.dirname, "fixtures", "main-program.ts")

interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/** Runs the fixture program; `onStdout` may act on its output (send a signal, say). */
const runProgram = (name: string, onStdout?: (text: string, child: ChildProcess.ChildProcess) => void) =>
  new Promise<Ran>((resolve, reject) => {
    const started = Date.now()
    const child = ChildProcess.spawn(process.execPath, [program, name], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      onStdout?.(stdout, child)
    })
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }))
  })

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("Process.runMain", () => {
  it("exits 0 when the program succeeds", async () => {
    const ran = await runProgram("succeed")
    assert.strictEqual(ran.code, 0)
    assert.strictEqual(ran.stdout, "done\n")
  })

  it("exits 1 and prints the error when the program fails", async () => {
    const ran = await runProgram("fail")
    assert.strictEqual(ran.code, 1)
    assert.include(ran.stderr, "the program failed")
  })

  it("exits with n after Process.exit(n)", async () => {
    assert.strictEqual((await runProgram("exit3")).code, 3)
  })

  it("waits for non-daemon children at the end, with Python's log lines", async () => {
    const ran = await runProgram("joinsAtExit")
    assert.strictEqual(ran.code, 0)
    assert.deepStrictEqual(ran.stdout.split("\n").filter(Boolean), ["main done", "sleeper finished"])
    const lines = ran.stderr.split("\n").filter(Boolean)
    const expected = [
      "[INFO/late] child process calling sleeper()",
      "[INFO/MainProcess] process shutting down",
      "[INFO/MainProcess] calling join() for process late",
      "[INFO/late] process shutting down",
      "[INFO/late] process exiting with exitcode 0"
    ]
    for (const line of expected) assert.include(lines, line)
    assert.isBelow(lines.indexOf("[INFO/MainProcess] process shutting down"), lines.indexOf("[INFO/late] process exiting with exitcode 0"))
  })

  it("terminates daemon children at the end instead of waiting for them", async () => {
    const ran = await runProgram("daemonAtExit")
    assert.strictEqual(ran.code, 0)
    assert.strictEqual(ran.stdout, "main done\n", "the daemon never finished its sleep")
  })

  it("on SIGTERM, terminates its children and dies by SIGTERM", async () => {
    let childPid = 0
    const ran = await runProgram("waitsForSignal", (text, main) => {
      const match = /ready (\d+)/.exec(text)
      if (match && childPid === 0) {
        childPid = Number(match[1])
        main.kill("SIGTERM")
      }
    })
    assert.strictEqual(ran.signal, "SIGTERM")
    assert.notStrictEqual(childPid, 0)
    assert.isFalse(isAlive(childPid), "the child was terminated, not left behind")
    assert.notInclude(ran.stdout, "sleeper finished")
  })
})
