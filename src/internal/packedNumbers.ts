/**
 * Arrays of numbers on the wire in binary: a pool's chunk of arguments or of results that
 * holds only numbers goes as the bytes of an `Int32Array` or a `Float64Array`, a binary
 * part of its message (see channel.ts), instead of a JSON array.
 *
 * Writing a number as JSON text and reading it back is the biggest cost of a `map` over
 * numbers (see BENCHMARKS-pool.md). Both ends are processes of one machine, so the
 * platform's byte order is the same on both.
 *
 * The binary form is exact for what JSON carries: finite numbers. `-0` arrives as `0`, as
 * it would through JSON. An array with anything else in it (a string, `NaN`), or too short
 * to be worth it, goes as it is.
 */

/** Shorter arrays go as JSON: packing them would save less than it costs. */
const minLength = 64

/** The kinds of binary form: the typed array the bytes are the memory of. */
export type Kind = "i32" | "f64"

/** `values` in binary, if they are all finite numbers (and enough of them). */
export const pack = (values: ReadonlyArray<unknown>): { readonly kind: Kind; readonly bytes: Uint8Array } | undefined => {
  const n = values.length
  if (n < minLength) return undefined
  let ints = true
  for (let i = 0; i < n; i++) {
    const u = values[i]
    if (((u as number) | 0) === u) continue
    if (!Number.isFinite(u)) return undefined
    ints = false
  }
  const array = ints ? new Int32Array(n) : new Float64Array(n)
  for (let i = 0; i < n; i++) array[i] = values[i] as number
  return { kind: ints ? "i32" : "f64", bytes: new Uint8Array(array.buffer) }
}

/** The numbers `bytes` hold as a `kind`; `undefined` if they cannot be one. */
export const unpack = (kind: Kind, bytes: Uint8Array): Array<number> | undefined => {
  const width = kind === "i32" ? 4 : 8
  if (bytes.length % width !== 0) return undefined
  // A typed array's view must be aligned to its width: the channel gives each part memory
  // of its own, so this copy is only in case it stops.
  if (bytes.byteOffset % 8 !== 0) bytes = new Uint8Array(bytes)
  const n = bytes.length / width
  const array = kind === "i32" ? new Int32Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.buffer, bytes.byteOffset, n)
  const values = new Array<number>(n)
  // `+ 0` turns `-0` into `0`, as JSON would.
  for (let i = 0; i < n; i++) values[i] = array[i]! + 0
  return values
}
