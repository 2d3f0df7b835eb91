import * as Fs from "node:fs"
import * as Os from "node:os"
import { assert, describe, it } from "@effect/vitest"
import * as AckFile from "../src/internal/ackFile.ts"

describe("the acknowledgements file", () => {
  it("gives each whole entry once, keeps a line still being written, drops one cut short", () => {
    const file = AckFile.create()
    assert.isDefined(file)
    const { childEnd, reader } = file!
    try {
      assert.deepStrictEqual(reader.drain(), [], "nothing yet")
      Fs.writeSync(childEnd, "1;\n2;\n3")
      assert.deepStrictEqual(reader.drain(), [1, 2], "the third entry is not whole yet")
      Fs.writeSync(childEnd, ";\n")
      assert.deepStrictEqual(reader.drain(), [3], "now it is, and 1 and 2 are not given again")
      // A writer that failed midway ends its line without the ';': that entry does not count.
      Fs.writeSync(childEnd, "45\n6;\n")
      assert.deepStrictEqual(reader.drain(), [6])
      // Past the 64 KiB read buffer.
      const many = Array.from({ length: 20_000 }, (_, i) => i + 10)
      Fs.writeSync(childEnd, many.map((id) => `${id};\n`).join(""))
      assert.deepStrictEqual(reader.drain(), many)
    } finally {
      Fs.closeSync(childEnd)
      reader.close()
    }
  })

  it("past the limit, gives the child a new file, and moves to it at the old file's end", () => {
    const { childEnd, reader } = AckFile.create()!
    AckFile.setLimit(8)
    try {
      Fs.writeSync(childEnd, "1;\n2;\n")
      assert.deepStrictEqual(reader.drain(), [1, 2])
      assert.isUndefined(reader.nextFile(), "6 bytes read: under the limit")
      Fs.writeSync(childEnd, "3;\n")
      assert.deepStrictEqual(reader.drain(), [3])
      const path = reader.nextFile()
      assert.isDefined(path)
      assert.isUndefined(reader.nextFile(), "one switch at a time")
      // What the child does: open the new file, unlink it, end the old one, append to the new.
      const next = Fs.openSync(path!, "a")
      Fs.rmSync(path!)
      Fs.writeSync(childEnd, "4;\nend\n")
      Fs.writeSync(next, "5;\n")
      assert.deepStrictEqual(reader.drain(), [4, 5], "the old file to its end, then the new one")
      Fs.writeSync(next, "6;\n")
      assert.deepStrictEqual(reader.drain(), [6])
      Fs.closeSync(next)
    } finally {
      AckFile.setLimit(1024 * 1024)
      Fs.closeSync(childEnd)
      reader.close()
    }
  })

  it("leaves no file behind: it is unlinked as soon as both ends are open", () => {
    const before = new Set(Fs.readdirSync(Os.tmpdir()).filter((f) => f.includes("-acks-")))
    const file = AckFile.create()!
    const after = Fs.readdirSync(Os.tmpdir()).filter((f) => f.includes("-acks-") && !before.has(f))
    assert.deepStrictEqual(after, [])
    Fs.closeSync(file.childEnd)
    file.reader.close()
  })
})
