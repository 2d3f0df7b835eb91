/**
 * The benchmark: `npm run bench` (or `node bench/run.ts [--quick] [--only=spawn|queue|pool]
 * [--samples=N] [--warmup=N] [--queue-rounds=N]`).
 *
 * Three groups: process start-up (spawn, imports, phases), queues/events (puts, gets,
 * JoinableQueue, events, memory), and the pool against other pools and Python
 * (bench/pool.ts, run as a child; see BENCHMARKS-pool.md). Prints tables for people and, for machines, one
 * `BENCH {...}` JSON line per metric and variant and a `BENCH_SUMMARY {...}` line per
 * group with the ratios and the verdicts on the goals: spawn + join of a no-op target at
 * most 1.3× a raw fork of the same TypeScript module; child → parent puts at least 2×
 * Python's `multiprocessing.Queue`, gets at least as fast as Python's.
 */
import * as ChildProcess from "node:child_process"
import * as Os from "node:os"
import { compileCacheDir, importVariants, phaseVariants, spawnVariants } from "./process.ts"
import {
  balanceVariants,
  eventVariants,
  getVariants,
  joinableVariants,
  type Latencies,
  memoryRunFresh,
  putVariants,
  pythonVersion
} from "./queue.ts"
import { interleave, pairedRatio, round, type Samples, stats, type Variant } from "./sampler.ts"

const goal = 1.3

const flag = (name: string): string | undefined => {
  const arg = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  return arg === undefined ? undefined : arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : ""
}
const quick = flag("quick") !== undefined
const only = flag("only")
if (only !== undefined && only !== "spawn" && only !== "queue" && only !== "pool") {
  throw new Error(`--only=spawn, --only=queue or --only=pool, not '${only}'`)
}
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

const runGroup = (label: string, variants: ReadonlyArray<Variant>, n: number, warm = warmup) => {
  const rounds = warm + n
  console.log(`\n${label}: ${variants.length} variants interleaved, ${warm} warm-up + ${n} measured rounds (${rounds * variants.length} runs)`)
  return interleave(variants, { warmup: warm, samples: n, onRound: progress(label) })
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

/** The commit measured, and the files under src/ that differ from it (read-only git). */
const library = (() => {
  try {
    const git = (...args: Array<string>) => ChildProcess.execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    const dirty = git("status", "--porcelain", "--", "src").split("\n").filter((l) => l.length > 0).map((l) => l.slice(3))
    return { commit: git("rev-parse", "--short", "HEAD"), srcChanged: dirty }
  } catch {
    return { commit: "unknown", srcChanged: [] }
  }
})()

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
  library,
  shellCompileCache: process.env.NODE_COMPILE_CACHE ?? null,
  shellDisableCompileCache: process.env.NODE_DISABLE_COMPILE_CACHE ?? null
}
console.log("effect-multiprocessing: benchmark")
console.log(`node ${machine.node} (v8 ${machine.v8}) on ${machine.platform}`)
console.log(`${machine.cpus} CPUs (availableParallelism ${machine.availableParallelism}): ${machine.model}`)
console.log(`load average at start: ${machine.loadavg.join(" ")}`)
console.log(
  `library at ${library.commit}` +
    (library.srcChanged.length === 0 ? "" : ` + uncommitted changes to ${library.srcChanged.join(", ")}`)
)
if (machine.shellCompileCache !== null || machine.shellDisableCompileCache !== null) {
  console.log("note: NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE are set in this shell; the benchmark sets them per child")
}
emit("BENCH_MACHINE", machine)

/** Groups 1-3 and the phases: process start-up. */
const spawnGroup = async () => {
  console.log(
    `\n== process start-up ==\nrounds: ${samples} (spawn), ${importSamples} (imports), ${phaseSamples} (phases), after ${warmup} warm-up` +
      `${quick ? " (--quick)" : ""}; times in ms, medians and p90 over measured rounds`
  )
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
    group: "spawn",
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
  console.log(`  saved by setting NODE_COMPILE_CACHE by hand (now ~0):         ${findings.earlyCompileCacheSavesOnSpawnJoin}`)
  console.log(`  library spawn + join over raw fork + compile cache:           ${findings.libraryOverRawForkCompileCache}`)

  console.log(`\nGoal: library spawn + join ≤ ${goal}× raw fork of the same TypeScript module (medians)`)
  console.log(`  vs raw fork (plain node):          ${times(join.median, 0)} (paired ${times(join.paired, 0)}) → ${join.median <= goal ? "MET" : "NOT MET"}`)
  console.log(`  vs raw fork with the compile cache: ${times(joinCache.median, 0)} (paired ${times(joinCache.paired, 0)}) → ${joinCache.median <= goal ? "MET" : "NOT MET"}`)
  console.log(`  (finished in ${summary.seconds} s; load average now ${summary.machine.loadavgEnd.join(" ")})`)
  emit("BENCH_SUMMARY", summary)
}

// ---------------------------------------------------------------------------
// queues and events

const queueRounds = Number(flag("queue-rounds") ?? (quick ? 2 : 5))
/** Items per sample. Each variant's n is sized to take about a second at its own speed. */
const sizes = quick
  ? {
    put: { small: 50_000, kb: 25_000 },
    get: { prefetch1: 10_000, prefetch256: 50_000, python: 50_000 },
    joinable: { prefetch1: 10_000, prefetch256: 30_000, python: 50_000 },
    balance: { tasks: 40, ms: 20 },
    event: { rounds: 500, skip: 20 },
    memory: { n: 300_000, every: 50_000 }
  }
  : {
    put: { small: 100_000, kb: 50_000 },
    get: { prefetch1: 20_000, prefetch256: 100_000, python: 100_000 },
    joinable: { prefetch1: 20_000, prefetch256: 100_000, python: 100_000 },
    balance: { tasks: 40, ms: 20 },
    event: { rounds: 1000, skip: 20 },
    memory: { n: 1_000_000, every: 100_000 }
  }
/** The issue's goals for child → parent puts, on this machine: 2× Python's figures as the issue measured them. */
const putGoals = { small: 150_000, kb: 74_000 }
/** The n of a get or joinable variant: prefetch 1 is slow, so it moves fewer items. */
const nOfVariant = (name: string, n: { readonly prefetch1: number; readonly prefetch256: number; readonly python: number }) =>
  name.startsWith("Python") ? n.python : name.includes("prefetch 1") && !name.includes("256") ? n.prefetch1 : n.prefetch256
const memoryBudgetMb = 50

const int = (x: number, n = 10) => Math.round(x).toLocaleString("en-US").padStart(n)
const verdict = (met: boolean) => (met ? "MET" : "NOT MET")

interface Column {
  readonly label: string
  /** The baseline of `variant` in this column (undefined: none). */
  readonly baseline: (variant: string) => string | undefined
}

interface RateRatio {
  readonly to: string
  readonly median: number
  readonly paired: number
}

const rateRatio = (data: Samples, of: string, to: string, metric = "rate"): RateRatio => {
  const a = data.get(of)!.get(metric)!
  const b = data.get(to)!.get(metric)!
  return { to, median: round(stats(a).median / stats(b).median, 3), paired: round(pairedRatio(a, b), 3) }
}

/** A table of items/s: a row per variant, its ratio to the baseline of each column (higher is faster). */
const rateTable = (
  group: string,
  data: Samples,
  title: string,
  columns: ReadonlyArray<Column>,
  items: (variant: string) => number
) => {
  const names = [...data.keys()]
  const width = Math.max(...names.map((n) => n.length)) + 2
  const lines: Array<string> = []
  console.log(`\n${title}`)
  console.log(
    pad("variant", width) + "   items/s median        min        max" +
      columns.map((c) => `   ${`× ${c.label}`.padStart(10)}${"paired".padStart(8)}`).join("")
  )
  for (const name of names) {
    const s = stats(data.get(name)!.get("rate")!)
    const ratios = columns.map((c) => {
      const b = c.baseline(name)
      return b === undefined || b === name ? undefined : rateRatio(data, name, b)
    })
    console.log(
      pad(name, width) + int(s.median, 17) + int(s.min, 11) + int(s.max, 11) +
        ratios.map((r) => r === undefined ? " ".repeat(21) : `   ${times(r.median, 10)}${times(r.paired, 8)}`).join("")
    )
    const spread = data.get(name)!.get("spread")
    lines.push(JSON.stringify({
      group,
      metric: "rate",
      variant: name,
      unit: "items/s",
      items: items(name),
      n: s.n,
      median: Math.round(s.median),
      mean: Math.round(s.mean),
      min: Math.round(s.min),
      max: Math.round(s.max),
      ...(spread === undefined ? {} : { spread: round(stats(spread).median, 2) }),
      ratios: Object.fromEntries(
        ratios.flatMap((r) => r === undefined ? [] : [[r.to, { median: r.median, paired: r.paired }]])
      )
    }))
  }
  for (const line of lines) console.log(`BENCH ${line}`)
}

const rateMedian = (data: Samples, name: string) => Math.round(stats(data.get(name)!.get("rate")!).median)

const queueGroup = async () => {
  const py = pythonVersion()
  const withPython = py !== undefined
  console.log(
    `\n== queues and events ==\n${queueRounds} measured rounds, no warm-up (every sample is a fresh process)` +
      `${quick ? " (--quick)" : ""}; Python: ${py ?? "python3 not found, Python baselines skipped"}`
  )
  const started = performance.now()
  const sizeOf = (name: string) => (name.endsWith("1 KB") ? "1 KB" : "small")

  // 1. child → parent puts
  const put = await runGroup("queue.put", putVariants(sizes.put, withPython), queueRounds, 0)
  rateTable(
    "queue.put",
    put,
    `1. child → parent: a child puts n items, the parent gets them; items/s from the first get to the last` +
      ` (n = ${sizes.put.small} small, ${sizes.put.kb} of 1 KB)`,
    [
      { label: "raw IPC", baseline: (name) => name.startsWith("library") ? `raw IPC, ${sizeOf(name)}` : undefined },
      ...(withPython
        ? [{ label: "Python", baseline: (name: string) => name.startsWith("Python") ? undefined : `Python, ${sizeOf(name)}` }]
        : [])
    ],
    (name) => (sizeOf(name) === "small" ? sizes.put.small : sizes.put.kb)
  )

  console.log("   write-behind, the producer's own clock (medians): its puts returned at ... items/s, then flush waited ... ms")
  for (const [name, m] of put) {
    const putsRate = m.get("putsRate")
    if (putsRate === undefined) continue
    const flushMs = stats(m.get("flushMs")!).median
    console.log(`     ${pad(name, 16)} ${int(stats(putsRate).median, 10)} items/s, flush ${flushMs.toFixed(1)} ms`)
    emit("BENCH", {
      group: "queue.put",
      metric: "producer",
      variant: name,
      putsReturned: { unit: "items/s", median: Math.round(stats(putsRate).median) },
      flush: { unit: "ms", median: round(flushMs) }
    })
  }

  // 2. parent → child gets
  const get = await runGroup("queue.get", getVariants(sizes.get, withPython), queueRounds, 0)
  const consumersOf = (name: string) => (name.includes("4 consumers") ? "4 consumers" : "1 consumer")
  rateTable(
    "queue.get",
    get,
    `2. parent → child: the parent puts n items, consumer children get them until the end; items/s from the first` +
      ` put to the last consumer's end (n = ${sizes.get.prefetch1} with prefetch 1, ${sizes.get.prefetch256} with the default and prefetch 256,` +
      ` ${sizes.get.python} Python)`,
    [
      ...(withPython
        ? [{ label: "Python", baseline: (name: string) => name.startsWith("Python") ? undefined : `Python, ${consumersOf(name)}` }]
        : []),
      {
        label: "prefetch 1",
        baseline: (name) =>
          name.includes("prefetch 256") || name.includes("default") ? `library, ${consumersOf(name)}, prefetch 1` : undefined
      }
    ],
    (name) => nOfVariant(name, sizes.get)
  )
  console.log("   items taken by the busiest consumer ÷ by the idlest (median over rounds; 1 = even):")
  for (const [name, m] of get) {
    if (name.includes("4 consumers")) console.log(`     ${pad(name, 38)} ${stats(m.get("spread")!).median.toFixed(2)}`)
  }

  // 2b. load balancing
  const balance = await runGroup("queue.balance", balanceVariants(sizes.balance.tasks, sizes.balance.ms), queueRounds, 0)
  const ideal = (sizes.balance.tasks * sizes.balance.ms) / 4
  console.log(
    `\n2b. load balancing: 4 consumers, then ${sizes.balance.tasks} tasks of ${sizes.balance.ms} ms each;` +
      ` time until the last consumer is done (ideal ${ideal} ms) and the tasks the busiest consumer took`
  )
  console.log(pad("variant", 26) + "   median ms   max ms   busiest (median)")
  for (const [name, m] of balance) {
    const s = stats(m.get("makespan")!)
    const busiest = stats(m.get("busiest")!).median
    console.log(pad(name, 26) + num(s.median, 12) + num(s.max, 9) + String(busiest).padStart(19))
    emit("BENCH", {
      group: "queue.balance",
      metric: "makespan",
      variant: name,
      unit: "ms",
      tasks: sizes.balance.tasks,
      taskMs: sizes.balance.ms,
      n: s.n,
      median: round(s.median),
      max: round(s.max),
      busiest
    })
  }

  // 3. JoinableQueue
  const joinable = await runGroup("queue.joinable", joinableVariants(sizes.joinable, withPython), queueRounds, 0)
  rateTable(
    "queue.joinable",
    joinable,
    `3. JoinableQueue: the parent puts n items, 4 children get + taskDone each, the parent joins; items/s from the` +
      ` first put to join returning (n = ${sizes.joinable.prefetch1} with prefetch 1, ${sizes.joinable.prefetch256}` +
      ` with the default and prefetch 256, ${sizes.joinable.python} Python)`,
    withPython ? [{ label: "Python", baseline: (name) => name.startsWith("Python") ? undefined : "Python JoinableQueue" }] : [],
    (name) => nOfVariant(name, sizes.joinable)
  )

  // 4. events
  const pooled = new Map<string, Latencies>()
  await runGroup("queue.event", eventVariants(sizes.event.rounds, sizes.event.skip, withPython, pooled), queueRounds, 0)
  console.log(
    `\n4. events, ping-pong: the parent sets A, the child waiting on A wakes and sets B, the parent waiting on B wakes` +
      ` (${sizes.event.rounds} rounds per run after ${sizes.event.skip} dropped, pooled over ${queueRounds} runs; ms)`
  )
  console.log(
    pad("variant", 24) + "   round trip median    p90    p99" + "   set → wake median    p90    p99" +
      (withPython ? "   round trip × Python" : "")
  )
  const pythonTrip = pooled.get("Python Event")
  for (const [name, l] of pooled) {
    const sorted = (values: Array<number>) => [...values].sort((a, b) => a - b)
    const pct = (values: Array<number>, p: number) => sorted(values)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!
    const trip = stats(l.roundTrip)
    const wake = stats(l.setToWake)
    const vsPython = pythonTrip === undefined || name === "Python Event" ? undefined : trip.median / stats(pythonTrip.roundTrip).median
    console.log(
      pad(name, 24) + (trip.median.toFixed(3)).padStart(20) + pct(l.roundTrip, 90).toFixed(3).padStart(7) +
        pct(l.roundTrip, 99).toFixed(3).padStart(7) + (wake.median.toFixed(3)).padStart(20) +
        pct(l.setToWake, 90).toFixed(3).padStart(7) + pct(l.setToWake, 99).toFixed(3).padStart(7) +
        (vsPython === undefined ? "" : times(vsPython, 22))
    )
    emit("BENCH", {
      group: "queue.event",
      variant: name,
      unit: "ms",
      n: trip.n,
      roundTrip: { median: round(trip.median, 3), p90: round(pct(l.roundTrip, 90), 3), p99: round(pct(l.roundTrip, 99), 3) },
      setToWake: { median: round(wake.median, 3), p90: round(pct(l.setToWake, 90), 3), p99: round(pct(l.setToWake, 99), 3) },
      ...(vsPython === undefined ? {} : { roundTripVsPython: round(vsPython, 3) })
    })
  }

  // 5. memory
  const { every, n } = sizes.memory
  console.log(
    `\n5. memory: a child puts ${n.toLocaleString("en-US")} small items, the parent (a fresh process) gets them;` +
      ` sampled every ${every.toLocaleString("en-US")} (MB)`
  )
  const memory = await memoryRunFresh(n, every)
  console.log("     items   seconds   parent RSS   parent heap   child RSS   queued")
  for (const s of memory.samples) {
    console.log(
      int(s.items, 10) + s.seconds.toFixed(2).padStart(10) + s.parentRss.toFixed(1).padStart(13) +
        s.parentHeap.toFixed(1).padStart(14) + (s.childRss?.toFixed(1) ?? "-").padStart(12) + String(s.queued).padStart(9)
    )
  }
  const rss = memory.samples.map((s) => s.parentRss)
  const childRss = memory.samples.flatMap((s) => s.childRss === null ? [] : [s.childRss])
  const memorySummary = {
    items: n,
    every,
    parentRss: { start: rss[0]!, peak: Math.max(...rss), end: rss[rss.length - 1]! },
    childRss: childRss.length === 0 ? null : { start: childRss[0]!, peak: Math.max(...childRss), end: childRss[childRss.length - 1]! },
    liveHeap: { before: memory.liveHeapBefore, after: memory.liveHeapAfter },
    heapSpacesAtEnd: memory.heapSpaces,
    itemsPerSecond: Math.round(n / memory.samples[memory.samples.length - 1]!.seconds),
    budgetMb: memoryBudgetMb,
    flat: Math.max(...rss) - rss[0]! < memoryBudgetMb
  }
  emit("BENCH", { group: "queue.memory", ...memorySummary, samples: memory.samples })
  const growth = round(memorySummary.parentRss.peak - memorySummary.parentRss.start)
  console.log(
    `   parent RSS start ${memorySummary.parentRss.start} / peak ${memorySummary.parentRss.peak} / end ${memorySummary.parentRss.end}` +
      ` (peak − start ${growth} MB: ${memorySummary.flat ? "flat" : "NOT flat"} by the < ${memoryBudgetMb} MB rule)`
  )
  if (memorySummary.childRss !== null) {
    console.log(`   child RSS start ${memorySummary.childRss.start} / peak ${memorySummary.childRss.peak} / end ${memorySummary.childRss.end}`)
  }
  console.log(
    `   parent live heap after a full GC: ${memory.liveHeapBefore} before, ${memory.liveHeapAfter} after` +
      ` (${round(memory.liveHeapAfter - memory.liveHeapBefore)} MB retained)`
  )
  console.log(`   parent V8 heap spaces at the end (MB): ${Object.entries(memory.heapSpaces).map(([k, v]) => `${k} ${v}`).join(", ")}`)

  // summary
  const putRatio = (size: "small" | "1 KB") => withPython ? rateRatio(put, `library, ${size}`, `Python, ${size}`) : undefined
  const getRatio = (name: string, consumers: string) => withPython ? rateRatio(get, name, `Python, ${consumers}`) : undefined
  const goals = {
    putSmallVs2xPython: putRatio("small") === undefined ? null : { ratio: putRatio("small")!.median, met: putRatio("small")!.median >= 2 },
    putKbVs2xPython: putRatio("1 KB") === undefined ? null : { ratio: putRatio("1 KB")!.median, met: putRatio("1 KB")!.median >= 2 },
    putSmallIssueFigure: { goal: putGoals.small, rate: rateMedian(put, "library, small"), met: rateMedian(put, "library, small") >= putGoals.small },
    putKbIssueFigure: { goal: putGoals.kb, rate: rateMedian(put, "library, 1 KB"), met: rateMedian(put, "library, 1 KB") >= putGoals.kb },
    get: Object.fromEntries(
      [...get.keys()].filter((name) => name.startsWith("library")).map((name) => {
        const r = getRatio(name, consumersOf(name))
        return [name, r === undefined ? null : { ratio: r.median, met: r.median >= 1 }]
      })
    ),
    memoryFlat: memorySummary.flat
  }
  const summary = {
    group: "queue",
    python: py ?? null,
    rounds: queueRounds,
    sizes,
    medians: {
      put: Object.fromEntries([...put.keys()].map((name) => [name, rateMedian(put, name)])),
      get: Object.fromEntries([...get.keys()].map((name) => [name, rateMedian(get, name)])),
      joinable: Object.fromEntries([...joinable.keys()].map((name) => [name, rateMedian(joinable, name)])),
      eventRoundTripMs: Object.fromEntries([...pooled].map(([name, l]) => [name, round(stats(l.roundTrip).median, 3)]))
    },
    goals,
    seconds: round((performance.now() - started) / 1000)
  }
  console.log("\nGoals (medians of this run)")
  const line = (label: string, ratio: number | undefined, met: boolean | undefined, extra = "") =>
    console.log(`  ${pad(label, 52)} ${ratio === undefined ? "-" : times(ratio, 0)}${extra} → ${met === undefined ? "no Python" : verdict(met)}`)
  line("put, small: library ≥ 2× Python", putRatio("small")?.median, goals.putSmallVs2xPython?.met)
  line("put, 1 KB: library ≥ 2× Python", putRatio("1 KB")?.median, goals.putKbVs2xPython?.met)
  console.log(
    `  ${pad(`put, small ≥ ${putGoals.small.toLocaleString("en-US")}/s (the issue's figure)`, 52)} ${goals.putSmallIssueFigure.rate.toLocaleString("en-US")}/s → ${verdict(goals.putSmallIssueFigure.met)}`
  )
  console.log(
    `  ${pad(`put, 1 KB ≥ ${putGoals.kb.toLocaleString("en-US")}/s (the issue's figure)`, 52)} ${goals.putKbIssueFigure.rate.toLocaleString("en-US")}/s → ${verdict(goals.putKbIssueFigure.met)}`
  )
  for (const [name, g] of Object.entries(goals.get)) line(`get, ${name.replace("library, ", "")}: ≥ Python`, g?.ratio, g?.met)
  console.log(`  ${pad(`memory over ${n.toLocaleString("en-US")} puts: parent RSS peak − start < ${memoryBudgetMb} MB`, 52)} ${growth} MB → ${verdict(memorySummary.flat)}`)
  console.log(`  (queue group finished in ${summary.seconds} s; load average now ${Os.loadavg().map((x) => round(x, 2)).join(" ")})`)
  emit("BENCH_SUMMARY", summary)
}

/**
 * The pool group is its own script (bench/pool.ts: it loads the peer pools, and its rounds
 * are long); it runs here as a child with this run's `--quick` and `--samples`.
 */
const poolGroup = () =>
  new Promise<void>((resolve, reject) => {
    const passed = process.argv.slice(2).filter((arg) => arg === "--quick" || arg.startsWith("--samples="))
    console.log(`\n# pool group: node bench/pool.ts ${passed.join(" ")}`)
    ChildProcess.spawn(process.execPath, [new URL("./pool.ts", import.meta.url).pathname, ...passed], { stdio: "inherit" })
      .on("error", reject)
      .on("exit", (code) => code === 0 ? resolve() : reject(new Error(`bench/pool.ts exited with ${code}`)))
  })

if (only === undefined || only === "spawn") await spawnGroup()
if (only === undefined || only === "queue") await queueGroup()
if (only === undefined || only === "pool") await poolGroup()
