/**
 * Reading a child's channel: its logs re-emitted here, its readiness, the calls and pushes
 * it makes, and, once the channel ends, the outcome `Process.result` gives.
 */
import * as Os from "node:os"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as References from "effect/References"
import {
  ConnectionLostError,
  DecodeError,
  ExitCodeError,
  ProcessError,
  type ProcessErrorReason,
  SignalError,
  SpawnError
} from "../ProcessError.ts"
import type * as Bridge from "./bridge.ts"
import * as Channel from "./channel.ts"
import { errorMessage, uncaught, withRemoteStack } from "./errors.ts"
import type { ProcessImpl } from "./process.ts"
import * as Protocol from "./protocol.ts"
import * as internalTarget from "./target.ts"

/** `SIGTERM` for an exit code of -15. */
export const signalName = (exitCode: number): string | undefined =>
  Object.entries(Os.constants.signals).find(([, n]) => n === -exitCode)?.[0]

/** How long after the child's exit we still wait for its channel to close. */
export const channelCloseGrace = 1000

interface Outcome {
  readonly resultJson?: unknown
  /** The stack of the result's typed error, in the child. */
  readonly resultStack?: string | undefined
  readonly failure?: ProcessErrorReason
}

/** A line on the channel that was not JSON. */
export class Malformed {
  readonly line: string
  readonly cause: unknown
  constructor(line: string, cause: unknown) {
    this.line = line
    this.cause = cause
  }
}

export const readChannel = <A, E>(self: ProcessImpl<A, E>, inbox: Queue.Queue<unknown, Cause.Done>, link: Bridge.Link) =>
  Effect.gen(function*() {
    let outcome: Outcome = {}
    let protocolError: DecodeError | undefined
    const reportMalformed = (message: string) => {
      protocolError ??= new DecodeError({ payload: "message", message })
      return Effect.logWarning(`malformed message from process ${self.name}: ${message}`)
    }
    while (true) {
      const batch = yield* Queue.takeAll(inbox).pipe(Effect.catchIf(Cause.isDone, () => Effect.succeed(undefined)))
      if (batch === undefined) break
      for (const raw of batch) {
        if (raw instanceof Malformed) {
          yield* reportMalformed(`not JSON: ${raw.line}`)
          continue
        }
        const decoded = Protocol.decodeChildMessage(raw)
        if (decoded._tag === "Failure") {
          yield* reportMalformed(decoded.failure.message)
          continue
        }
        const message = decoded.success
        switch (message._tag) {
          case "Ready": {
            self.ready = true
            Deferred.doneUnsafe(self.readyLatch, Exit.void)
            break
          }
          case "Log": {
            yield* relog(self, message)
            break
          }
          case "Result": {
            outcome = { resultJson: message.exit, resultStack: message.stack }
            break
          }
          case "Failed": {
            outcome = { failure: message.reason }
            break
          }
          case "Call": {
            yield* link.onCall(message)
            break
          }
          case "Cancel": {
            link.onCancel(message.id)
            break
          }
          case "Settle": {
            link.onSettle(message)
            break
          }
          case "Push": {
            // Only a pool's workers push binary parts, and their pool handles pushes as they are read.
            self.onPush?.(message.payload, Channel.noBinary)
            break
          }
        }
      }
    }
    // The channel is closed: the child can no longer take what it was handed.
    yield* link.close
    const exited = outcome.resultJson !== undefined || outcome.failure !== undefined
      ? yield* Deferred.await(self.exited).pipe(Effect.as(true))
      : yield* Deferred.await(self.exited).pipe(
        Effect.timeoutOption(channelCloseGrace),
        Effect.map(Option.isSome)
      )
    const result = settle(self, outcome, exited, protocolError)
    if (Exit.isFailure(result)) {
      const error = Cause.squash(result.cause)
      if (error instanceof ProcessError) Deferred.doneUnsafe(self.readyLatch, Exit.fail(error))
    }
    Deferred.doneUnsafe(self.readyLatch, Exit.void)
    Deferred.doneUnsafe(self.outcome, result)
  })

const relog = <A, E>(self: ProcessImpl<A, E>, log: Protocol.Log) =>
  Effect.logWithLevel(log.level)(...log.message, ...(log.cause === undefined ? [] : [log.cause])).pipe(
    // A grandchild's own name, forwarded through its parent, wins over ours.
    Effect.annotateLogs({ processName: self.name, pid: self.pid, ...log.annotations }),
    Effect.provideService(References.CurrentLogSpans, log.spans)
  )

/** What `result` gives, from what came over the channel and how the child ended. */
const settle = <A, E>(
  self: ProcessImpl<A, E>,
  outcome: Outcome,
  exited: boolean,
  protocolError: DecodeError | undefined
): Exit.Exit<A, E | ProcessError> => {
  if (outcome.resultJson !== undefined) {
    const decoded = internalTarget.codecs(self.target).decodeExit(outcome.resultJson)
    if (Exit.isFailure(decoded)) {
      const payload = Predicate.hasProperty(outcome.resultJson, "_tag") && outcome.resultJson._tag === "Success"
        ? "success"
        : "error"
      return Exit.fail(self.error(new DecodeError({ payload, message: errorMessage(Cause.squash(decoded.cause)) })))
    }
    const exit = decoded.value as Exit.Exit<A, E>
    // Success, or the target's own typed error: exactly what the target produced.
    if (Exit.isSuccess(exit) || Cause.hasFails(exit.cause)) return withRemoteStack(exit, outcome.resultStack)
    if (Cause.hasDies(exit.cause)) return Exit.fail(self.error(uncaught(Cause.squash(exit.cause))))
    // An interruption says nothing the exit status does not: fall through to it.
  }
  if (outcome.failure !== undefined) return Exit.fail(self.error(outcome.failure))
  if (!exited) {
    return Exit.fail(self.error(
      new ConnectionLostError({ message: "the channel to the child closed while the child kept running" })
    ))
  }
  if (protocolError !== undefined) return Exit.fail(self.error(protocolError))
  const exitCode = self.exitCodeValue ?? 0
  if (!self.ready && !self.signalled) {
    return Exit.fail(self.error(
      new SpawnError({ message: `the child exited with code ${exitCode} before it was ready`, exitCode })
    ))
  }
  if (exitCode < 0) {
    return Exit.fail(self.error(new SignalError({ signal: signalName(exitCode) ?? `signal ${-exitCode}`, exitCode })))
  }
  return Exit.fail(self.error(new ExitCodeError({ exitCode })))
}
