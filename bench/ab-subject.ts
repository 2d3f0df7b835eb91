/**
 * One subject of the A/B comparison (bench/ab.ts): a long-lived process that runs one
 * checkout's code, and measures one sample whenever it is asked to.
 *
 * bench/ab.ts does not run this file where it lies: it copies this bench/ folder next to
 * links to a checkout's src/ and node_modules/, and starts the copy, so that the workloads
 * below (bench/pool-subjects.ts and bench/queue.ts, the code `npm run bench` runs) import
 * that checkout's library and its `effect`, and nothing else. The workers and queue
 * children the library spawns import the copied fixtures, and so the same checkout.
 *
 * `node ab-subject.ts --group=pool|queue`, then one command a line on stdin:
 * a metric's id (see `runners`) → one `AB_RESULT {"value":…,"n":…}` line on stdout (or
 * `AB_ERROR {"message":…}`); `close` → closes the pool and exits. Ready once it has
 * printed `AB_READY {…}` (the files it runs, as real paths, and the `effect` version).
 */
import * as Fs from "node:fs"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import type { Variant } from "./sampler.ts"
import { median } from "./sampler.ts"

const group = process.argv.slice(2).find((a) => a.startsWith("--group="))?.slice("--group=".length)

export interface Sample {
  /** tasks/s or items/s, or µs per task. */
  readonly value: number
  /** Tasks or items in the sample. */
  readonly n: number
}

interface Subject {
  readonly runners: Record<string, () => Promise<Sample>>
  readonly close: () => Promise<void>
}

/** `run` timed: ms. */
const timed = async (run: () => Promise<void>): Promise<number> => {
  const t0 = performance.now()
  await run()
  return performance.now() - t0
}

/**
 * Metrics 1, 2b and 3 of bench/pool.ts, for `ours (default)`: its pool, started and
 * warmed as bench/pool.ts does, reused by every sample.
 */
const poolSubject = async (): Promise<Subject> => {
  const { subjects } = await import("./pool-subjects.ts")
  const pool = subjects().find((s) => s.name === "ours (default)")!
  await pool.start()
  await pool.window(5_000, 64)
  await pool.all(5_000)
  const all = 100_000
  const latency = 2_000
  const map = 100_000
  const mapRepeats = 5
  return {
    runners: {
      // 1. trivial tasks submitted one by one, all at once: tasks/s
      "pool.all": async () => ({ value: all / ((await timed(() => pool.all(all))) / 1000), n: all }),
      // 2b. one task at a time: µs per round trip
      "pool.latency": async () => ({ value: ((await timed(() => pool.window(latency, 1))) * 1000) / latency, n: latency }),
      // 3. map of 100k trivial items, default chunking: items/s, the median of a few maps in a row
      "pool.map": async () => {
        const rates: Array<number> = []
        for (let i = 0; i < mapRepeats; i++) rates.push(map / ((await timed(() => pool.map!(map))) / 1000))
        return { value: median(rates), n: map }
      }
    },
    close: () => pool.close()
  }
}

/** Groups 1 and 2 of the queue benchmark (bench/queue.ts), the library's variants, at bench/run.ts's sizes. */
const queueSubject = async (): Promise<Subject> => {
  const { getVariants, putVariants } = await import("./queue.ts")
  const put = { small: 100_000, kb: 50_000 }
  const get = { prefetch1: 20_000, prefetch256: 100_000, python: 0 }
  const variants = [...putVariants(put, false), ...getVariants(get, false)]
  const runner = (name: string, n: number) => {
    const variant: Variant | undefined = variants.find((v) => v.name === name)
    if (variant === undefined) throw new Error(`ab-subject: no queue variant '${name}'`)
    return async (): Promise<Sample> => ({ value: (await variant.run()).rate!, n })
  }
  return {
    runners: {
      "queue.put.small": runner("library, small", put.small),
      "queue.put.kb": runner("library, 1 KB", put.kb),
      "queue.get.1": runner("library, 1 consumer, default (adaptive)", get.prefetch256),
      "queue.get.4": runner("library, 4 consumers, default (adaptive)", get.prefetch256)
    },
    close: async () => {}
  }
}

const line = (tag: string, value: unknown) => process.stdout.write(`${tag} ${JSON.stringify(value)}\n`)

if (group !== "pool" && group !== "queue") throw new Error(`ab-subject: --group=pool or --group=queue, not '${group}'`)
const subject = group === "pool" ? await poolSubject() : await queueSubject()
const real = (relative: string) => Fs.realpathSync(fileURLToPath(new URL(relative, import.meta.url)))
line("AB_READY", {
  group,
  src: real("../src/index.ts"),
  effect: JSON.parse(Fs.readFileSync(real("../node_modules/effect/package.json"), "utf8")).version,
  metrics: Object.keys(subject.runners)
})

for await (const command of Readline.createInterface({ input: process.stdin })) {
  if (command === "close") break
  const run = subject.runners[command]
  try {
    if (run === undefined) throw new Error(`no metric '${command}' in group ${group}`)
    line("AB_RESULT", await run())
  } catch (error) {
    line("AB_ERROR", { message: error instanceof Error ? error.stack ?? error.message : String(error) })
  }
}
await subject.close()
process.exit(0)
