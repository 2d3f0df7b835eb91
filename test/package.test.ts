import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as NodeVersion from "../src/internal/nodeVersion.ts"

const root = Path.resolve(import.meta.dirname, "..")

const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  ChildProcess.execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

/** Runs to the end whatever the exit status, and says how it ended. */
const runAll = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  const result = ChildProcess.spawnSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/**
 * A Node.js older than we support, to check that it is refused: `EMP_OLD_NODE`, or a
 * `node` on PATH older than the minimum (many machines' default is still Node 20).
 */
const oldNode = ((): string | undefined => {
  const candidates = [process.env["EMP_OLD_NODE"], ...(process.env["PATH"] ?? "").split(Path.delimiter).map((dir) => Path.join(dir, "node"))]
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === "" || !Fs.existsSync(candidate)) continue
    const version = runAll(candidate, ["-p", "process.versions.node"], root).stdout.trim()
    if (version !== "" && NodeVersion.unsupported(version, candidate) !== undefined) return candidate
  }
  return undefined
})()
const noOldNode = "no Node.js older than 22.19 on PATH (or in EMP_OLD_NODE): the refusal on an old Node is not checked"

/**
 * `npm pack` of a copy of the package's sources in a fresh directory, unpacked as an
 * installed `node_modules/effect-multiprocessing` of a project next to it. The copy is
 * packed, not this checkout: `prepack` rebuilds `dist/`, and two suites running at once in
 * one checkout would delete each other's build.
 */
const packedProject = (): { readonly project: string; readonly installed: string; readonly listing: ReadonlyArray<string> } => {
  const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "emp-pack-"))
  const source = Path.join(work, "source")
  const project = Path.join(work, "project")
  for (const entry of ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "CHANGELOG.md", "LICENSE", "src"]) {
    Fs.cpSync(Path.join(root, entry), Path.join(source, entry), { recursive: true })
  }
  Fs.symlinkSync(Path.join(root, "node_modules"), Path.join(source, "node_modules"))
  Fs.mkdirSync(project)
  // `npm pack` builds dist/ (prepack) and prints the tarball's name last.
  const npm = Path.join(Path.dirname(process.execPath), "npm")
  const packed = run(Fs.existsSync(npm) ? npm : "npm", ["pack", "--silent", "--pack-destination", project], source)
  const tarball = Path.join(project, packed.trim().split("\n").pop()!)
  const listing = run("tar", ["-tzf", tarball], project).trim().split("\n")
  const installed = Path.join(project, "node_modules", "effect-multiprocessing")
  Fs.mkdirSync(installed, { recursive: true })
  run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"], project)
  // The peer dependency, from our own install: no network needed.
  Fs.symlinkSync(Path.join(root, "node_modules", "effect"), Path.join(project, "node_modules", "effect"))
  Fs.writeFileSync(Path.join(project, "package.json"), JSON.stringify({ type: "module" }))
  return { project, installed, listing }
}

const removeProject = (project: string) => Fs.rmSync(Path.dirname(project), { recursive: true, force: true })

const squareProgram = `import { Effect, Schema } from "effect"
import { Process, Target } from "effect-multiprocessing"

export const square = Target.make("square", {
  module: import.meta.url,
  args: Schema.Number,
  success: Schema.Number,
  run: (n) => Effect.succeed(n * n)
})

if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const p = yield* Process.spawn(square, { args: 12 })
    console.log(yield* Process.result(p))
  }))
}
`

describe("the published package", () => {
  it("npm pack gives a package, with its LICENSE and CHANGELOG, that a plain JavaScript project can import and run; an old Node is refused at import", () => {
    const { installed, listing, project } = packedProject()
    try {
      for (const file of ["LICENSE", "CHANGELOG.md", "README.md", "dist/index.js", "dist/index.d.ts"]) {
        assert.include(listing, `package/${file}`, `${file} is in the tarball`)
      }
      assert.include(Fs.readFileSync(Path.join(installed, "LICENSE"), "utf8"), "MIT License")
      Fs.writeFileSync(Path.join(project, "main.js"), squareProgram)
      Fs.writeFileSync(Path.join(project, "app.mjs"), squareProgram)
      assert.strictEqual(run(process.execPath, ["main.js"], project), "144\n")
      if (oldNode !== undefined) {
        // Before: exit 0 and no output (`import.meta.main` is undefined on Node 20).
        const old = runAll(oldNode, ["app.mjs"], project)
        assert.notStrictEqual(old.status, 0, "an old Node fails")
        assert.strictEqual(old.stdout, "")
        assert.include(old.stderr, "effect-multiprocessing needs Node.js 22.19 or later")
        assert.include(old.stderr, "npx -y -p node@24 -- node")
      }
    } finally {
      removeProject(project)
    }
  })

  it.skipIf(oldNode === undefined)(`npm test refuses to start on an old Node, saying what it needs (${oldNode === undefined ? noOldNode : oldNode})`, () => {
    const script = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")).scripts.test as string
    assert.match(script, /^node scripts\/check-node\.mjs && /, "the check runs first")
    const old = runAll(oldNode!, ["scripts/check-node.mjs"], root)
    assert.strictEqual(old.status, 1)
    assert.include(old.stderr, "needs Node.js 22.19 or later")
    assert.include(old.stderr, "npx -y -p node@24 -- npm test")
    assert.strictEqual(runAll(process.execPath, ["scripts/check-node.mjs"], root).status, 0, "this Node passes")
  })

  it("the library's minimum Node is the one package.json's engines declares", () => {
    const engines = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")).engines.node as string
    assert.strictEqual(engines, `>=${NodeVersion.minimum.major}.${NodeVersion.minimum.minor}`)
    assert.isUndefined(NodeVersion.unsupported("22.19.0", "node"))
    assert.isUndefined(NodeVersion.unsupported("24.0.0", "node"))
    assert.isDefined(NodeVersion.unsupported("22.18.9", "node"))
    assert.isDefined(NodeVersion.unsupported("20.20.2", "node"))
  })
})
