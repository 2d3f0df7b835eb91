/**
 * What JSON cannot carry, said where it is and what to do. A value under `Schema.Unknown`
 * (or `Any`, or a declared type with no encoding) must be JSON to cross processes, and
 * Effect's codec says only `Expected JSON value` at the Schema's path, whatever was wrong
 * deep inside. This finds the first value that is not JSON below that path, and says what
 * it is and which Schema would carry it.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

/** A value that JSON cannot carry, found at `path` below where the search began. */
export interface Found {
  readonly path: ReadonlyArray<PropertyKey>
  readonly what: string
  readonly fix: string
}

const declare = (schema: string) => `declare a Schema for it (${schema}) instead of Schema.Unknown`

/** The first value that is not JSON in `value` (depth first), or `undefined` if it is all JSON. */
export const find = (value: unknown): Found | undefined => search(value, [], new Set())

const search = (value: unknown, path: Array<PropertyKey>, seen: Set<object>): Found | undefined => {
  const here = (what: string, fix: string): Found => ({ path: [...path], what, fix })
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : here(String(value), declare("Schema.Number, which carries it as a string"))
    case "undefined":
      return here("undefined", declare("Schema.Undefined, Schema.UndefinedOr(...) or Schema.optional(...)"))
    case "bigint":
      return here("a bigint", declare("Schema.BigInt"))
    case "symbol":
      return here("a symbol", "a symbol cannot cross processes: send a string instead")
    case "function":
      return here(
        `a function${value.name === "" ? "" : ` (${value.name})`}`,
        "a function cannot cross processes: send the data it needs, and define the function in the target's module"
      )
  }
  if (value === null) return undefined
  const object = value as object
  if (seen.has(object)) return here("a cycle (a value that contains itself)", "JSON cannot carry a cycle: send a tree")
  if (Array.isArray(object)) {
    seen.add(object)
    for (let i = 0; i < object.length; i++) {
      path.push(i)
      const found = search(object[i], path, seen)
      path.pop()
      if (found !== undefined) return found
    }
    seen.delete(object)
    return undefined
  }
  const prototype = Object.getPrototypeOf(object)
  if (prototype !== Object.prototype && prototype !== null) {
    if (object instanceof Map) return here("a Map", declare("Schema.ReadonlyMap(key, value)"))
    if (object instanceof Set) return here("a Set", declare("Schema.ReadonlySet(value)"))
    if (object instanceof Date) return here("a Date", declare("Schema.Date"))
    const name = typeof prototype?.constructor === "function" && prototype.constructor.name !== ""
      ? prototype.constructor.name
      : "a class"
    return here(`an instance of ${name}`, declare(`a Schema.Class for ${name}, or Schema.instanceOf(${name}) with an encoding`))
  }
  seen.add(object)
  for (const key of Object.keys(object)) {
    path.push(key)
    const found = search((object as Record<string, unknown>)[key], path, seen)
    path.pop()
    if (found !== undefined) return found
  }
  seen.delete(object)
  return undefined
}

const jsonLeaf = "Expected JSON value"

/** The path of the first issue in `issue` that is a leaf saying `Expected JSON value`. */
const pathOfJsonIssue = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): ReadonlyArray<PropertyKey> | undefined => {
  switch (issue._tag) {
    case "Pointer":
      return pathOfJsonIssue(issue.issue, [...path, ...issue.path])
    case "Filter":
    case "Encoding":
      return pathOfJsonIssue(issue.issue, path)
    case "Composite":
    case "AnyOf":
      for (const inner of issue.issues) {
        const found = pathOfJsonIssue(inner, path)
        if (found !== undefined) return found
      }
      return undefined
    default:
      return new Schema.SchemaError(issue).message.startsWith(jsonLeaf) ? path : undefined
  }
}

const at = (value: unknown, path: ReadonlyArray<PropertyKey>): { readonly value: unknown } | undefined => {
  let current = value
  for (const key of path) {
    // An Exit's failure is encoded as the list of its cause's reasons.
    if (Cause.isCause(current)) current = current.reasons
    if (current === null || typeof current !== "object" || !(key in current)) return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return { value: current }
}

/**
 * An Exit's success is encoded at `["value"]`, its typed error at `["cause"][i]["error"]`:
 * the path is shown from the success or error, which is what the payload names.
 */
const withinExit = (value: unknown, path: ReadonlyArray<PropertyKey>): ReadonlyArray<PropertyKey> => {
  if (!Exit.isExit(value)) return path
  if (path[0] === "value") return path.slice(1)
  if (path[0] === "cause" && path[2] === "error") return path.slice(3)
  return path
}

/**
 * `error`, from encoding `value`, with its `Expected JSON value` made precise: the full
 * path of what JSON cannot carry, what it is, and the fix. Any other error is returned as
 * it is.
 */
export const explain = (error: Schema.SchemaError, value: unknown): Schema.SchemaError => {
  const path = pathOfJsonIssue(error.issue, [])
  if (path === undefined) return error
  const below = at(value, path)
  const found = below === undefined ? undefined : find(below.value)
  if (found === undefined) return error
  const full = [...path, ...found.path]
  const message = `Expected JSON value, got ${found.what}: ` +
    `Schema.Unknown (or Any) carries only JSON (null, booleans, finite numbers, strings, and arrays and plain objects of them); ` +
    `${found.fix}`
  return new Schema.SchemaError(new SchemaIssue.Pointer(withinExit(value, full), new SchemaIssue.InvalidValue({ message })))
}

/** The cause of a failed encoding of `value`, its `Expected JSON value` made precise (see `explain`). */
export const explainCause = (cause: Cause.Cause<Schema.SchemaError>, value: unknown): Cause.Cause<Schema.SchemaError> => {
  const error = Cause.findErrorOption(cause)
  return Option.isSome(error) ? Cause.fail(explain(error.value, value)) : cause
}

/** An encoder whose `Expected JSON value` says where, what, and the fix. */
export const explained = <I, A>(
  encode: (u: I) => Exit.Exit<A, Schema.SchemaError>
): (u: I) => Exit.Exit<A, Schema.SchemaError> =>
(u) => {
  const exit = encode(u)
  return Exit.isSuccess(exit) ? exit : Exit.failCause(explainCause(exit.cause, u))
}
