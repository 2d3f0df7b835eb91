/**
 * An event flag shared between processes: Python's `multiprocessing.Event`.
 *
 * The event lives in the process that makes it, as an Effect `Latch`, for as long as the
 * scope it was made in. Passed to a child as a target argument (its Schema is
 * {@link schema}), it becomes a proxy there with the same operations, served by the
 * owner over the child's channel. A child may pass it on to its own children.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { Pipeable } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Reference } from "./internal/remoteObject.ts"
import * as internal from "./internal/processEvent.ts"
import type { EventClosedError } from "./ProcessEventError.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = "~effect-multiprocessing/ProcessEvent"

/**
 * An event flag. `String(event)` says whether it is set: `<ProcessEvent owned set>`,
 * `<ProcessEvent owned unset>` or `<ProcessEvent owned closed>` in its owner; a proxy
 * says what it last saw of the flag (`<ProcessEvent proxy set when last seen>`), since
 * reading the owner's flag takes a round trip (`isSet`).
 *
 * **Python** `repr(event)`: `<Event at 0x… set>` / `unset`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessEvent extends Pipeable {
  readonly [internal.TypeId]: TypeId
}

/**
 * The event can no longer be used: its owner's scope has ended, or its owner is gone.
 *
 * @since 0.1.0
 * @category errors
 */
export { EventClosedError } from "./ProcessEventError.ts"

/**
 * @since 0.1.0
 * @category guards
 */
export const isProcessEvent: (u: unknown) => u is ProcessEvent = internal.isProcessEvent

/**
 * Makes an event, unset, owned by the current scope. When the scope closes, every waiter
 * in every process fails with {@link EventClosedError}.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Process, ProcessEvent, Target } from "effect-multiprocessing"
 *
 * export const waiter = Target.make("waiter", {
 *   module: import.meta.url,
 *   args: ProcessEvent.schema,
 *   success: Schema.Boolean,
 *   run: (event) => ProcessEvent.wait(event, { timeout: "2 seconds" })
 * })
 *
 * const program = Effect.gen(function*() {
 *   const event = yield* ProcessEvent.make
 *   const p = yield* Process.spawn(waiter, { args: event })
 *   yield* ProcessEvent.set(event)
 *   return yield* Process.result(p) // true
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<ProcessEvent, never, Scope.Scope> = internal.make

/**
 * The Schema of an event as a target argument: it crosses as a reference, and the child
 * gets a proxy to the owner's event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema: Schema.Codec<ProcessEvent, Reference<"ProcessEvent">> =
  internal.schema

/**
 * Sets the flag and wakes every waiter, in every process.
 *
 * @since 0.1.0
 * @category operations
 */
export const set: (self: ProcessEvent) => Effect.Effect<void, EventClosedError> = internal.set

/**
 * Clears the flag: waiters from now on block until the next `set`.
 *
 * @since 0.1.0
 * @category operations
 */
export const clear: (self: ProcessEvent) => Effect.Effect<void, EventClosedError> = internal.clear

/**
 * Whether the flag is set.
 *
 * **Python** `Event.is_set()`.
 *
 * @since 0.1.0
 * @category operations
 */
export const isSet: (self: ProcessEvent) => Effect.Effect<boolean, EventClosedError> = internal.isSet

/**
 * Waits until the flag is set and returns `true`. With a `timeout`, returns `true` if the
 * flag was set at any moment while it waited (even if a `clear` followed at once), and
 * `false` if the time ran out with the flag unset. Interrupting a wait in a child cancels
 * the owner's side of it too.
 *
 * **Python** `threading.Event.wait(timeout)` / `multiprocessing.Event.wait(timeout)`:
 * the same semantics.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ProcessEvent } from "effect-multiprocessing"
 *
 * declare const event: ProcessEvent.ProcessEvent
 * const flag = ProcessEvent.wait(event, { timeout: "2 seconds" }) // false if unset after 2 s
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const wait: {
  (options: { readonly timeout: Duration.Input }): (self: ProcessEvent) => Effect.Effect<boolean, EventClosedError>
  (self: ProcessEvent, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<boolean, EventClosedError>
} = internal.wait
