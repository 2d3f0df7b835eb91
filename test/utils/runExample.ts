/**
 * Running an example as a real program (`node examples/<file>` from the repository root),
 * for the examples' tests.
 */
import * as ChildProcess from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"

const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Run {
  readonly pid: number
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: ReadonlyArray<string>
  readonly stderr: ReadonlyArray<string>
  /** Seconds from spawn until every holder of the example's stdout/stderr (its children too) closed them. */
  readonly wall: number
}

const lines = (text: string): ReadonlyArray<string> => text === "" ? [] : text.replace(/\n$/, "").split("\n")

/**
 * Runs an example to its end. It waits for `close`, not `exit`: a child that outlived
 * the example would still hold the pipes, so its late output is caught too.
 */
export const runExample = (file: string) => runProgram(`examples/${file}`)

/** Runs `node <path>` (relative to the repository root, or absolute) as `runExample` does, with `env` added to ours. */
export const runProgram = (path: string, options?: { readonly env?: Record<string, string> | undefined }) =>
  Effect.callback<Run>((resume) => {
    const started = performance.now()
    const child = ChildProcess.spawn(process.execPath, [path], {
      cwd: root,
      env: { ...process.env, ...options?.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout += chunk)
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr += chunk)
    child.once("error", (error) => resume(Effect.die(error)))
    child.once("close", (code, signal) =>
      resume(Effect.succeed({
        pid: child.pid!,
        code,
        signal,
        stdout: lines(stdout),
        stderr: lines(stderr),
        wall: (performance.now() - started) / 1000
      })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
