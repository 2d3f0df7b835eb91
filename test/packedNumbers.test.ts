import { assert, describe, it } from "@effect/vitest"
import * as PackedNumbers from "../src/internal/packedNumbers.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Through the wire as a channel carries it: packed, the bytes copied into memory of their own, unpacked. */
const roundTrip = (values: ReadonlyArray<unknown>) => {
  const packed = PackedNumbers.pack(values)!
  return PackedNumbers.unpack(packed.kind, Buffer.from(packed.bytes))
}

describe("packedNumbers", () => {
  it("integers go as an Int32Array, to the bounds of int32, and come back the same", () => {
    const values = [...range(100).map((i) => i * 1000 - 50_000), 2 ** 31 - 1, -(2 ** 31)]
    const packed = PackedNumbers.pack(values)
    assert.strictEqual(packed?.kind, "i32")
    assert.strictEqual(packed?.bytes.byteLength, values.length * 4)
    assert.deepStrictEqual(roundTrip(values), values)
  })

  it("other finite numbers go as a Float64Array, exactly", () => {
    const values = [...range(100).map((i) => i * i * 1e6 + 0.5), 2 ** 31, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300]
    assert.strictEqual(PackedNumbers.pack(values)?.kind, "f64")
    assert.deepStrictEqual(roundTrip(values), values)
  })

  it("-0 comes back as 0, as through JSON", () => {
    for (const fill of [1, 0.5]) {
      const values = [...range(99).map(() => fill), -0]
      const back = roundTrip(values)!
      assert.isTrue(Object.is(back[99], 0), `with ${fill}`)
      assert.isTrue(Object.is(JSON.parse(JSON.stringify(values))[99], 0), "JSON itself")
    }
  })

  it("anything but finite numbers, or a short array, is not packed", () => {
    for (const odd of [NaN, Infinity, "1", null, true, [1], { n: 1 }, undefined]) {
      assert.isUndefined(PackedNumbers.pack([...range(100), odd]), String(odd))
    }
    assert.isUndefined(PackedNumbers.pack(range(63)))
    assert.strictEqual(PackedNumbers.pack(range(64))?.kind, "i32")
  })

  it("bytes that cannot be the kind named are refused", () => {
    assert.isUndefined(PackedNumbers.unpack("i32", new Uint8Array(6)))
    assert.isUndefined(PackedNumbers.unpack("f64", new Uint8Array(12)))
    assert.deepStrictEqual(PackedNumbers.unpack("f64", new Uint8Array(0)), [])
  })

  it("bytes at any offset of their memory read right (a typed array needs an aligned view)", () => {
    for (const offset of [0, 1, 3, 4, 8]) {
      for (const values of [range(100).map((i) => i * 1.5), range(100).map((i) => i - 7)]) {
        const packed = PackedNumbers.pack(values)!
        const memory = new Uint8Array(offset + packed.bytes.byteLength)
        memory.set(packed.bytes, offset)
        const view = memory.subarray(offset)
        assert.deepStrictEqual(PackedNumbers.unpack(packed.kind, view), values, `${packed.kind} at offset ${offset}`)
      }
    }
  })
})
