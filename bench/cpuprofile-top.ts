/**
 * Summarizes a `.cpuprofile` (from `node --cpu-prof`): `node bench/cpuprofile-top.ts FILE [N]`.
 *
 * Prints the sampled total, self time by function (top N), inclusive time of the frames in
 * the repository's own code (src/, bench/), and, for the hottest function of src/, the
 * source lines its samples fell on. Used for BENCHMARKS-pool.md:
 *
 *     node --cpu-prof --cpu-prof-dir=/tmp/prof bench/pool.ts --profile=64
 *     node bench/cpuprofile-top.ts /tmp/prof/<the parent's profile: the biggest file>
 */
import * as Fs from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
  readonly positionTicks?: ReadonlyArray<{ readonly line: number; readonly ticks: number }>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, top = "25"] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: node bench/cpuprofile-top.ts FILE [N]")
const profile = JSON.parse(Fs.readFileSync(file, "utf8")) as Profile
const N = Number(top)
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

const root = new URL("..", import.meta.url).href
const where = (url: string) => url.replace(root, "").replace(/^.*node_modules\/effect\/dist\//, "effect/").replace(/^.*node_modules\//, "")
const key = (n: Node) => `${n.callFrame.functionName || "(anonymous)"} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
const own = (k: string) => / (src|bench)\//.test(k)

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
for (const [id, us] of selfUs) {
  const n = byId.get(id)!
  self.set(key(n), (self.get(key(n)) ?? 0) + us)
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur)!)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + us)
  }
}

const line = (us: number, what: string) =>
  console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${what}`)
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])

console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`)
console.log("\nself time, by function")
for (const [k, us] of sorted(self).slice(0, N)) line(us, k)
console.log("\ninclusive time, the repository's own frames")
for (const [k, us] of sorted(inclusive).filter(([k]) => own(k)).slice(0, N)) line(us, k)

const hottest = sorted(self).find(([k]) => / src\//.test(k))
if (hottest !== undefined) {
  const ticks = new Map<number, number>()
  for (const n of profile.nodes) {
    if (key(n) !== hottest[0]) continue
    for (const t of n.positionTicks ?? []) ticks.set(t.line, (ticks.get(t.line) ?? 0) + t.ticks)
  }
  const all = [...ticks.values()].reduce((a, b) => a + b, 0)
  console.log(`\nlines of the hottest src/ function (${hottest[0]}), share of its self samples`)
  for (const [l, t] of [...ticks].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  line ${l}: ${((100 * t) / all).toFixed(1)}%`)
}
