import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Target from "../Target.ts"
import * as Current from "./current.ts"
import * as NotJson from "./notJson.ts"
import * as PlainJson from "./plainJson.ts"

export const TypeId: Target.TypeId = "~effect-multiprocessing/Target"

export const isTarget = (u: unknown): u is Target.Any => Predicate.hasProperty(u, TypeId)

const keyOf = (module: string, name: string) => `${module}#${name}`

export const lookup = (module: string, name: string): Target.Any | undefined => Current.state.targets.get(keyOf(module, name))

/**
 * Why a child found no target `name` in `module`, and what to do: the targets it did find
 * there say whether the name is misspelt or the target is defined where the child's
 * import does not run it.
 */
export const notFound = (module: string, name: string): string => {
  const found = [...Current.state.targets.values()].filter((target) => target.module === module).map((target) => `'${target.name}'`)
  return `${module} defines no target named '${name}' when a child imports it ` +
    `(it defines ${found.length === 0 ? "none" : found.join(", ")}). Define the target with Target.make at the top level ` +
    `of that module, and export it (not inside a function, or behind \`if (import.meta.main)\`, which a child does not run), ` +
    `with \`module: import.meta.url\``
}

const toModuleUrl = (name: string, module: string | URL): string => {
  if (typeof module !== "string") return module.href
  if (module.startsWith("file:")) return module
  if (Path.isAbsolute(module)) return pathToFileURL(module).href
  // Resolved against the working directory, a relative path would work from one folder and
  // not from another; against the defining module, we cannot know which module that is.
  throw new TypeError(
    `Target.make("${name}"): module "${module}" is a relative path, which would be resolved against the working ` +
      `directory (${process.cwd()}), not against the module that defines the target. Use \`module: import.meta.url\` ` +
      `(the module that defines it), or an absolute path or file: URL`
  )
}

type Options = Target.Options<Target.Codec<any>, Target.Codec<any>, Target.Codec<any>> & {
  readonly run: (args: any) => any
}

export const make = (name: string, options: Options): Target.Any => {
  const target: Target.Any = {
    [TypeId]: TypeId,
    name,
    module: toModuleUrl(name, options.module),
    kind: options.kind === true ? name : "Process",
    args: options.args ?? Schema.Void,
    success: options.success ?? Schema.Void,
    error: options.error ?? Schema.Never,
    run: options.run,
    pipe() {
      return pipeArguments(this, arguments)
    }
  }
  Current.state.targets.set(keyOf(target.module, name), target)
  return target
}

/** What a target made by `Target.sync` runs: a plain function, and which of its throws are its typed errors. */
export interface SyncRun {
  readonly run: (args: unknown) => unknown
  readonly isError: (thrown: unknown) => boolean
  /** The target's name, for the message of `returnedPromise`. */
  readonly name: string
}

const syncRuns = new WeakMap<Target.Any, SyncRun>()

/** The plain function of a `Target.sync` target, which a pool's worker calls without a fiber per item. */
export const syncRunOf = (target: Target.Any): SyncRun | undefined => syncRuns.get(target)

/** A thrown value is the target's own error if it fits the error Schema; otherwise it is a defect. */
export const syncExit = (sync: SyncRun, thrown: unknown): Exit.Exit<never, unknown> =>
  sync.isError(thrown) ? Exit.fail(thrown) : Exit.die(thrown)

/**
 * A `Target.sync` function that returned a Promise: asynchronous work by mistake, which
 * nothing would wait for (a `run` typed to return nothing accepts an `async` function).
 * Its item is a defect that says what to do instead, not a silent success (or, with a
 * success Schema, an `EncodeError` that does not say why).
 */
export const returnedPromise = (sync: SyncRun, value: unknown): Exit.Failure<never, never> | undefined => {
  if (!Predicate.isPromiseLike(value)) return undefined
  // It runs on, unwaited: its rejection must not end the process as an unhandled one.
  value.then(undefined, () => undefined)
  return Exit.die(
    new TypeError(
      `Target.sync "${sync.name}": run returned a Promise, which Target.sync does not wait for; ` +
        "make asynchronous work a Target.make (Effect.promise)"
    )
  ) as Exit.Failure<never, never>
}

export const makeSync = (name: string, options: Options): Target.Any => {
  const sync: SyncRun = {
    run: options.run,
    isError: options.error === undefined ? () => false : Schema.is(options.error),
    name
  }
  const target = make(name, {
    ...options,
    // Run as a process: the same call, in an Effect.
    run: (args) =>
      Effect.suspend(() => {
        try {
          const value = sync.run(args)
          return returnedPromise(sync, value) ?? Effect.succeed(value)
        } catch (thrown) {
          return syncExit(sync, thrown)
        }
      })
  })
  syncRuns.set(target, sync)
  return target
}

/** The JSON codecs of a target, built once per target. */
export interface Codecs {
  readonly encodeArgs: (args: unknown) => Exit.Exit<Schema.Json, Schema.SchemaError>
  readonly decodeArgs: (json: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeExit: (exit: Exit.Exit<unknown, unknown>) => Exit.Exit<Schema.Json, Schema.SchemaError>
  readonly decodeExit: (json: unknown) => Exit.Exit<Exit.Exit<unknown, unknown>, Schema.SchemaError>
  /** The success alone (a pool's chunk whose items all succeeded carries only these). */
  readonly encodeSuccess: (value: unknown) => Exit.Exit<Schema.Json, Schema.SchemaError>
  readonly decodeSuccess: (json: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  /** Arguments that pass this are their own JSON: no need to encode or decode them (see plainJson.ts). */
  readonly plainArgs: PlainJson.Check | undefined
  /** The same for successes. */
  readonly plainSuccess: PlainJson.Check | undefined
  /** `plainArgs` for a whole chunk (always `false` when there is no such check). */
  readonly allPlainArgs: PlainJson.CheckAll
  /** `plainSuccess` for a whole chunk (always `false` when there is no such check). */
  readonly allPlainSuccess: PlainJson.CheckAll
}

const noneArePlain: PlainJson.CheckAll = () => false

/** A codec that gives back, as they are, values that are their own JSON. */
const skipPlain = <A>(
  plain: PlainJson.Check | undefined,
  codec: (u: unknown) => Exit.Exit<A, Schema.SchemaError>
): (u: unknown) => Exit.Exit<A, Schema.SchemaError> =>
  plain === undefined ? codec : (u) => plain(u) ? Exit.succeed(u as A) : codec(u)

const codecsCache = new WeakMap<Target.Any, Codecs>()

export const codecs = (target: Target.Any): Codecs => {
  let cached = codecsCache.get(target)
  if (cached === undefined) {
    const args = Schema.toCodecJson(target.args)
    const exit = Schema.toCodecJson(Schema.Exit(target.success, target.error, Schema.Defect({ includeStack: true })))
    const success = Schema.toCodecJson(target.success)
    const plainArgs = PlainJson.check(target.args.ast)
    const plainSuccess = PlainJson.check(target.success.ast)
    cached = {
      encodeArgs: skipPlain(plainArgs, NotJson.explained(Schema.encodeUnknownExit(args) as Codecs["encodeArgs"])),
      decodeArgs: skipPlain(plainArgs, Schema.decodeUnknownExit(args)),
      encodeExit: NotJson.explained(Schema.encodeUnknownExit(exit) as Codecs["encodeExit"]),
      decodeExit: Schema.decodeUnknownExit(exit) as Codecs["decodeExit"],
      encodeSuccess: skipPlain(plainSuccess, NotJson.explained(Schema.encodeUnknownExit(success) as Codecs["encodeSuccess"])),
      decodeSuccess: skipPlain(plainSuccess, Schema.decodeUnknownExit(success)),
      plainArgs,
      plainSuccess,
      allPlainArgs: plainArgs === undefined ? noneArePlain : PlainJson.checkAll(plainArgs),
      allPlainSuccess: plainSuccess === undefined ? noneArePlain : PlainJson.checkAll(plainSuccess)
    }
    codecsCache.set(target, cached)
  }
  return cached
}
