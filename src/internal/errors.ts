import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { UncaughtError } from "../ProcessError.ts"

/** A defect from a child, as the typed reason that carries its name, message and stack. */
export const uncaught = (defect: unknown): UncaughtError =>
  defect instanceof Error
    ? new UncaughtError({ name: defect.name, message: defect.message, stack: defect.stack })
    : new UncaughtError({ name: "Error", message: errorMessage(defect) })

export const errorMessage = (u: unknown): string =>
  u instanceof Error ? u.message : typeof u === "string" ? u : String(u)

/** An exit's typed error, when it is an `Error` (and so has a stack). */
const typedError = (exit: Exit.Exit<unknown, unknown>): Error | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.findErrorOption(exit.cause)
  return Option.isSome(error) && error.value instanceof Error ? error.value : undefined
}

/**
 * The stack of an exit's typed error, where it was made. Its Schema does not carry it (a
 * stack is no field of the error), so it travels beside the exit; see `withRemoteStack`.
 */
export const typedErrorStack = (exit: Exit.Exit<unknown, unknown>): string | undefined => typedError(exit)?.stack

/**
 * Gives a decoded typed error the stack it had in the process that made it, as Python
 * re-raises a worker's exception with the worker's traceback.
 */
export const withRemoteStack = <A, E>(exit: Exit.Exit<A, E>, stack: string | undefined): Exit.Exit<A, E> => {
  const error = stack === undefined ? undefined : typedError(exit)
  if (error !== undefined) Object.defineProperty(error, "stack", { value: stack, writable: true, configurable: true })
  return exit
}
