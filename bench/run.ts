/**
 * The process benchmark: `npm run bench` (or `node bench/run.ts [--quick]
 * [--samples=N] [--warmup=N]`).
 *
 * Prints tables for people and, for machines, one `BENCH {...}` JSON line per metric
 * and variant and a final `BENCH_SUMMARY {...}` line with the ratios and the verdict on
 * the goal: spawn + join of a no-op target at most 1.3× a raw fork of the same
 * TypeScript module.
 */
import * as Os from "node:os"
import { compileCacheDir, importVariants, phaseVariants, spawnVariants } from "./process.ts"
import { interleave, pairedRatio, round, type Samples, stats, type Variant } from "./sampler.ts"

const goal = 1.3

const flag = (name: string): string | undefined => {
  const arg = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  return arg === undefined ? undefined : arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : ""
}
const quick = flag("quick") !== undefined
const samples = Number(flag("samples") ?? (quick ? 8 : 30))
const warmup = Number(flag("warmup") ?? (quick ? 2 : 3))
/** The import costs differ by tens of ms: fewer rounds keep a full run under two minutes. */
const importSamples = Math.max(5, Math.round(samples * 0.8))
const phaseSamples = Math.min(samples, quick ? 5 : 10)

const emit = (tag: string, value: unknown) => console.log(`${tag} ${JSON.stringify(value)}`)

const pad = (s: string, n: number) => s.padEnd(n)
const num = (x: number, n = 8) => x.toFixed(1).padStart(n)
const times = (x: number, n = 8) => `${x.toFixed(2)}×`.padStart(n)

const progress = (label: string) => (done: number, of: number) => {
  if (process.stderr.isTTY) process.stderr.write(`\r  ${label}: ${done}/${of} rounds`)
  if (done === of && process.stderr.isTTY) process.stderr.write("\n")
}

const runGroup = (label: string, variants: ReadonlyArray<Variant>, n: number) => {
  const rounds = warmup + n
  console.log(`\n${label}: ${variants.length} variants interleaved, ${warmup} warm-up + ${n} measured rounds (${rounds * variants.length} children)`)
  return interleave(variants, { warmup, samples: n, onRound: progress(label) })
}

interface Ratio {
  readonly of: string
  readonly to: string
  readonly median: number
  readonly p90: number
  readonly paired: number
}

const ratio = (data: Samples, metric: string, of: string, to: string): Ratio => {
  const a = data.get(of)!.get(metric)!
  const b = data.get(to)!.get(metric)!
  const sa = stats(a)
  const sb = stats(b)
  return {
    of,
    to,
    median: round(sa.median / sb.median, 3),
    p90: round(sa.p90 / sb.p90, 3),
    paired: round(pairedRatio(a, b), 3)
  }
}

/** A table of one metric: a row per variant, with the ratios to each baseline. */
const metricTable = (
  group: string,
  data: Samples,
  metric: string,
  title: string,
  baselines: ReadonlyArray<string>
) => {
  const names = [...data.keys()].filter((name) => data.get(name)!.has(metric))
  const width = Math.max(...names.map((n) => n.length)) + 2
  const lines: Array<string> = []
  console.log(`\n${title}`)
  if (baselines.length > 0) {
    console.log(
      pad("", width + 27) +
        baselines.map((b) => `   ${`÷ ${b}`.padEnd(24)}`).join("")
    )
  }
  console.log(
    pad("variant", width) + "   median      p90      min" +
      baselines.map(() => `   ${"median".padStart(7)}${"p90".padStart(8)}${"paired".padStart(9)}`).join("")
  )
  for (const name of names) {
    const s = stats(data.get(name)!.get(metric)!)
    const ratios = baselines.map((b) => ratio(data, metric, name, b))
    console.log(
      pad(name, width) + num(s.median, 9) + num(s.p90, 9) + num(s.min, 9) +
        ratios.map((r) => `   ${times(r.median, 7)}${times(r.p90, 8)}${times(r.paired, 9)}`).join("")
    )
    lines.push(JSON.stringify({
      group,
      metric,
      variant: name,
      unit: "ms",
      n: s.n,
      median: round(s.median),
      p90: round(s.p90),
      mean: round(s.mean),
      min: round(s.min),
      max: round(s.max),
      ratios: Object.fromEntries(ratios.map((r) => [r.to, { median: r.median, p90: r.p90, paired: r.paired }]))
    }))
  }
  for (const line of lines) console.log(`BENCH ${line}`)
}

// ---------------------------------------------------------------------------

const cpus = Os.cpus()
const machine = {
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform}/${process.arch}`,
  cpus: cpus.length,
  availableParallelism: Os.availableParallelism(),
  model: cpus[0]?.model ?? "unknown",
  loadavg: Os.loadavg().map((x) => round(x, 2)),
  compileCacheDir,
  shellCompileCache: process.env.NODE_COMPILE_CACHE ?? null,
  shellDisableCompileCache: process.env.NODE_DISABLE_COMPILE_CACHE ?? null
}
console.log("effect-multiprocessing: process benchmark")
console.log(`node ${machine.node} (v8 ${machine.v8}) on ${machine.platform}`)
console.log(`${machine.cpus} CPUs (availableParallelism ${machine.availableParallelism}): ${machine.model}`)
console.log(`load average at start: ${machine.loadavg.join(" ")}`)
console.log(
  `rounds: ${samples} (spawn), ${importSamples} (imports), ${phaseSamples} (phases), after ${warmup} warm-up` +
    `${quick ? " (--quick)" : ""}; times in ms, medians and p90 over measured rounds`
)
if (machine.shellCompileCache !== null || machine.shellDisableCompileCache !== null) {
  console.log("note: NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE are set in this shell; the benchmark sets them per child")
}
emit("BENCH_MACHINE", machine)
const started = performance.now()

// 1 + 2: spawn → ready, spawn + join
const spawn = await runGroup("spawn", spawnVariants, samples)
const spawnBaselines = ["raw fork", "raw fork + compile cache"]
metricTable("spawn", spawn, "ready", "1. spawn → ready of a no-op target (ms)", spawnBaselines)
metricTable(
  "spawn",
  spawn,
  "join",
  "2. spawn + join of a no-op target, scope closed (library) / exit event (raw) (ms)",
  spawnBaselines
)
metricTable("spawn", spawn, "joinReturned", "   (library only: Process.join returned, before the scope closed)", [])

// 3: imports
const imports = await runGroup("imports", importVariants, importSamples)
metricTable("imports", imports, "exit", "3. fork → exit of a child that imports ... (ms)", ["bare node (.js)"])

// phases
const phases = await runGroup("phases", phaseVariants, phaseSamples)
const phaseRows: ReadonlyArray<readonly [string, string]> = [
  ["spawned", "parent: the spawn event (Process.spawn returned)"],
  ["processStart", "child: its time origin (process created)"],
  ["bootstrap", "child: Node bootstrap complete"],
  ["preload", "child: first user code runs (the --import preload)"],
  ["bootLoad", "child: loading the bootstrap src/internal/childMain.ts starts"],
  ["childLoad", "child: childMain.ts evaluated, loading src/internal/child.ts starts"],
  ["channelOpen", "child: child.ts evaluated, channel made"],
  ["startReceived", "child: Start message read"],
  ["targetLoad", "child: loading the target's module starts"],
  ["targetEval", "child: the target's module evaluated"],
  ["firstWrite", "child: first write to the channel (Ready)"],
  ["run", "child: the target runs"],
  ["end", "child: last messages flushed, channel ended"],
  ["ready", "parent: ready seen"],
  ["exit", "parent: exit seen (join returned)"],
  ["closed", "parent: scope closed"]
]
const phaseNames = [...phases.keys()]
const cell = 16
console.log("\nPhases: median time since the spawn call at which each phase begins, ms (+ time since the previous row)")
console.log("child clocks are placed on the parent's by performance.timeOrigin; '-' = not applicable")
console.log(pad("phase", 15) + phaseNames.map((n) => n.slice(0, cell - 1).padStart(cell)).join("") + "   what")
const medianOf = (name: string, key: string): number => {
  const values = phases.get(name)!.get(key)
  return values === undefined ? Number.NaN : stats(values).median
}
const previous = new Map<string, number>(phaseNames.map((n) => [n, 0]))
for (const [key, what] of phaseRows) {
  const cells = phaseNames.map((name) => {
    const m = medianOf(name, key)
    if (Number.isNaN(m)) return "-".padStart(cell)
    const delta = m - previous.get(name)!
    previous.set(name, m)
    return `${m.toFixed(1)} (${delta >= 0 ? "+" : ""}${delta.toFixed(1)})`.padStart(cell)
  })
  console.log(pad(key, 15) + cells.join("") + "   " + what)
}
for (const name of phaseNames) {
  emit("BENCH", {
    group: "phases",
    variant: name,
    unit: "ms",
    n: phases.get(name)!.get("exit")!.length,
    medians: Object.fromEntries(phaseRows.flatMap(([k]) => {
      const m = medianOf(name, k)
      return Number.isNaN(m) ? [] : [[k, round(m)]]
    }))
  })
}

// summary
const ready = ratio(spawn, "ready", "library", "raw fork")
const readyCache = ratio(spawn, "ready", "library", "raw fork + compile cache")
const join = ratio(spawn, "join", "library", "raw fork")
const joinCache = ratio(spawn, "join", "library", "raw fork + compile cache")
const importMedian = (name: string) => round(stats(imports.get(name)!.get("exit")!).median)
const spawnMedian = (name: string, metric: string) => round(stats(spawn.get(name)!.get(metric)!).median)
/** Differences of medians from this run: where the time goes. */
const findings = {
  nodeStartup: importMedian("bare node (.js)"),
  typeScriptStripperLoad: round(importMedian("bare node (.ts)") - importMedian("bare node (.js)")),
  effectModulesCached: round(importMedian("effect modules + compile cache") - importMedian("bare node (.js)")),
  libraryOverEffectCached: round(importMedian("library + compile cache") - importMedian("effect modules + compile cache")),
  compileCacheSavesOnLibraryImport: round(importMedian("library (src/index.ts)") - importMedian("library + compile cache")),
  cacheOnInTsBootstrapCost: round(
    importMedian("library, cache on in a .ts bootstrap") - importMedian("library, cache on in a .mjs bootstrap")
  ),
  earlyCompileCacheSavesOnSpawnJoin: round(spawnMedian("library", "join") - spawnMedian("library + NODE_COMPILE_CACHE", "join")),
  libraryOverRawForkCompileCache: round(spawnMedian("library", "join") - spawnMedian("raw fork + compile cache", "join"))
}
const summary = {
  machine: { node: machine.node, cpus: machine.cpus, model: machine.model, loadavgEnd: Os.loadavg().map((x) => round(x, 2)) },
  samples: { spawn: samples, imports: importSamples, phases: phaseSamples },
  warmup,
  medians: {
    ready: Object.fromEntries([...spawn].map(([n, m]) => [n, round(stats(m.get("ready")!).median)])),
    join: Object.fromEntries([...spawn].map(([n, m]) => [n, round(stats(m.get("join")!).median)])),
    imports: Object.fromEntries(importVariants.map((v) => [v.name, importMedian(v.name)]))
  },
  ratios: {
    readyVsRawFork: ready,
    readyVsRawForkCompileCache: readyCache,
    joinVsRawFork: join,
    joinVsRawForkCompileCache: joinCache,
    joinNoCacheVsRawFork: ratio(spawn, "join", "library, compile cache off", "raw fork"),
    joinEnvCacheVsRawForkCompileCache: ratio(spawn, "join", "library + NODE_COMPILE_CACHE", "raw fork + compile cache")
  },
  findings,
  goal: {
    statement: `library spawn+join <= ${goal}x raw fork of the same TypeScript module (median)`,
    vsRawFork: { ratio: join.median, met: join.median <= goal },
    vsRawForkCompileCache: { ratio: joinCache.median, met: joinCache.median <= goal }
  },
  seconds: round((performance.now() - started) / 1000)
}
console.log("\nWhere the time goes (differences of medians, ms)")
console.log(`  Node start-up, fork → exit of an empty .js:                   ${findings.nodeStartup}`)
console.log(`  loading Node's TypeScript stripper (empty .ts − empty .js):    ${findings.typeScriptStripperLoad}`)
console.log(`  loading the effect modules the library uses, cache warm:      ${findings.effectModulesCached}`)
console.log(`  the library's own modules on top of those, cache warm:        ${findings.libraryOverEffectCached}`)
console.log(`  the compile cache saves on importing the library:             ${findings.compileCacheSavesOnLibraryImport}`)
console.log(`  cache turned on in a .ts bootstrap instead of a .mjs one:     ${findings.cacheOnInTsBootstrapCost}`)
console.log(`  spawn + join saved by NODE_COMPILE_CACHE in the child's env:  ${findings.earlyCompileCacheSavesOnSpawnJoin}`)
console.log(`  library spawn + join over raw fork + compile cache:           ${findings.libraryOverRawForkCompileCache}`)

console.log(`\nGoal: library spawn + join ≤ ${goal}× raw fork of the same TypeScript module (medians)`)
console.log(`  vs raw fork (plain node):          ${times(join.median, 0)} (paired ${times(join.paired, 0)}) → ${join.median <= goal ? "MET" : "NOT MET"}`)
console.log(`  vs raw fork with the compile cache: ${times(joinCache.median, 0)} (paired ${times(joinCache.paired, 0)}) → ${joinCache.median <= goal ? "MET" : "NOT MET"}`)
console.log(`  (finished in ${summary.seconds} s; load average now ${summary.machine.loadavgEnd.join(" ")})`)
emit("BENCH_SUMMARY", summary)
