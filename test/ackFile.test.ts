import * as Fs from "node:fs"
import * as Os from "node:os"
import { assert, describe, it } from "@effect/vitest"
import * as AckFile from "../src/internal/ackFile.ts"

const ackFiles = () => Fs.readdirSync(Os.tmpdir()).filter((f) => f.startsWith(`effect-multiprocessing-acks-${process.pid}-`))

describe("the acknowledgements file", () => {
  it("is made only when asked for; the writer opens and unlinks it, and each whole entry is read once", () => {
    const reader = AckFile.makeReader()
    const writer = AckFile.makeWriter()
    try {
      assert.deepStrictEqual(reader.drain(), [], "no file yet: nothing to read")
      assert.isFalse(writer.write([1]), "no file yet: the writer says so (the ids go over the channel)")
      const path = reader.nextFile()
      assert.isDefined(path)
      assert.isUndefined(reader.nextFile(), "one file at a time")
      writer.switchTo(path!)
      assert.isFalse(Fs.existsSync(path!), "unlinked as soon as the writer has it open")
      assert.isTrue(writer.write([1, 2]))
      assert.deepStrictEqual(reader.drain(), [1, 2])
      assert.isTrue(writer.write([3]))
      assert.deepStrictEqual(reader.drain(), [3], "1 and 2 are not given again")
      // Past the 64 KiB read buffer.
      const many = Array.from({ length: 20_000 }, (_, i) => i + 10)
      assert.isTrue(writer.write(many))
      assert.deepStrictEqual(reader.drain(), many)
    } finally {
      writer.close()
      reader.close()
    }
  })

  it("keeps a line still being written, and drops one cut short", () => {
    const reader = AckFile.makeReader()
    const path = reader.nextFile()!
    const fd = Fs.openSync(path, "a")
    try {
      Fs.writeSync(fd, "1;\n2;\n3")
      assert.deepStrictEqual(reader.drain(), [1, 2], "the third entry is not whole yet")
      Fs.writeSync(fd, ";\n")
      assert.deepStrictEqual(reader.drain(), [3])
      // A writer that failed midway ends its line without the ';': that entry does not count.
      Fs.writeSync(fd, "45\n6;\n")
      assert.deepStrictEqual(reader.drain(), [6])
    } finally {
      Fs.closeSync(fd)
      reader.close()
    }
  })

  it("past the limit, gives the writer a new file, and moves to it at the old file's end", () => {
    const reader = AckFile.makeReader(8)
    const writer = AckFile.makeWriter()
    try {
      writer.switchTo(reader.nextFile()!)
      writer.write([1, 2])
      assert.deepStrictEqual(reader.drain(), [1, 2])
      assert.isUndefined(reader.nextFile(), "6 bytes read: under the limit")
      writer.write([3])
      assert.deepStrictEqual(reader.drain(), [3])
      const next = reader.nextFile()
      assert.isDefined(next)
      assert.isUndefined(reader.nextFile(), "one switch at a time")
      writer.write([4])
      writer.switchTo(next!)
      writer.write([5])
      assert.deepStrictEqual(reader.drain(), [4, 5], "the old file to its end, then the new one")
      writer.write([6])
      assert.deepStrictEqual(reader.drain(), [6])
    } finally {
      writer.close()
      reader.close()
    }
  })

  it("leaves no file behind, even one the writer never got to", () => {
    const before = ackFiles().length
    const reader = AckFile.makeReader()
    assert.isDefined(reader.nextFile())
    assert.strictEqual(ackFiles().length, before + 1, "the writer has not unlinked it yet")
    reader.close()
    assert.strictEqual(ackFiles().length, before)
  })
})
