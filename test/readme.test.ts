/**
 * Every ```ts block of README.md is a complete program: written as a module of its own
 * (named by a first line `// name.ts`, so that another block can import it), type-checked
 * with the project's settings, and run with this Node; it must exit 0. Where the README
 * shows what a block prints (a ```text block right after it, introduced by nothing or a
 * line ending in `:`), each of those lines must appear in its stdout, in that order (`…`
 * stands for anything). `effect-multiprocessing` is this checkout's `src/index.ts`.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { runProgram } from "./utils/runExample.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

export interface Block {
  readonly file: string
  readonly code: string
  /** The lines the README says it prints, if it says. */
  readonly output: ReadonlyArray<string> | undefined
  /** Its line in README.md, for messages. */
  readonly line: number
}

/** The ```ts blocks of a Markdown text, each with the output shown after it. */
export const blocks = (markdown: string): ReadonlyArray<Block> => {
  const fences = [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({
    lang: match[1]!,
    body: match[2]!,
    start: match.index,
    end: match.index + match[0].length
  }))
  const found: Array<Block> = []
  fences.forEach((fence, i) => {
    if (fence.lang !== "ts") return
    const next = fences[i + 1]
    const between = next === undefined ? "" : markdown.slice(fence.end, next.start).trim()
    const shows = next !== undefined && next.lang === "text" && (between === "" || (!between.includes("\n") && between.endsWith(":")))
    const named = /^\/\/ ([\w-]+\.ts)\n/.exec(fence.body)
    found.push({
      file: named?.[1] ?? `block-${found.length + 1}.ts`,
      code: fence.body,
      output: shows ? next.body.replace(/\n$/, "").split("\n") : undefined,
      line: markdown.slice(0, fence.start).split("\n").length
    })
  })
  return found
}

/** Whether `expected` (with `…` for anything) appear in `actual`, in order. */
export const inOrder = (expected: ReadonlyArray<string>, actual: ReadonlyArray<string>): boolean => {
  let at = 0
  for (const line of expected) {
    const pattern = new RegExp(`^${line.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
    while (at < actual.length && !pattern.test(actual[at]!)) at++
    if (at === actual.length) return false
    at++
  }
  return true
}

const readme = blocks(Fs.readFileSync(Path.join(root, "README.md"), "utf8"))

/** The blocks as modules in a fresh folder of `scratch/` (git ignores it; inside the checkout, so `effect` resolves). */
const writeBlocks = (): string => {
  Fs.mkdirSync(Path.join(root, "scratch"), { recursive: true })
  const dir = Fs.mkdtempSync(Path.join(root, "scratch", "readme-"))
  const index = Path.relative(dir, Path.join(root, "src", "index.ts"))
  for (const block of readme) {
    Fs.writeFileSync(Path.join(dir, block.file), block.code.replaceAll(`from "effect-multiprocessing"`, `from "${index}"`))
  }
  Fs.writeFileSync(
    Path.join(dir, "tsconfig.json"),
    JSON.stringify({ extends: Path.relative(dir, Path.join(root, "tsconfig.json")), include: ["*.ts"] })
  )
  return dir
}

describe("README.md", () => {
  it("has ts blocks, each with its own file name", () => {
    assert.isAbove(readme.length, 0)
    const files = readme.map((block) => block.file)
    assert.deepStrictEqual([...new Set(files)], files, "two blocks would be the same module")
  })

  it("every command of its sh blocks names a script or file that exists", () => {
    const markdown = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
    const scripts = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")).scripts as Record<string, string>
    const commands = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((match) =>
      match[1]!.split("\n").map((line) => line.replace(/#.*$/, "").trim()).filter(Boolean)
    )
    assert.isAbove(commands.length, 0)
    for (const command of commands) {
      const [tool, verb, arg] = command.split(/\s+/)
      if (tool === "npm" && verb === "run") assert.property(scripts, arg!, command)
      else if (tool === "npm" && verb !== "ci") assert.property(scripts, verb!, command)
      else if (tool === "node") assert.isTrue(Fs.existsSync(Path.join(root, verb!)), command)
      else assert.strictEqual(command, "npm ci", `a command this test does not know: ${command}`)
    }
  })

  it("the output matcher takes the lines in order, … for anything", () => {
    assert.isTrue(inOrder(["a …", "c"], ["x", "a 1 2", "b", "c"]))
    assert.isFalse(inOrder(["c", "a …"], ["a 1", "c"]))
    assert.isFalse(inOrder(["a (1)"], ["a 1"]))
  })

  it.live("every ts block type-checks, runs, exits 0, and prints what the README says it prints", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(writeBlocks),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const tsc = ChildProcess.spawnSync(Path.join(root, "node_modules", ".bin", "tsc"), ["-p", dir], {
        cwd: root,
        encoding: "utf8"
      })
      assert.strictEqual(tsc.status, 0, `README blocks do not type-check:\n${tsc.stdout}${tsc.stderr}`)
      for (const block of readme) {
        const ran = yield* runProgram(Path.join(dir, block.file))
        const shown = `README.md:${block.line} (${block.file})\nstdout:\n${ran.stdout.join("\n")}\nstderr:\n${ran.stderr.join("\n")}`
        assert.deepStrictEqual({ code: ran.code, signal: ran.signal }, { code: 0, signal: null }, shown)
        if (block.output !== undefined) {
          assert.isTrue(inOrder(block.output, ran.stdout), `expected, in order:\n${block.output.join("\n")}\n${shown}`)
        }
      }
    }).pipe(Effect.scoped))
})
