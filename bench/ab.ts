/**
 * A/B: the code of this checkout against the code of another checkout of the repository,
 * alternated in one run. `node bench/ab.ts --baseline=<dir> [--rounds=N] [--batches=N]
 * [--warmup=N] [--quick] [--only=pool|queue]` (see bench/README.md, "Comparing two commits").
 *
 * "new" is this checkout (the one this file lies in), "old" the other one, typically a
 * `git worktree` of the commit before a change. The metrics are the ones a refactor must
 * not slow down: the pool's 100k trivial tasks at once, one task at a time and `map` of
 * 100k (bench/pool.ts's metrics 1, 2b and 3, `ours (default)`), and the queue's
 * child → parent puts of small and 1 KB items and gets with 1 and 4 consumers (the
 * library's variants of bench/queue.ts, at bench/run.ts's sizes, default prefetch).
 *
 * How: the bench/ folder of THIS checkout is copied twice into a temporary folder, each
 * copy beside links to one checkout's src/ and node_modules/ (bench/ab-subject.ts says
 * why). So both subjects run the same workload code, each against its own library and
 * its own `effect`, in a process of its own (its pool started once and reused, as in
 * bench/pool.ts). Metric by metric, the two processes take turns, one sample each per
 * round, in an order rotated from round to round (bench/sampler.ts), after a warm-up round
 * that is not kept. The rounds run in batches, each with fresh processes. A ratio is
 * new ÷ old, two ways: of the medians, and paired (the median of the per-round ratios),
 * with a 95 % bootstrap interval of the paired one (resampling batches). The verdict is
 * the paired ratio against ±5 %.
 *
 * Prints a table for people and, for machines, one `BENCH_MACHINE {...}` line (Node, load,
 * both commits and whether their src/ has uncommitted changes), one `BENCH_AB {...}` line
 * per metric, and a `BENCH_AB_SUMMARY {...}` line.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { interleave, median, pairedRatio, round, stats } from "./sampler.ts"

const flag = (name: string): string | undefined => {
  const arg = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  return arg === undefined ? undefined : arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : ""
}
const quick = flag("quick") !== undefined
/**
 * The rounds run in batches, each with fresh processes on both sides: a process has
 * lasting quirks of its own (where its heap and JIT settled, which CPU its workers landed
 * on) that no number of rounds in it averages out. In A/A runs with one process per side,
 * the pool metrics' paired ratios sat 3-9 % off 1.00× with intervals that excluded 1.
 */
const batches = Number(flag("batches") ?? (quick ? 3 : 10))
/** Measured rounds per metric, in all: split evenly over the batches. */
const perBatch = Math.ceil(Number(flag("rounds") ?? (quick ? 12 : 40)) / batches)
const rounds = perBatch * batches
/** Per metric and batch, not kept: the first samples of a fresh process are slower. */
const warmup = Number(flag("warmup") ?? 1)
if (![batches, perBatch].every((x) => Number.isInteger(x) && x > 0) || !(Number.isInteger(warmup) && warmup >= 0)) {
  throw new Error("--rounds and --batches take whole numbers above 0, --warmup one from 0")
}
const only = flag("only")
if (only !== undefined && only !== "pool" && only !== "queue") throw new Error(`--only=pool or --only=queue, not '${only}'`)
const tolerance = 0.05
/** A sample that takes longer than this is a hang: the run stops. */
const sampleTimeoutMs = 180_000

type Group = "pool" | "queue"
type Subject = "old" | "new"

interface Metric {
  /** The command bench/ab-subject.ts runs. */
  readonly id: string
  readonly group: Group
  readonly title: string
  readonly unit: string
  /** Rates: higher is better; times: lower is better. */
  readonly higher: boolean
  /** Rounds, in multiples of `--rounds`: a metric whose sample is short gets more. */
  readonly weight: number
}

/** The issue's list, in the order they run. */
const metrics: ReadonlyArray<Metric> = [
  { id: "pool.all", group: "pool", title: "pool: trivial tasks, all at once", unit: "tasks/s", higher: true, weight: 1 },
  // A sample of these two takes ~50-100 ms (a second for the others): more rounds for little time.
  { id: "pool.latency", group: "pool", title: "pool: one task at a time", unit: "µs/task", higher: false, weight: 4 },
  { id: "pool.map", group: "pool", title: "pool: map, default chunking", unit: "items/s", higher: true, weight: 4 },
  { id: "queue.put.small", group: "queue", title: "queue: child → parent puts, small", unit: "items/s", higher: true, weight: 1 },
  { id: "queue.put.kb", group: "queue", title: "queue: child → parent puts, 1 KB", unit: "items/s", higher: true, weight: 1 },
  { id: "queue.get.1", group: "queue", title: "queue: gets, 1 consumer", unit: "items/s", higher: true, weight: 1 },
  { id: "queue.get.4", group: "queue", title: "queue: gets, 4 consumers", unit: "items/s", higher: true, weight: 1 }
].filter((m) => only === undefined || m.group === only) as ReadonlyArray<Metric>

const emit = (tag: string, value: unknown) => console.log(`${tag} ${JSON.stringify(value)}`)
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const times = (x: number) => `${x.toFixed(3)}×`

// ---------------------------------------------------------------------------
// the two checkouts

const here = Path.resolve(import.meta.dirname, "..")
if (flag("baseline") === undefined || flag("baseline") === "") {
  console.error("usage: node bench/ab.ts --baseline=<another checkout> [--rounds=N] [--batches=N] [--warmup=N] [--quick] [--only=pool|queue]")
  process.exit(2)
}
const checkouts: Record<Subject, string> = { old: Path.resolve(flag("baseline")!), new: here }
for (const dir of Object.values(checkouts)) {
  for (const needed of ["src/index.ts", "node_modules/effect/package.json", "package.json"]) {
    if (!Fs.existsSync(Path.join(dir, needed))) throw new Error(`${dir}: no ${needed} (a checkout of this repository, with npm install done?)`)
  }
}

const git = (dir: string, ...args: Array<string>): string => {
  try {
    return ChildProcess.execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "?"
  }
}
const describe = (dir: string) => {
  const changed = git(dir, "status", "--porcelain", "--", "src").split("\n").filter((l) => l.length > 0).map((l) => l.slice(3))
  return {
    dir,
    commit: git(dir, "rev-parse", "HEAD"),
    /** The tree of src/ at that commit: the same on both sides = the same library, whatever else differs. */
    srcTree: git(dir, "rev-parse", "HEAD:src"),
    srcDirty: changed.length > 0,
    srcChanged: changed,
    effect: (JSON.parse(Fs.readFileSync(Path.join(dir, "node_modules/effect/package.json"), "utf8")) as { version: string }).version
  }
}
const subjects = { old: describe(checkouts.old), new: describe(checkouts.new) }

/**
 * The temporary folder: `<label>/bench` a copy of this checkout's bench/, beside
 * `<label>/src` and `<label>/node_modules`, links to the subject's. Node resolves the
 * links to their real paths, so each process loads one checkout's modules only.
 */
const stage = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-mp-ab-"))
const cleanUp = () => Fs.rmSync(stage, { recursive: true, force: true })
process.once("exit", cleanUp)
process.once("SIGINT", () => process.exit(130))
const staged = Object.fromEntries((["old", "new"] as const).map((subject) => {
  const dir = Path.join(stage, subject)
  Fs.mkdirSync(dir)
  Fs.cpSync(Path.join(here, "bench"), Path.join(dir, "bench"), {
    recursive: true,
    filter: (from) => from !== Path.join(here, "bench", "results")
  })
  for (const link of ["src", "node_modules"]) Fs.symlinkSync(Path.join(checkouts[subject], link), Path.join(dir, link))
  Fs.copyFileSync(Path.join(checkouts[subject], "package.json"), Path.join(dir, "package.json"))
  return [subject, dir]
})) as Record<Subject, string>

// ---------------------------------------------------------------------------
// a subject's process

interface Server {
  readonly ask: (metric: string) => Promise<{ readonly value: number; readonly n: number }>
  readonly close: () => Promise<void>
}

const startServer = async (subject: Subject, group: Group): Promise<Server> => {
  const child = ChildProcess.spawn(process.execPath, [Path.join(staged[subject], "bench", "ab-subject.ts"), `--group=${group}`], {
    cwd: staged[subject],
    stdio: ["pipe", "pipe", "inherit"]
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
  const pending: Array<{ resolve: (line: { tag: string; value: any }) => void; reject: (error: Error) => void }> = []
  Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const match = /^(AB_READY|AB_RESULT|AB_ERROR) (.*)$/.exec(line)
    if (match === null) return void process.stderr.write(`[${subject}] ${line}\n`)
    pending.shift()?.resolve({ tag: match[1]!, value: JSON.parse(match[2]!) })
  })
  void exited.then((code) => {
    for (const p of pending.splice(0)) p.reject(new Error(`${subject} (${group}) exited with ${code}`))
  })
  const next = (what: string) =>
    new Promise<{ tag: string; value: any }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill()
        reject(new Error(`${subject}: ${what} took over ${sampleTimeoutMs / 1000} s`))
      }, sampleTimeoutMs)
      pending.push({
        resolve: (line) => (clearTimeout(timer), resolve(line)),
        reject: (error) => (clearTimeout(timer), reject(error))
      })
    })
  const ready = await next("start")
  const expected = Fs.realpathSync(Path.join(checkouts[subject], "src", "index.ts"))
  if (ready.value.src !== expected) throw new Error(`${subject} runs ${ready.value.src}, not ${expected}`)
  return {
    ask: async (metric) => {
      const answer = next(metric)
      child.stdin!.write(`${metric}\n`)
      const { tag, value } = await answer
      if (tag !== "AB_RESULT") throw new Error(`${subject}, ${metric}: ${value.message}`)
      return value
    },
    close: async () => {
      child.stdin!.end("close\n")
      const code = await exited
      if (code !== 0) throw new Error(`${subject} (${group}) exited with ${code} on close`)
    }
  }
}

// ---------------------------------------------------------------------------
// statistics

/** A small seeded PRNG (mulberry32): the same run gives the same interval. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * 95 % percentile-bootstrap interval of the median of the per-round ratios, resampling
 * whole batches (a cluster bootstrap): the rounds of one batch share their processes, and
 * so are not independent.
 */
const bootstrap = (byBatch: ReadonlyArray<ReadonlyArray<number>>, resamples = 4000): readonly [number, number] => {
  const random = prng(byBatch.flat().length)
  const medians = Array.from({ length: resamples }, () => median(byBatch.flatMap(() => byBatch[Math.floor(random() * byBatch.length)]!)))
  medians.sort((a, b) => a - b)
  return [medians[Math.floor(resamples * 0.025)]!, medians[Math.ceil(resamples * 0.975) - 1]!]
}

/** "faster", "within 5 %" or "SLOWER", from a new ÷ old ratio. */
const verdictOf = (ratio: number, higher: boolean): string => {
  const speed = higher ? ratio : 1 / ratio
  return speed >= 1 + tolerance ? "faster" : speed >= 1 - tolerance ? "within 5 %" : "SLOWER"
}

/** A metric's samples so far: index `i` of both lists is one round; `batches[b]` the samples of batch b. */
interface Result {
  readonly metric: Metric
  n: number
  readonly batches: Array<Record<Subject, Array<number>>>
  seconds: number
}

const analyse = ({ metric, n, batches, seconds }: Result) => {
  const old = batches.flatMap((b) => b.old)
  const neu = batches.flatMap((b) => b.new)
  const so = stats(old)
  const sn = stats(neu)
  const ratios = neu.map((x, i) => x / old[i]!)
  const paired = pairedRatio(neu, old)
  const ci = bootstrap(batches.map((b) => b.new.map((x, i) => x / b.old[i]!)))
  const verdict = verdictOf(paired, metric.higher)
  // Whether the whole interval is on the same side of the slower-by-5 % bound as the
  // paired ratio: only then does this run settle "no speed lost" (or its opposite).
  const lost = (ratio: number) => verdictOf(ratio, metric.higher) === "SLOWER"
  const conclusive = lost(ci[0]) === lost(ci[1])
  return {
    metric: metric.id,
    title: metric.title,
    unit: metric.unit,
    higherIsBetter: metric.higher,
    n,
    rounds: so.n,
    old: { median: round(so.median, 1), min: round(so.min, 1), max: round(so.max, 1) },
    new: { median: round(sn.median, 1), min: round(sn.min, 1), max: round(sn.max, 1) },
    ratioOfMedians: round(sn.median / so.median, 4),
    paired: round(paired, 4),
    pairedCi95: [round(ci[0], 4), round(ci[1], 4)],
    perBatch: batches.map((b) => round(pairedRatio(b.new, b.old), 4)),
    perRound: ratios.map((r) => round(r, 4)),
    tolerance,
    verdict,
    conclusive,
    seconds: round(seconds, 1)
  }
}

// ---------------------------------------------------------------------------
// the run

const cpus = Os.cpus()
const machine = {
  tool: "ab",
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform}/${process.arch}`,
  cpus: cpus.length,
  model: cpus[0]?.model ?? "unknown",
  loadavg: Os.loadavg().map((x) => round(x, 2)),
  rounds,
  batches,
  warmup,
  quick,
  subjects
}
const describeLine = (s: typeof subjects.old) =>
  `${s.dir} at ${s.commit.slice(0, 12)}${s.srcDirty ? ` + uncommitted changes to ${s.srcChanged.join(", ")}` : ", src/ clean"}, effect ${s.effect}`
console.log(`effect-multiprocessing: A/B of two checkouts${quick ? " (--quick)" : ""}`)
console.log(`node ${machine.node} on ${machine.platform}, ${machine.cpus} CPUs: ${machine.model}; load average at start: ${machine.loadavg.join(" ")}`)
console.log(`new = ${describeLine(subjects.new)}`)
console.log(`old = ${describeLine(subjects.old)}`)
if (subjects.old.effect !== subjects.new.effect) console.log("note: the two checkouts have different effect versions installed: part of any difference is Effect's")
if (subjects.old.srcTree === subjects.new.srcTree && !subjects.old.srcDirty && !subjects.new.srcDirty) {
  console.log("note: the same src/ on both sides: an A/A run, its ratios are the noise of this machine")
}
console.log(
  `${rounds} measured rounds per metric (${metrics.filter((m) => m.weight > 1).map((m) => `${m.id} ${rounds * m.weight}`).join(", ")}), ` +
    `in ${batches} batches of fresh processes, each after ${warmup} warm-up round${warmup === 1 ? "" : "s"}; ` +
    "old and new alternated, their order rotated each round"
)
emit("BENCH_MACHINE", machine)

const started = performance.now()
const results = metrics.map((metric): Result => ({ metric, n: 0, batches: [], seconds: 0 }))
for (let batch = 0; batch < batches; batch++) {
  // Which side goes first flips from batch to batch, and so does who starts first.
  const order: ReadonlyArray<Subject> = batch % 2 === 0 ? ["old", "new"] : ["new", "old"]
  const t0 = performance.now()
  for (const group of ["pool", "queue"] as const) {
    const ofGroup = results.filter((r) => r.metric.group === group)
    if (ofGroup.length === 0) continue
    const servers = {} as Record<Subject, Server>
    for (const subject of order) servers[subject] = await startServer(subject, group)
    for (const result of ofGroup) {
      const t1 = performance.now()
      const data = await interleave(
        order.map((subject) => ({
          name: subject,
          run: async () => {
            const sample = await servers[subject].ask(result.metric.id)
            result.n = sample.n
            return { value: sample.value }
          }
        })),
        {
          warmup,
          samples: perBatch * result.metric.weight,
          onRound: (done, of) => {
            if (process.stderr.isTTY) process.stderr.write(`\r  batch ${batch + 1}/${batches}, ${result.metric.id}: ${done}/${of} rounds\x1b[K`)
          }
        }
      )
      result.batches.push({ old: data.get("old")!.get("value")!, new: data.get("new")!.get("value")! })
      result.seconds += (performance.now() - t1) / 1000
    }
    await Promise.all(order.map((subject) => servers[subject].close()))
  }
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K")
  console.log(
    `batch ${batch + 1}/${batches} (${fmt((performance.now() - t0) / 1000)} s), paired new ÷ old: ` +
      results.map((r) => {
        const b = r.batches[batch]!
        return `${r.metric.id} ${times(pairedRatio(b.new, b.old))}`
      }).join(", ")
  )
}

// ---------------------------------------------------------------------------
// the table

const analysed = results.map(analyse)
const columns = [
  ["metric", 34],
  ["unit", 8],
  ["n", 8],
  ["rounds", 6],
  ["old median", 13],
  ["new median", 13],
  ["÷ medians", 10],
  ["÷ paired", 10],
  ["paired 95 % CI", 17],
  ["verdict (±5 %)", 0]
] as const
const row = (cells: ReadonlyArray<string>) =>
  console.log(cells.map((c, i) => (i < 2 ? c.padEnd(columns[i]![1]) : c.padStart(columns[i]![1]))).join("  ").trimEnd())
console.log("\nnew ÷ old (µs/task: lower is better; the others are rates, higher is better)")
row(columns.map(([name]) => name))
for (const a of analysed) {
  row([
    a.title,
    a.unit,
    fmt(a.n),
    String(a.rounds),
    fmt(a.old.median, a.unit === "µs/task" ? 1 : 0),
    fmt(a.new.median, a.unit === "µs/task" ? 1 : 0),
    times(a.ratioOfMedians),
    times(a.paired),
    `${a.pairedCi95[0]!.toFixed(3)}-${a.pairedCi95[1]!.toFixed(3)}`,
    `  ${a.verdict}${a.conclusive ? "" : " (CI crosses 5 % slower)"}`
  ])
}
for (const a of analysed) emit("BENCH_AB", a)

const slower = analysed.filter((a) => a.verdict === "SLOWER").map((a) => a.metric)
const inconclusive = analysed.filter((a) => !a.conclusive).map((a) => a.metric)
const seconds = round((performance.now() - started) / 1000, 1)
const loadavgEnd = Os.loadavg().map((x) => round(x, 2))
console.log(
  `\n${slower.length === 0 ? `no metric slower than old by more than ${tolerance * 100} % (paired)` : `SLOWER by more than ${tolerance * 100} %: ${slower.join(", ")}`}` +
    (inconclusive.length === 0 ? "" : `; the 95 % interval crosses that bound for ${inconclusive.join(", ")}: more --rounds and --batches (or a quieter machine) to settle them`)
)
console.log(`done in ${fmt(seconds, 1)} s; load average at end: ${loadavgEnd.join(" ")}`)
emit("BENCH_AB_SUMMARY", { noSpeedLost: slower.length === 0, slower, inconclusive, rounds, batches, warmup, tolerance, seconds, loadavgEnd })
