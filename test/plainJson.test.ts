import { assert, describe, it } from "@effect/vitest"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as PlainJson from "../src/internal/plainJson.ts"

class Point extends Schema.Class<Point>("Point")({ x: Schema.Number }) {}

/** Each Schema with values that are their own JSON under it, and values that are not. */
const cases: ReadonlyArray<{
  readonly name: string
  readonly schema: Schema.Codec<any, any>
  readonly plain: ReadonlyArray<unknown>
  readonly notPlain: ReadonlyArray<unknown>
}> = [
  { name: "String", schema: Schema.String, plain: ["", "a\nb"], notPlain: [1, null, undefined] },
  {
    name: "Number",
    schema: Schema.Number,
    plain: [0, -1.5, Number.MAX_VALUE],
    notPlain: [NaN, Infinity, -Infinity, "1", undefined]
  },
  { name: "Boolean", schema: Schema.Boolean, plain: [true, false], notPlain: [0, "true"] },
  { name: "Null", schema: Schema.Null, plain: [null], notPlain: [undefined, 0] },
  { name: "Literals", schema: Schema.Literals(["a", 1, true]), plain: ["a", 1, true], notPlain: ["b", 2, false] },
  {
    name: "a union of leaves",
    schema: Schema.Union([Schema.String, Schema.Number, Schema.Null]),
    plain: ["x", 2, null],
    notPlain: [NaN, true, {}]
  },
  {
    name: "Array",
    schema: Schema.Array(Schema.Number),
    plain: [[], [1, 2, 3]],
    notPlain: [[1, NaN], [1, "2"], { length: 0 }, [1, , 3]] // eslint-disable-line no-sparse-arrays
  },
  {
    name: "Tuple",
    schema: Schema.Tuple([Schema.Number, Schema.String]),
    plain: [[1, "a"]],
    notPlain: [[1], [1, "a", 2], ["a", 1]]
  },
  {
    name: "Int (a refinement: its filter is part of the check)",
    schema: Schema.Int,
    plain: [0, -3, 2 ** 40],
    notPlain: [1.5, NaN, "1"]
  },
  {
    name: "refinements inside a struct and on an array",
    schema: Schema.Struct({
      n: Schema.Int,
      name: Schema.String.check(Schema.isMinLength(1)),
      tags: Schema.Array(Schema.Int).check(Schema.isMinLength(1))
    }),
    plain: [{ n: 1, name: "a", tags: [2] }],
    notPlain: [
      { n: 1.5, name: "a", tags: [2] },
      { n: 1, name: "", tags: [2] },
      { n: 1, name: "a", tags: [] },
      { n: 1, name: "a", tags: [2.5] }
    ]
  },
  {
    name: "Struct",
    schema: Schema.Struct({ a: Schema.Number, b: Schema.optionalKey(Schema.String), c: Schema.Array(Schema.Boolean) }),
    plain: [{ a: 1, c: [] }, { a: 1, b: "x", c: [true] }, Object.assign(Object.create(null), { a: 1, c: [] })],
    notPlain: [
      { a: 1 }, // c missing
      { a: 1, c: [], d: 2 }, // a key decoding would drop
      { a: 1, b: undefined, c: [] }, // undefined is not a string
      { a: NaN, c: [] },
      new (class {
        a = 1
        c = []
      })(),
      [1]
    ]
  }
]

describe("plainJson", () => {
  for (const { name, notPlain, plain, schema } of cases) {
    it(`${name}: its values are their own JSON, and the others go through the codec`, () => {
      const check = PlainJson.check(schema.ast)
      assert.isDefined(check)
      const codec = Schema.toCodecJson(schema)
      for (const value of plain) {
        assert.isTrue(check!(value), `${JSON.stringify(value)} is plain`)
        // What the check claims: the codec gives the value back, both ways.
        const json = JSON.parse(JSON.stringify(value))
        const encoded = Schema.encodeUnknownExit(codec)(value)
        assert.deepStrictEqual(Exit.map(encoded, (e) => JSON.parse(JSON.stringify(e))), Exit.succeed(json))
        assert.deepStrictEqual(Schema.decodeUnknownExit(codec)(json), Exit.succeed(json))
      }
      for (const value of notPlain) assert.isFalse(check!(value), `${String(value)} is not plain`)
      // The whole-chunk form agrees with the check on every value, wherever the odd one is.
      const all = PlainJson.checkAll(check!)
      assert.isTrue(all(plain) && all([]))
      for (const value of notPlain) {
        for (const at of [0, plain.length]) {
          const values = [...plain.slice(0, at), value, ...plain.slice(at)]
          assert.isFalse(all(values), `${String(value)} at ${at}`)
        }
      }
    })
  }

  it("Schemas whose JSON form is not the value itself get no check", () => {
    const refused: ReadonlyArray<Schema.Top> = [
      Schema.Date,
      Schema.Void,
      Schema.Undefined,
      Schema.BigInt,
      Schema.Unknown,
      Point,
      Schema.Array(Schema.Date),
      Schema.Struct({ a: Schema.optional(Schema.Number) }), // `undefined` is not JSON
      Schema.Struct({ a: Schema.NumberFromString }),
      Schema.Union([Schema.Struct({ a: Schema.Number }), Schema.Struct({ a: Schema.Number, b: Schema.Number })]),
      Schema.Union([Schema.String, Schema.Literal("a")], { mode: "oneOf" }),
      Schema.Tuple([Schema.Number, Schema.optionalKey(Schema.Number)]),
      Schema.Record(Schema.String, Schema.Number),
      Schema.Literal(1n)
    ]
    for (const schema of refused) assert.isUndefined(PlainJson.check(schema.ast), String(schema.ast))
  })
})
