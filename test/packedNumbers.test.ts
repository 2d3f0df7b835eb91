import { assert, describe, it } from "@effect/vitest"
import * as PackedNumbers from "../src/internal/packedNumbers.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Through the wire as a channel sends it: packed, then JSON text, then parsed and unpacked. */
const roundTrip = (values: ReadonlyArray<unknown>) =>
  PackedNumbers.unpack(JSON.parse(JSON.stringify(PackedNumbers.pack(values))))

describe("packedNumbers", () => {
  it("integers go as an Int32Array, to the bounds of int32, and come back the same", () => {
    const values = [...range(100).map((i) => i * 1000 - 50_000), 2 ** 31 - 1, -(2 ** 31)]
    const packed = PackedNumbers.pack(values)
    assert.property(packed, "i32")
    assert.deepStrictEqual(roundTrip(values), values)
  })

  it("other finite numbers go as a Float64Array, exactly", () => {
    const values = [...range(100).map((i) => i * i * 1e6 + 0.5), 2 ** 31, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300]
    assert.property(PackedNumbers.pack(values), "f64")
    assert.deepStrictEqual(roundTrip(values), values)
  })

  it("-0 comes back as 0, as through JSON", () => {
    for (const fill of [1, 0.5]) {
      const values = [...range(99).map(() => fill), -0]
      const back = roundTrip(values) as Array<number>
      assert.isTrue(Object.is(back[99], 0), `with ${fill}`)
      assert.isTrue(Object.is(JSON.parse(JSON.stringify(values))[99], 0), "JSON itself")
    }
  })

  it("anything but finite numbers, or a short array, goes as it is", () => {
    for (const odd of [NaN, Infinity, "1", null, true, [1], { n: 1 }, undefined]) {
      const values = [...range(100), odd]
      assert.strictEqual(PackedNumbers.pack(values), values, String(odd))
    }
    const short = range(63)
    assert.strictEqual(PackedNumbers.pack(short), short)
    assert.property(PackedNumbers.pack(range(64)), "i32")
  })

  it("unpack leaves alone what is not a packed array: arrays, other values, malformed packs", () => {
    const array = [1, 2]
    assert.strictEqual(PackedNumbers.unpack(array), array)
    for (const u of [null, 3, "x", { other: "AAAA" }, { i32: 5 }, { i32: "AAA" }, { f64: "AAAAAAAA" }]) {
      assert.strictEqual(PackedNumbers.unpack(u), u, JSON.stringify(u))
    }
  })

  it("packs decoded into pooled and unpooled Buffers read right", () => {
    // Small Buffers share one pool (at 8-byte steps), large ones get memory of their own:
    // sizes around the pool's halfway point (4 KB) give both, each after a 1-byte allocation.
    for (const n of [64, 65, 100, 511, 512, 513, 1000]) {
      Buffer.from("A") // moves the pool's offset
      const values = range(n).map((i) => i * 1.5)
      assert.deepStrictEqual(roundTrip(values), values, `${n} numbers`)
      const ints = range(n).map((i) => i - 7)
      assert.deepStrictEqual(roundTrip(ints), ints, `${n} ints`)
    }
  })
})
