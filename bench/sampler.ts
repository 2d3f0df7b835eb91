/**
 * A small interleaved sampler. The machine is shared and noisy, so variants are never
 * measured in blocks: every round runs each variant once, in an order rotated from
 * round to round (A B C, B C A, C A B, ...), so that a slow spell hits all of them
 * alike and no variant always runs right after the same neighbour. One sample may
 * report several metrics at once (ready and join of the same child, say).
 */

export interface Variant {
  readonly name: string
  /** One sample: resolves with its metrics, in milliseconds. */
  readonly run: () => Promise<Record<string, number>>
}

export interface Options {
  readonly warmup: number
  readonly samples: number
  /** Called after each kept round, for progress. */
  readonly onRound?: ((round: number, of: number) => void) | undefined
}

/** Samples by variant name, then by metric; index `i` of every list is round `i`. */
export type Samples = Map<string, Map<string, Array<number>>>

export const interleave = async (variants: ReadonlyArray<Variant>, options: Options): Promise<Samples> => {
  const samples: Samples = new Map(variants.map((v) => [v.name, new Map()]))
  const rounds = options.warmup + options.samples
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!
      const metrics = await variant.run()
      if (round < options.warmup) continue
      const byMetric = samples.get(variant.name)!
      for (const [metric, value] of Object.entries(metrics)) {
        let list = byMetric.get(metric)
        if (list === undefined) byMetric.set(metric, list = [])
        list.push(value)
      }
    }
    if (round >= options.warmup) options.onRound?.(round - options.warmup + 1, options.samples)
  }
  return samples
}

export interface Stats {
  readonly n: number
  readonly median: number
  readonly p90: number
  readonly mean: number
  readonly min: number
  readonly max: number
}

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const stats = (values: ReadonlyArray<number>): Stats => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    n: sorted.length,
    median: median(sorted),
    p90: percentile(sorted, 90),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!
  }
}

/**
 * The median of the per-round ratios a[i] / b[i]. Both samples of a round ran back to
 * back, so this ratio is less exposed to slow spells than the ratio of the medians.
 */
export const pairedRatio = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number =>
  median(a.slice(0, Math.min(a.length, b.length)).map((x, i) => x / b[i]!))

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits))
