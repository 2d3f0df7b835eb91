/**
 * Objects that live in one process and are used from others by reference (a queue, an
 * event...). Each kind declares its operations in one table: name → the Schemas of its
 * input, success and error. The owner serves the table (`serve`), a proxy in another
 * process calls it (`client`), and both sides decode what they receive with the table's
 * Schemas: no string switch, no cast. See README.md in this folder for how to add a kind.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import { errorMessage } from "./errors.ts"

/** One operation: the Schemas of what it takes, gives and fails with, as they cross processes. */
export interface Operation<I, A, E> {
  readonly input: Schema.Codec<I, any>
  readonly success: Schema.Codec<A, any>
  readonly error: Schema.Codec<E, any>
}

/** A kind's operations, by name. */
export type Table = { readonly [op: string]: Operation<any, any, any> }

export type Input<O> = O extends Operation<infer I, any, any> ? I : never
export type Success<O> = O extends Operation<any, infer A, any> ? A : never
export type Failure<O> = O extends Operation<any, any, infer E> ? E : never

/** What the owner does for each operation of its table. */
export type Implementation<T extends Table> = {
  readonly [K in keyof T]: (
    input: Input<T[K]>,
    /** Hands over a value the owner must get back unless the caller acknowledges it (a queue item). */
    deliver: (delivery: Connection.Delivery) => void
  ) => Effect.Effect<Success<T[K]>, Failure<T[K]>>
}

interface Codecs {
  readonly decodeInput: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeInput: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly decodeSuccess: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeSuccess: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly decodeError: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeError: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
}

const codecsCache = new WeakMap<Table, Map<string, Codecs>>()

/** The JSON codecs of a table's operations, made once per table. */
const codecsOf = (table: Table): Map<string, Codecs> => {
  let codecs = codecsCache.get(table)
  if (codecs === undefined) {
    codecs = new Map()
    for (const [op, operation] of Object.entries(table)) {
      const input = Schema.toCodecJson(operation.input)
      const success = Schema.toCodecJson(operation.success)
      const error = Schema.toCodecJson(operation.error)
      codecs.set(op, {
        decodeInput: Schema.decodeUnknownExit(input),
        encodeInput: Schema.encodeUnknownExit(input),
        decodeSuccess: Schema.decodeUnknownExit(success),
        encodeSuccess: Schema.encodeUnknownExit(success),
        decodeError: Schema.decodeUnknownExit(error),
        encodeError: Schema.encodeUnknownExit(error)
      })
    }
    codecsCache.set(table, codecs)
  }
  return codecs
}

const refused = (message: string) => Effect.die(new Connection.CallNotServed("refused", message))

/** The owner's side: serves calls on one object with `implementation`. */
export const serve = <T extends Table>(table: T, implementation: Implementation<T>): Connection.Server => {
  const codecs = codecsOf(table)
  const operations = implementation as unknown as Record<
    string,
    (input: unknown, deliver: (delivery: Connection.Delivery) => void) => Effect.Effect<unknown, unknown>
  >
  return {
    serve: (op, input, deliver) => {
      const codec = codecs.get(op)
      if (codec === undefined) return refused(`no operation '${op}'`)
      const decoded = codec.decodeInput(input)
      if (Exit.isFailure(decoded)) return refused(`'${op}': ${errorMessage(Cause.squash(decoded.cause))}`)
      return operations[op]!(decoded.value, deliver).pipe(
        Effect.matchEffect({
          onSuccess: (value) => encoded(codec.encodeSuccess(value), op),
          onFailure: (error) => Effect.flip(encoded(codec.encodeError(error), op))
        })
      )
    }
  }
}

/** An encoded value, or a defect: our own value that does not fit our own Schema is a bug. */
const encoded = (exit: Exit.Exit<unknown, Schema.SchemaError>, op: string): Effect.Effect<Schema.Json> =>
  Exit.isSuccess(exit)
    ? Effect.succeed(exit.value as Schema.Json)
    : Effect.die(new Error(`'${op}': a value that does not fit its own Schema: ${errorMessage(Cause.squash(exit.cause))}`))

/** A proxy's side: calls on the object `ref` that the parent serves (or relays). */
export interface Client<T extends Table, Gone> {
  readonly call: <K extends keyof T & string>(
    op: K,
    input: Input<T[K]>,
    options?: Connection.CallOptions
  ) => Effect.Effect<Success<T[K]>, Failure<T[K]> | Gone>
  /** Sends a call without waiting for its answer, which goes to `onExit`. For write-behind operations. */
  readonly post: <K extends keyof T & string>(
    op: K,
    input: Input<T[K]>,
    onExit: (exit: Exit.Exit<Success<T[K]>, Failure<T[K]> | Gone>) => void
  ) => void
  /** Serves a grandchild's calls on the same object by relaying them to the parent, as they came. */
  readonly relay: Connection.Server
}

export const client = <T extends Table, Gone>(table: T, ref: string, gone: () => Gone): Client<T, Gone> => {
  const codecs = codecsOf(table)
  const encodeInput = (op: string, input: unknown): Schema.Json => {
    const exit = codecs.get(op)!.encodeInput(input)
    if (Exit.isSuccess(exit)) return exit.value as Schema.Json
    throw new Error(`'${op}': an input that does not fit its own Schema: ${errorMessage(Cause.squash(exit.cause))}`)
  }
  /** The call's outcome, decoded with the operation's Schemas. */
  const outcome = (op: string, answer: Connection.Answer): Exit.Exit<any, any> => {
    const codec = codecs.get(op)!
    switch (answer.status) {
      case "gone":
        return Exit.fail(gone())
      case "refused":
        return Exit.die(new Connection.CallNotServed("refused", `'${op}' was refused: ${String(answer.value)}`))
      case "ok":
      case "error": {
        const decoded = answer.status === "ok" ? codec.decodeSuccess(answer.value) : codec.decodeError(answer.value)
        if (Exit.isFailure(decoded)) {
          return Exit.die(new Error(`'${op}': an answer that does not fit its Schema: ${errorMessage(Cause.squash(decoded.cause))}`))
        }
        return answer.status === "ok" ? decoded : Exit.fail(decoded.value)
      }
    }
  }
  return {
    call: (op, input, options) =>
      Effect.suspend(() => {
        const uplink = Current.uplink()
        if (uplink === undefined) return Effect.fail(gone())
        return Effect.flatMap(uplink.call(ref, op, encodeInput(op, input), options), (answer) => outcome(op, answer))
      }),
    post: (op, input, onExit) => {
      const uplink = Current.uplink()
      if (uplink === undefined) return onExit(Exit.fail(gone()))
      uplink.post(ref, op, encodeInput(op, input), (answer) => onExit(outcome(op, answer)))
    },
    relay: {
      serve: (op, input, deliver) =>
        Effect.suspend(() => {
          const uplink = Current.uplink()
          if (uplink === undefined) return Effect.die(new Connection.CallNotServed("gone", "no parent"))
          // Relayed as they came (parsed JSON): the owner checks the input, the grandchild the answer.
          return Effect.flatMap(
            uplink.call(ref, op, input as Schema.Json, { accept: (_, deliveries) => deliveries.forEach(deliver) }),
            (answer) =>
              answer.status === "ok"
                ? Effect.succeed(answer.value as Schema.Json)
                : answer.status === "error"
                ? Effect.fail(answer.value as Schema.Json)
                : Effect.die(new Connection.CallNotServed(answer.status, String(answer.value)))
          )
        })
    }
  }
}

// ---------------------------------------------------------------------------
// handles as Schemas

/** How a handle crosses a process boundary. */
export interface Reference<Tag extends string> {
  readonly _tag: Tag
  readonly ref: string
  readonly meta?: Schema.Json
}

/**
 * The Schema of a handle that crosses processes as `{ _tag, ref }`: encoding registers the
 * handle with this process's objects (so the receiver can call back), decoding gives the
 * local object when the reference is ours, a proxy otherwise.
 */
export const referenceSchema = <H extends object, Tag extends string, M = never>(options: {
  readonly tag: Tag
  readonly is: (u: unknown) => u is H
  /** The server of a handle: the owner's, or a proxy's relay. */
  readonly serverOf: (handle: H) => Connection.Server
  readonly proxy: (ref: string, meta: M | undefined) => H
  /** What a proxy needs to know besides the reference (a queue: whether it is bounded). */
  readonly meta?: { readonly schema: Schema.Codec<M, any>; readonly of: (handle: H) => M } | undefined
}): Schema.Codec<H, Reference<Tag>> =>
  Schema.Struct({
    _tag: Schema.Literal(options.tag),
    ref: Schema.String,
    meta: Schema.optionalKey(options.meta?.schema ?? (Schema.Never as Schema.Codec<M, any>))
  }).pipe(
    Schema.decodeTo(
      Schema.declare(options.is),
      SchemaTransformation.transform({
        decode: ({ meta, ref }) => {
          const local = Current.state.objects.objectOf(ref)
          return local !== undefined && options.is(local) ? local : options.proxy(ref, meta)
        },
        encode: (handle) => {
          const ref = Current.state.objects.register(handle, options.serverOf(handle))
          return options.meta === undefined ? { _tag: options.tag, ref } : { _tag: options.tag, ref, meta: options.meta.of(handle) }
        }
      })
    )
  ) as unknown as Schema.Codec<H, Reference<Tag>>
