/**
 * What the process benchmark measures: the variants of each group, as samples the
 * interleaved sampler can run.
 *
 * - `spawn`: a no-op target spawned with the library (`Process.spawn`, `Process.ready`,
 *   `Process.join`, scope closed) against a raw `child_process.fork` of the same
 *   TypeScript module that reports `ready` over IPC once the module is loaded, then
 *   exits. One sample gives both times: awaiting `ready` before `join` changes nothing
 *   the child does.
 * - `imports`: fork → exit of children that import nothing, Effect, or the library.
 * - `phases`: the same comparison with a preload that records when each phase starts
 *   in the child, to see where the time goes.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { Process, type Target } from "../src/index.ts"
import { noop } from "./fixtures/noop.ts"
import { probe } from "./fixtures/probe.ts"
import type { Variant } from "./sampler.ts"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Where `module.enableCompileCache()` puts its cache when given no directory (as in our child bootstrap). */
export const compileCacheDir = Path.join(Os.tmpdir(), "node-compile-cache")

/** The environment of every child, without compile-cache settings inherited from the shell. */
const baseEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.NODE_COMPILE_CACHE
  delete env.NODE_DISABLE_COMPILE_CACHE
  return env
}

export type CacheMode = "default" | "on" | "off"

const envFor = (cache: CacheMode, extra?: Record<string, string>): NodeJS.ProcessEnv => {
  const env = { ...baseEnv(), ...extra }
  if (cache === "on") env.NODE_COMPILE_CACHE = compileCacheDir
  if (cache === "off") env.NODE_DISABLE_COMPILE_CACHE = "1"
  return env
}

/** The library's `env` option adds to the parent's environment; `undefined` removes a variable. */
const libraryEnv = (cache: CacheMode, extra?: Record<string, string>): Record<string, string | undefined> => ({
  ...extra,
  NODE_COMPILE_CACHE: cache === "on" ? compileCacheDir : undefined,
  NODE_DISABLE_COMPILE_CACHE: cache === "off" ? "1" : undefined
})

// ---------------------------------------------------------------------------
// raw child_process.fork

interface RawRun {
  readonly t0: number
  readonly spawned: number
  readonly ready: number
  readonly exit: number
}

/** Forks `file` and waits for its exit; `ready` is when its first IPC message arrived (NaN if none). */
const forkAndWait = (
  file: string,
  options: {
    readonly cache: CacheMode
    readonly execArgv?: ReadonlyArray<string>
    readonly env?: Record<string, string>
  }
): Promise<RawRun> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    let spawned = Number.NaN
    let ready = Number.NaN
    const child = ChildProcess.fork(file, [], {
      env: envFor(options.cache, options.env),
      execArgv: [...(options.execArgv ?? process.execArgv)]
    })
    child.once("spawn", () => {
      spawned = performance.now() - t0
    })
    child.once("message", () => {
      ready = performance.now() - t0
    })
    child.once("error", reject)
    child.once("exit", (code, signal) => {
      const exit = performance.now() - t0
      if (code !== 0) reject(new Error(`${file} exited with ${signal ?? code}`))
      else resolve({ t0, spawned, ready, exit })
    })
  })

// ---------------------------------------------------------------------------
// the library

interface LibraryRun {
  readonly t0: number
  readonly spawned: number
  readonly ready: number
  readonly joined: number
  readonly closed: number
}

const spawnAndJoin = (
  target: Target.Target<void, void, never>,
  options: {
    readonly cache: CacheMode
    readonly execArgv?: ReadonlyArray<string>
    readonly env?: Record<string, string>
  }
): Promise<LibraryRun> => {
  const t0 = performance.now()
  return Effect.runPromise(Effect.gen(function*() {
    let spawned = 0
    let ready = 0
    let joined = 0
    yield* Effect.scoped(Effect.gen(function*() {
      const p = yield* Process.spawn(target, {
        env: libraryEnv(options.cache, options.env),
        ...(options.execArgv === undefined ? {} : { execArgv: options.execArgv })
      })
      spawned = performance.now() - t0
      yield* Process.ready(p)
      ready = performance.now() - t0
      const code = yield* Process.join(p)
      joined = performance.now() - t0
      if (code !== 0) return yield* Effect.die(new Error(`${target.name} exited with ${code}`))
    }))
    return { t0, spawned, ready, joined, closed: performance.now() - t0 }
  }))
}

// ---------------------------------------------------------------------------
// group 1 + 2: spawn → ready, spawn + join

const rawSpawn = (r: RawRun) => {
  if (Number.isNaN(r.ready)) throw new Error("the raw child exited without reporting ready")
  return { ready: r.ready, join: r.exit }
}

/**
 * Metrics: `ready` (spawn → ready) and `join` (spawn → the child has exited and, for
 * the library, the scope that owns it has closed: what user code waits for).
 */
export const spawnVariants: ReadonlyArray<Variant> = [
  {
    name: "library",
    run: async () => {
      const r = await spawnAndJoin(noop, { cache: "default" })
      return { ready: r.ready, join: r.closed, joinReturned: r.joined }
    }
  },
  {
    name: "raw fork",
    run: async () => rawSpawn(await forkAndWait(fixture("noop.ts"), { cache: "default" }))
  },
  {
    name: "library, compile cache off",
    run: async () => {
      const r = await spawnAndJoin(noop, { cache: "off" })
      return { ready: r.ready, join: r.closed, joinReturned: r.joined }
    }
  },
  {
    name: "raw fork + compile cache",
    run: async () => rawSpawn(await forkAndWait(fixture("noop.ts"), { cache: "on" }))
  },
  {
    // The cache set in the environment by hand. Since the library sets NODE_COMPILE_CACHE
    // for its children itself, this matches "library": kept to show that it does.
    name: "library + NODE_COMPILE_CACHE",
    run: async () => {
      const r = await spawnAndJoin(noop, { cache: "on" })
      return { ready: r.ready, join: r.closed, joinReturned: r.joined }
    }
  }
]

// ---------------------------------------------------------------------------
// group 3: the cost of imports in a child

const importVariant = (name: string, file: string, cache: CacheMode): Variant => ({
  name,
  run: async () => ({ exit: (await forkAndWait(fixture(file), { cache })).exit })
})

export const importVariants: ReadonlyArray<Variant> = [
  importVariant("bare node (.js)", "bare.js", "default"),
  importVariant("bare node (.ts)", "bare.ts", "default"),
  importVariant("effect/Effect", "effect-core.ts", "default"),
  importVariant("effect modules the library uses", "effect-used.ts", "default"),
  importVariant("effect modules + compile cache", "effect-used.ts", "on"),
  importVariant("library (src/index.ts)", "library.ts", "default"),
  importVariant("library + compile cache", "library.ts", "on"),
  importVariant("library, cache on in a .ts bootstrap", "cache-late.ts", "default"),
  importVariant("library, cache on in a .mjs bootstrap", "cache-first.mjs", "default")
]

// ---------------------------------------------------------------------------
// phases: where the time goes

const marksArgv = ["--import", fixture("marks.mjs")]

let marksCounter = 0
const marksFile = () => Path.join(Os.tmpdir(), `effect-multiprocessing-bench-${process.pid}-${++marksCounter}.json`)

/**
 * Reads the child's clock readings (relative to its own time origin) and places them
 * on the parent's clock, as times since the parent's `t0`.
 */
const readMarks = (file: string, t0: number): Record<string, number> => {
  const r = JSON.parse(Fs.readFileSync(file, "utf8")) as Record<string, number>
  Fs.rmSync(file, { force: true })
  const shift = r.timeOrigin! - (performance.timeOrigin + t0)
  const out: Record<string, number> = { processStart: shift }
  for (const [key, value] of Object.entries(r)) {
    if (key !== "timeOrigin") out[key] = value + shift
  }
  return out
}

const libraryPhases = (cache: CacheMode): Variant["run"] => async () => {
  const file = marksFile()
  const r = await spawnAndJoin(probe, { cache, execArgv: marksArgv, env: { BENCH_MARKS_FILE: file } })
  return { spawned: r.spawned, ...readMarks(file, r.t0), ready: r.ready, exit: r.joined, closed: r.closed }
}

const rawPhases = (cache: CacheMode): Variant["run"] => async () => {
  const file = marksFile()
  const r = await forkAndWait(fixture("probe.ts"), { cache, execArgv: marksArgv, env: { BENCH_MARKS_FILE: file } })
  return { spawned: r.spawned, ...readMarks(file, r.t0), ready: r.ready, exit: r.exit }
}

export const phaseVariants: ReadonlyArray<Variant> = [
  { name: "library", run: libraryPhases("default") },
  { name: "library + NODE_COMPILE_CACHE", run: libraryPhases("on") },
  { name: "raw fork", run: rawPhases("default") },
  { name: "raw fork + compile cache", run: rawPhases("on") }
]
