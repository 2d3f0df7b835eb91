/**
 * The error of a {@link ProcessEvent}: also reachable as `ProcessEvent.EventClosedError`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The event can no longer be used: the scope that owns it has ended, or the process
 * that owns it is gone. Every waiter, in every process, fails with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventClosedError extends Schema.TaggedError<EventClosedError>()("EventClosedError", {
  message: Schema.String
}) {}
