/**
 * Runs an effect as the program of this process: SIGINT/SIGTERM interrupt it (so
 * finalizers run), a second signal ends the process at once, and the caller decides
 * the exit status from the effect's exit and the signal that stopped it, if any.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Current from "./current.ts"
import { LifecycleLogs } from "./lifecycle.ts"

/** Why a program was stopped: a signal, its parent gone, or a message from its parent that could not be read. */
export type StopReason = NodeJS.Signals | "parent-gone" | "protocol-error"

/** The signal a program was stopped by, if it was. */
export const signalOf = (reason: StopReason | undefined): NodeJS.Signals | undefined =>
  reason === undefined || reason === "parent-gone" || reason === "protocol-error" ? undefined : reason

export interface Running {
  /** Interrupts the program as a signal would, recording why. */
  readonly stop: (reason: StopReason) => void
}

const signals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM"]

/** Ends this process by `signal`, so that its parent sees death by that signal (Python's `-N`). */
export const dieBySignal = (signal: NodeJS.Signals): void => {
  process.removeAllListeners(signal)
  process.kill(process.pid, signal)
}

/**
 * Runs `effect` as this process's program, with Effect's own `Runtime.makeRunMain` (which
 * keeps the event loop up while the fiber waits on nothing Node counts as pending). Its
 * teardown is not used: the exit status depends on what stopped the program (a signal,
 * the parent gone, a protocol error), which only `onExit` knows, and a child has to report
 * its result to its parent before it exits.
 */
export const launch = <A, E>(
  effect: Effect.Effect<A, E>,
  onExit: (exit: Exit.Exit<A, E>, stoppedBy: StopReason | undefined) => void
): Running => {
  let stoppedBy: StopReason | undefined
  let fiber: Fiber.Fiber<A, E> | undefined
  const stop = (reason: StopReason) => {
    if (stoppedBy !== undefined) {
      const signal = signalOf(reason)
      if (signal !== undefined) dieBySignal(signal)
      return
    }
    stoppedBy = reason
    Deferred.doneUnsafe(Current.state.shutdownRequested, Exit.void)
    fiber?.interruptUnsafe(fiber.id)
  }
  const onSignal = (signal: NodeJS.Signals) => stop(signal)
  // Called in the fiber's first step, before the program: a signal sent right after the
  // program announces itself (a child's Ready) finds the handlers in place.
  const run = Runtime.makeRunMain(({ fiber: main }) => {
    fiber = main as Fiber.Fiber<any, any>
    for (const signal of signals) process.on(signal, onSignal)
    main.addObserver((exit) => {
      for (const signal of signals) process.off(signal, onSignal)
      onExit(exit as unknown as Exit.Exit<A, E>, stoppedBy)
    })
  })
  // Errors are reported by `onExit`'s caller, as Python prints a traceback, not logged.
  run(effect, { disableErrorReporting: true })
  return { stop }
}

/** The code of a `Process.exit(code)` request found in a cause, if any. */
export const exitRequestCode = <E>(cause: Cause.Cause<E>): number | undefined => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Die" && reason.defect instanceof Current.ExitRequest) return reason.defect.code & 0xff
  }
  return undefined
}

/** `Process.runMain`: the main program with Python's exit rules. */
export const runMain = <A, E, R, LE>(
  effect: Effect.Effect<A, E, Scope.Scope | R>,
  options?: { readonly layer?: Layer.Layer<R, LE> | undefined }
): void => {
  const scoped = Effect.gen(function*() {
    const lifecycle = yield* LifecycleLogs
    return yield* effect.pipe(
      Effect.onExit(() => lifecycle ? Effect.logInfo("process shutting down") : Effect.void)
    )
  }).pipe(Effect.scoped)
  // The layer wraps the scope too: its logger sees the shutdown line and the joins.
  const program = (options?.layer === undefined ? scoped : Effect.provide(scoped, options.layer)) as Effect.Effect<
    A,
    E | LE
  >
  launch(program, (exit, stoppedBy) => {
    const signal = signalOf(stoppedBy)
    if (signal !== undefined) return dieBySignal(signal)
    if (Exit.isSuccess(exit)) return
    const requested = exitRequestCode(exit.cause)
    if (requested !== undefined) return process.exit(requested)
    if (!Cause.hasInterruptsOnly(exit.cause)) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
    process.exit(Cause.hasInterruptsOnly(exit.cause) ? 130 : 1)
  })
}
