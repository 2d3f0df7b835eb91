/**
 * Running a chunk's items in a pool's worker, and encoding their outcomes for the pool.
 *
 * This is the pool's hot path in the worker, run for every item: items run in plain loops
 * (`Effect.whileLoop`, no generator), an item whose effect is already an `Exit` takes no
 * fiber step, a `Target.sync` item no Effect at all, and the clock is read only now and
 * then. See BENCHMARKS-pool.md for what each of these saved.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { constVoid } from "effect/Function"
import * as Scope from "effect/Scope"
import { DecodeError, EncodeError, PayloadTooLargeError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import { errorMessage, typedErrorStack } from "./errors.ts"
import * as PayloadSize from "./payloadSize.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import * as internalTarget from "./target.ts"

/** Why an item has no value: its exit if it failed, or why it could not run. */
type Failure = Exit.Failure<unknown, unknown> | PoolProtocol.TaskFailure

/** A chunk's outcome before it is encoded: a value per item, unless the item is in `failures`. */
export interface Outcomes {
  readonly count: number
  readonly values: Array<unknown>
  readonly failures: Map<number, Failure>
}

export const emptyOutcomes = (count: number): Outcomes => ({ count, values: [], failures: new Map() })

/** An item's effect; a `run` that throws instead of returning one is a defect. */
export const effectOf = (target: Target.Any, item: unknown): Effect.Effect<unknown, unknown, Scope.Scope> => {
  try {
    return target.run(item)
  } catch (defect) {
    return Effect.die(defect)
  }
}

/**
 * Runs a chunk's items one after the other, in a loop that stops only at a failure (rare):
 * the failure is recorded, and the loop goes on from the next item. Each item gets its own
 * `Scope`, closed when the item ends; items that add nothing to their scope share one,
 * which saves a scope per item for the common, scope-free target. If the chunk is
 * interrupted, the running item's scope is closed with the interruption.
 */
export const runItems = (target: Target.Any, args: ReadonlyArray<unknown>): Effect.Effect<Outcomes> => {
  const sync = internalTarget.syncRunOf(target)
  const outcomes = emptyOutcomes(args.length)
  const decode = decoder(target, args, outcomes)
  if (sync !== undefined) return runSyncItems(sync, args, decode, outcomes)
  if (args.length === 1) return runSingle(target, decode === undefined ? args[0] : decode(0), outcomes)
  let next = 0
  let scope = Scope.makeUnsafe()
  const values = outcomes.values
  /**
   * Starts item `next`: the task's effect (a failure ends the loop, see above). An item
   * whose effect is already an `Exit` (`Effect.succeed(f(x))`) needs no fiber step: its
   * value is recorded here and the next item starts, in a plain loop (the last item's
   * effect is returned, for the fiber's `step` to record). The loop lets the fiber yield
   * every `sliceMs`, so that a cancellation can stop a long chunk.
   *
   * Once an item's effect is not an `Exit` (`Effect.sync`...), the next items' effects go
   * to the fiber without asking (asking is a noticeable part of a trivial item's time):
   * an `Exit` among them is an effect the fiber runs like any other.
   */
  let exits = true
  const runNext = (): Effect.Effect<unknown, unknown, Scope.Scope> => {
    let plain = 0
    let sliceStart = 0
    while (true) {
      const index = next++
      const item = decode === undefined ? args[index] : decode(index)
      const effect = item === refused ? Effect.void : effectOf(target, item)
      if (!exits || next === args.length) return effect
      if (!Exit.isExit(effect)) {
        exits = false
        return effect
      }
      if (Exit.isFailure(effect)) return effect
      values[index] = effect.value
      // The clock is read every 64 plain items, not for each (a read costs about as much as one).
      if ((++plain & 63) !== 0) continue
      const now = performance.now()
      if (plain === 64) sliceStart = now
      else if (now - sliceStart >= sliceMs) return Effect.as(Effect.yieldNow, effect.value)
    }
  }
  const itemExit = (index: number): Exit.Exit<unknown, unknown> => {
    const failure = outcomes.failures.get(index)
    return failure === undefined || !Exit.isExit(failure) ? Exit.succeed(values[index]) : failure
  }
  /** Runs items in `scope` until one fails or uses the scope, or none are left. */
  const untilStop = Effect.whileLoop({
    while: () => next < args.length && scope.state._tag === "Empty",
    body: runNext,
    step: (value) => {
      values[next - 1] = value
    }
  })
  const newScope = Effect.sync(() => {
    scope = Scope.makeUnsafe()
  })
  /** One run of `untilStop`: records the failure it stopped at, and closes the scope if it was used. */
  const runSome = () =>
    Effect.flatMap(Effect.exit(Effect.provideService(untilStop, Scope.Scope, scope)), (exit) => {
      if (Exit.isFailure(exit)) outcomes.failures.set(next - 1, exit)
      return scope.state._tag === "Empty" ? Effect.void : Effect.andThen(Scope.close(scope, itemExit(next - 1)), newScope)
    })
  // Loops, not generators: an `Effect.gen` costs more than a one-item chunk's own work.
  return Effect.whileLoop({ while: () => next < args.length, body: runSome, step: constVoid }).pipe(
    Effect.as(outcomes),
    Effect.onInterrupt(() => Scope.close(scope, Exit.interrupt()))
  )
}

/** Records the exit of a chunk's only item. */
export const recordOne = (outcomes: Outcomes, exit: Exit.Exit<unknown, unknown>): Outcomes => {
  if (Exit.isSuccess(exit)) outcomes.values[0] = exit.value
  else outcomes.failures.set(0, exit)
  return outcomes
}

/**
 * A chunk of one item run on its own (a task alone whose target was still loading, an
 * initializer): its effect in a scope of its own, with none of the loop's machinery.
 */
const runSingle = (target: Target.Any, item: unknown, outcomes: Outcomes): Effect.Effect<Outcomes> => {
  if (item === refused) return Effect.succeed(outcomes)
  const effect = effectOf(target, item)
  const record = (exit: Exit.Exit<unknown, unknown>) => recordOne(outcomes, exit)
  if (Exit.isExit(effect)) return Effect.succeed(record(effect))
  const scope = Scope.makeUnsafe()
  return Effect.flatMap(Effect.exit(Effect.provideService(effect, Scope.Scope, scope)), (exit) =>
    scope.state._tag === "Empty" ? Effect.succeed(record(exit)) : Effect.as(Scope.close(scope, exit), record(exit))).pipe(
      Effect.onInterrupt(() => Scope.close(scope, Exit.interrupt()))
    )
}

/** Marks an item whose arguments could not be decoded (its failure is recorded). */
export const refused: unique symbol = Symbol("refused")

/**
 * Decodes item `i`'s arguments, or gives `refused` after recording why they could not be
 * decoded; `undefined` when the arguments are their own JSON (numbers, plain records...)
 * and need no decoding.
 */
export const decoder = (
  target: Target.Any,
  args: ReadonlyArray<unknown>,
  outcomes: Outcomes
): ((i: number) => unknown) | undefined => {
  const codecs = internalTarget.codecs(target)
  if (codecs.allPlainArgs(args)) return undefined
  return (i) => {
    const decoded = codecs.decodeArgs(args[i])
    if (Exit.isSuccess(decoded)) return decoded.value
    const message = errorMessage(Cause.squash(decoded.cause))
    outcomes.failures.set(i, new DecodeError({ payload: "arguments", message }))
    return refused
  }
}

/** How long a `Target.sync` chunk runs before it lets a cancellation in, in ms. */
const sliceMs = 5

/**
 * Runs the items of a `Target.sync` target: plain calls, no fiber step per item. They run
 * in slices of about `sliceMs`, with a yield between slices, so that a cancellation (a
 * message that can only be read between slices) can stop a long chunk. The clock is read
 * after blocks of items, not after each one (a read costs as much as a trivial item): a
 * block doubles while it takes under a sixteenth of a slice, up to 1024 items.
 */
const runSyncItems = (
  sync: internalTarget.SyncRun,
  args: ReadonlyArray<unknown>,
  decode: ((i: number) => unknown) | undefined,
  outcomes: Outcomes
): Effect.Effect<Outcomes> => {
  const count = outcomes.count
  let next = 0
  let block = 1
  const slice = () => {
    const start = performance.now()
    while (next < count) {
      const end = Math.min(count, next + block)
      const blockStart = performance.now()
      runSyncRange(sync, args, decode, outcomes, next, end)
      next = end
      const now = performance.now()
      if (now - start >= sliceMs) return
      if (now - blockStart < sliceMs / 16 && block < 1024) block *= 2
    }
  }
  const runSlice = Effect.sync(slice)
  const yieldThenSlice = Effect.andThen(Effect.yieldNow, runSlice)
  return Effect.whileLoop({
    while: () => next < count,
    body: () => next === 0 ? runSlice : yieldThenSlice,
    step: constVoid
  }).pipe(Effect.as(outcomes))
}

/** Calls a `Target.sync` target's function on items `from` to `to` (excluded), recording each outcome. */
export const runSyncRange = (
  sync: internalTarget.SyncRun,
  args: ReadonlyArray<unknown>,
  decode: ((i: number) => unknown) | undefined,
  { failures, values }: Outcomes,
  from: number,
  to: number
) => {
  // A local index and function: cheaper per trivial item than a closure's own.
  const run = sync.run
  for (let i = from; i < to; i++) {
    const item = decode === undefined ? args[i] : decode(i)
    if (item === refused) continue
    try {
      values[i] = run(item)
    } catch (thrown) {
      failures.set(i, internalTarget.syncExit(sync, thrown) as Exit.Failure<unknown, unknown>)
    }
  }
}

/**
 * A chunk's outcomes on the wire: only the values when every item succeeded, else one
 * result per item. A success or typed error over `limit` (the pool's `maxMessageBytes`)
 * fails its item with `PayloadTooLargeError` instead, before its JSON is built.
 */
export const encodeOutcomes = (
  target: Target.Any,
  { count, failures, values }: Outcomes,
  limit = Infinity
): { values: Array<unknown> } | { items: Array<PoolProtocol.ItemResult> } => {
  const codecs = internalTarget.codecs(target)
  // Values that are their own JSON go as they are (and are no Promise).
  if (failures.size === 0 && codecs.allPlainSuccess(values) && PayloadSize.allWithin(values, limit)) return { values }
  const sync = internalTarget.syncRunOf(target)
  if (sync !== undefined) {
    for (let i = 0; i < count; i++) {
      const defect = failures.has(i) ? undefined : internalTarget.returnedPromise(sync, values[i])
      if (defect !== undefined) failures.set(i, defect)
    }
  }
  if (failures.size === 0) {
    const encoded: Array<unknown> = []
    for (const value of values) {
      const exit = codecs.encodeSuccess(value)
      if (Exit.isFailure(exit) || PayloadSize.over(exit.value, limit) !== undefined) break
      encoded.push(exit.value)
    }
    if (encoded.length === values.length) return { values: encoded }
  }
  return {
    items: Array.from({ length: count }, (_, index): PoolProtocol.ItemResult => {
      const failure = failures.get(index)
      if (failure !== undefined && !Exit.isExit(failure)) return { failure }
      const exit = failure ?? Exit.succeed(values[index])
      const encoded = codecs.encodeExit(exit)
      const size = Exit.isSuccess(encoded) ? PayloadSize.over(encoded.value, limit) : undefined
      if (size !== undefined) {
        return { failure: new PayloadTooLargeError({ payload: Exit.isSuccess(exit) ? "success" : "error", size, limit }) }
      }
      if (Exit.isSuccess(encoded)) {
        const stack = typedErrorStack(exit)
        return stack === undefined ? { exit: encoded.value } : { exit: encoded.value, stack }
      }
      return {
        failure: new EncodeError({
          payload: Exit.isSuccess(exit) ? "success" : "error",
          message: errorMessage(Cause.squash(encoded.cause))
        })
      }
    })
  }
}

/** `count` items' results, each the same failure. */
export const failedItems = (count: number, failure: PoolProtocol.TaskFailure): Array<PoolProtocol.ItemResult> =>
  Array.from({ length: count }, () => ({ failure }))

