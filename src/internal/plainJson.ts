/**
 * A check, built once from a Schema, that a value is its own JSON form under that Schema:
 * encoding it with the Schema's JSON codec gives it back unchanged, and decoding that JSON
 * gives back the same value. For such values the codec's walk can be skipped: a pool sends
 * a chunk of numbers as it is, instead of walking the codec once per number on each side.
 *
 * Only Schemas whose JSON form needs no transformation get a check: strings, finite
 * numbers, booleans, `null`, literals, unions of those, and arrays, tuples and structs made
 * of them, with nothing optional in a tuple. Their refinements (`Schema.Int`, a minimum
 * length...) are part of the check: it runs their filters, as the codec would. The check is
 * conservative: a value it refuses (a struct with a key the Schema does not know, `NaN`, a
 * class instance, a value a filter refuses) still goes through the codec, which decides.
 */
import type * as SchemaAST from "effect/SchemaAST"

/** `true`: the value is its own JSON under the Schema it was built from. */
export type Check = (u: unknown) => boolean

const isString: Check = (u) => typeof u === "string"
const isBoolean: Check = (u) => typeof u === "boolean"
/** `NaN` and the infinities are encoded as strings. */
const isFiniteNumber: Check = (u) => typeof u === "number" && Number.isFinite(u)
const isNull: Check = (u) => u === null

/** `true`: every value of the array passes the check. */
export type CheckAll = (values: ReadonlyArray<unknown>) => boolean

/**
 * `values.every(check)`, as a loop: `every` calls its callback from a builtin, which boxes
 * each double of the array on the way; a loop reads them in place (for a pool's chunk of
 * numbers, the difference is large).
 */
export const checkAll = (check: Check): CheckAll => {
  if (check === isFiniteNumber) {
    return (values) => {
      for (let i = 0; i < values.length; i++) {
        const u = values[i]
        if (typeof u !== "number" || !Number.isFinite(u)) return false
      }
      return true
    }
  }
  return (values) => {
    for (let i = 0; i < values.length; i++) if (!check(values[i])) return false
    return true
  }
}

const checks = new WeakMap<SchemaAST.AST, Check | null>()

/** The check for a Schema's AST, or `undefined` when its JSON form is not always the value itself. */
export const check = (ast: SchemaAST.AST): Check | undefined => {
  let cached = checks.get(ast)
  if (cached === undefined) {
    cached = build(ast) ?? null
    checks.set(ast, cached)
  }
  return cached ?? undefined
}

const build = (ast: SchemaAST.AST): Check | undefined => {
  if (ast.encoding !== undefined) return undefined
  const shape = buildShape(ast)
  const filters = ast.checks
  if (shape === undefined || filters === undefined) return shape
  return (u) => shape(u) && passes(filters, u, ast)
}

/** Whether a value passes a node's refinements: every filter, in groups too, finds no issue. */
const passes = (filters: ReadonlyArray<SchemaAST.Check<any>>, u: unknown, ast: SchemaAST.AST): boolean => {
  for (const filter of filters) {
    const ok = filter._tag === "Filter" ? filter.run(u, ast, {}) === undefined : passes(filter.checks, u, ast)
    if (!ok) return false
  }
  return true
}

/** The check of a node's shape, without its refinements. */
const buildShape = (ast: SchemaAST.AST): Check | undefined => {
  switch (ast._tag) {
    case "String":
      return isString
    case "Number":
      return isFiniteNumber
    case "Boolean":
      return isBoolean
    case "Null":
      return isNull
    case "Literal": {
      const literal = ast.literal
      if (typeof literal === "bigint" || (typeof literal === "number" && !Number.isFinite(literal))) return undefined
      return (u) => u === literal
    }
    case "Union":
      return union(ast)
    case "Arrays":
      return arrays(ast)
    case "Objects":
      return objects(ast)
    default:
      return undefined
  }
}

/**
 * Unions of leaves only: a union of structs decodes to its first matching member, which
 * may drop keys that a later member has, so it is not its own JSON.
 */
const union = (ast: SchemaAST.Union): Check | undefined => {
  if (ast.encodingChecks !== undefined || (ast.options?.mode ?? "anyOf") !== "anyOf") return undefined
  const members: Array<Check> = []
  for (const member of ast.types) {
    if (member._tag === "Union" || member._tag === "Arrays" || member._tag === "Objects") return undefined
    const memberCheck = build(member)
    if (memberCheck === undefined) return undefined
    members.push(memberCheck)
  }
  return (u) => members.some((memberCheck) => memberCheck(u))
}

/** Arrays and tuples: elements, then at most one rest element (no optional or post-rest elements). */
const arrays = (ast: SchemaAST.Arrays): Check | undefined => {
  if (ast.encodingChecks !== undefined || ast.rest.length > 1) return undefined
  const elements: Array<Check> = []
  for (const element of ast.elements) {
    const elementCheck = element.context?.isOptional === true ? undefined : build(element)
    if (elementCheck === undefined) return undefined
    elements.push(elementCheck)
  }
  const rest = ast.rest.length === 1 ? build(ast.rest[0]!) : null
  if (rest === undefined) return undefined
  return (u) => {
    if (!Array.isArray(u)) return false
    if (rest === null ? u.length !== elements.length : u.length < elements.length) return false
    for (let i = 0; i < elements.length; i++) if (!elements[i]!(u[i])) return false
    if (rest !== null) for (let i = elements.length; i < u.length; i++) if (!rest(u[i])) return false
    return true
  }
}

/**
 * Structs with string keys and no index signatures: a plain object whose keys are exactly
 * the Schema's (an extra key would be dropped by decoding), each value passing its check.
 */
const objects = (ast: SchemaAST.Objects): Check | undefined => {
  if (ast.encodingChecks !== undefined || ast.indexSignatures.length > 0) return undefined
  const properties: Array<{ readonly key: string; readonly check: Check; readonly optional: boolean }> = []
  for (const property of ast.propertySignatures) {
    if (typeof property.name !== "string") return undefined
    const propertyCheck = build(property.type)
    if (propertyCheck === undefined) return undefined
    properties.push({ key: property.name, check: propertyCheck, optional: property.type.context?.isOptional === true })
  }
  return (u) => {
    if (typeof u !== "object" || u === null) return false
    const proto = Object.getPrototypeOf(u)
    if (proto !== Object.prototype && proto !== null) return false
    const record = u as Record<string, unknown>
    let present = 0
    for (const { check: propertyCheck, key, optional } of properties) {
      if (!Object.hasOwn(record, key)) {
        if (optional) continue
        return false
      }
      if (!propertyCheck(record[key])) return false
      present++
    }
    let keys = 0
    for (const key in record) if (Object.hasOwn(record, key)) keys++
    return keys === present
  }
}
