/**
 * An exponential moving average: what adaptive settings (how much work to send a worker
 * ahead, how many items a consumer fetches) learn from the timings they see. `weight` is
 * the share of the new sample; the first sample stands alone.
 */
export const movingAverage = (previous: number | undefined, sample: number, weight: number): number =>
  previous === undefined ? sample : previous * (1 - weight) + sample * weight
