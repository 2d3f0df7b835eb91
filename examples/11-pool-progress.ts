/**
 * A pool crunching a CPU-bound job with a progress bar: counts the primes below 2,000,000
 * in 200 ranges, on as many workers as there are CPUs, drawing the bar on stderr as the
 * chunks complete (redrawn in place on a terminal, one line per update otherwise).
 *
 *   node examples/11-pool-progress.ts
 */
import { Console, Effect, Schema } from "effect"
import { Process, ProcessPool, Target } from "../src/index.ts"

const isPrime = (n: number): boolean => {
  if (n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}

/** Primes in [from, to): pure CPU work, so a plain function (`Target.sync`), as in Python. */
export const countPrimes = Target.sync("countPrimes", {
  module: import.meta.url,
  args: Schema.Tuple([Schema.Int, Schema.Int]),
  success: Schema.Int,
  run: ([from, to]) => {
    let count = 0
    for (let n = from; n < to; n++) if (isPrime(n)) count++
    return count
  }
})

const bar = (completed: number, total: number, width = 40): string => {
  const filled = Math.round((completed / total) * width)
  return `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${completed}/${total}`
}

if (import.meta.main) {
  const limit = 2_000_000
  const step = limit / 200
  const ranges = Array.from({ length: 200 }, (_, i) => [i * step, (i + 1) * step] as const)
  const tty = process.stderr.isTTY === true

  Process.runMain(Effect.gen(function*() {
    const pool = yield* ProcessPool.make()
    const started = Date.now()
    const counts = yield* ProcessPool.starmap(pool, countPrimes, ranges, {
      chunkSize: 5,
      onProgress: ({ completed, total }) =>
        Effect.sync(() => process.stderr.write(tty ? `\r${bar(completed, total)}` : `${bar(completed, total)}\n`))
    })
    if (tty) process.stderr.write("\n")
    const primes = counts.reduce((a, b) => a + b, 0)
    yield* Console.log(`${primes} primes below ${limit} (${pool.size} workers, ${Date.now() - started} ms)`)
  }))
}
