import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"

const root = Path.resolve(import.meta.dirname, "..")

const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  ChildProcess.execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

describe("the published package", () => {
  it("npm pack gives a package that a plain JavaScript project can import and run", () => {
    const project = Fs.mkdtempSync(Path.join(Os.tmpdir(), "emp-pack-"))
    try {
      // `npm pack` builds dist/ (prepack) and prints the tarball's name last.
      const npm = Path.join(Path.dirname(process.execPath), "npm")
      const packed = run(Fs.existsSync(npm) ? npm : "npm", ["pack", "--silent", "--pack-destination", project], root)
      const tarball = Path.join(project, packed.trim().split("\n").pop()!)
      const installed = Path.join(project, "node_modules", "effect-multiprocessing")
      Fs.mkdirSync(installed, { recursive: true })
      run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"], project)
      // The peer dependency, from our own install: no network needed.
      Fs.symlinkSync(Path.join(root, "node_modules", "effect"), Path.join(project, "node_modules", "effect"))
      Fs.writeFileSync(Path.join(project, "package.json"), JSON.stringify({ type: "module" }))
      Fs.writeFileSync(
        Path.join(project, "main.js"),
        `import { Effect, Schema } from "effect"
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
      )
      assert.isTrue(Fs.existsSync(Path.join(installed, "dist", "index.d.ts")), "types are shipped")
      assert.strictEqual(run(process.execPath, ["main.js"], project), "144\n")
    } finally {
      Fs.rmSync(project, { recursive: true, force: true })
    }
  })
})
