/**
 * What a child says of its own lifecycle, read in the parent: its readiness, its logs
 * (re-emitted here), its result, and, once its channel ends, the outcome `Process.result`
 * gives. The messages are registered on the child's connection and read in order by one
 * fiber, with the parent's logger.
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
  OutOfMemoryError,
  ProcessError,
  type ProcessErrorReason,
  SignalError,
  SpawnError
} from "../ProcessError.ts"
import * as Connection from "./connection.ts"
import { errorMessage, uncaught, withRemoteStack } from "./errors.ts"
import * as Messages from "./lifecycleMessages.ts"
import type { ProcessImpl } from "./process.ts"
import * as internalTarget from "./target.ts"

/** `SIGTERM` for an exit code of -15. */
export const signalName = (exitCode: number): string | undefined =>
  Object.entries(Os.constants.signals).find(([, n]) => n === -exitCode)?.[0]

/** Death by SIGABRT, how V8 ends a process whose heap is exhausted. */
const abortExitCode = -(Os.constants.signals.SIGABRT)

/** How long after the child's exit we still wait for its channel to close. */
export const channelCloseGrace = 1000

interface Outcome {
  readonly resultJson?: unknown
  /** The stack of the result's typed error, in the child. */
  readonly resultStack?: string | undefined
  readonly failure?: ProcessErrorReason
}

/** What the lifecycle reads from a child's connection, in order: its messages, and its protocol errors. */
export type Incoming = Messages.Log | Messages.Result | Messages.Failed | typeof Messages.Ready.Type | DecodeError

/** Registers the lifecycle's messages on a child's connection: each goes to `inbox`, decoded. */
export const register = (connection: Connection.Connection, inbox: Queue.Queue<Incoming, Cause.Done>): void => {
  for (const schema of [Messages.Ready, Messages.Log, Messages.Result, Messages.Failed] as const) {
    connection.register<Incoming>(
      schema.fields._tag.schema.literal,
      Connection.decodeWith(schema),
      (message) => Queue.offerUnsafe(inbox, message)
    )
  }
}

export const readChannel = <A, E>(
  self: ProcessImpl<A, E>,
  connection: Connection.Connection,
  inbox: Queue.Queue<Incoming, Cause.Done>
) =>
  Effect.gen(function*() {
    let outcome: Outcome = {}
    let protocolError: DecodeError | undefined
    /** The child said it runs its target: an exit after that is the target's, not a failed start. */
    let ready = false
    while (true) {
      const batch = yield* Queue.takeAll(inbox).pipe(Effect.catchIf(Cause.isDone, () => Effect.succeed(undefined)))
      if (batch === undefined) break
      for (const message of batch) {
        switch (message._tag) {
          case "DecodeError": {
            protocolError ??= message
            yield* Effect.logWarning(`protocol error: ${message.message}`)
            break
          }
          case "Ready": {
            ready = true
            self.heapLimit = message.heapLimit
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
        }
      }
    }
    // The channel is closed: the child can no longer take what it was handed.
    yield* connection.closeServing
    const exited = outcome.resultJson !== undefined || outcome.failure !== undefined
      ? yield* Deferred.await(self.exited).pipe(Effect.as(true))
      : yield* Deferred.await(self.exited).pipe(
        Effect.timeoutOption(channelCloseGrace),
        Effect.map(Option.isSome)
      )
    // An abort may be V8 giving up on a full heap: its message on stderr says so, and is
    // read to its end (briefly: a helper the child left may hold the pipe open).
    if (exited && self.state._tag === "Exited" && self.state.exitCode === abortExitCode) {
      yield* Deferred.await(self.stderr.ended).pipe(Effect.timeoutOption(channelCloseGrace))
    }
    const result = settle(self, outcome, exited, ready, protocolError)
    if (Exit.isFailure(result)) {
      const error = Cause.squash(result.cause)
      if (error instanceof ProcessError) Deferred.doneUnsafe(self.readyLatch, Exit.fail(error))
    }
    Deferred.doneUnsafe(self.readyLatch, Exit.void)
    Deferred.doneUnsafe(self.outcome, result)
  })

const relog = <A, E>(self: ProcessImpl<A, E>, log: Messages.Log) =>
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
  ready: boolean,
  protocolError: DecodeError | undefined
): Exit.Exit<A, E | ProcessError> => {
  // The child wrote what could not be read: nothing else it said can be trusted (a lying
  // frame may have swallowed or forged the rest).
  if (protocolError !== undefined) return Exit.fail(self.error(protocolError))
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
  const ended = self.state._tag === "Exited" ? self.state : undefined
  const exitCode = ended?.exitCode ?? 0
  if (exitCode === abortExitCode && self.stderr.outOfMemory) {
    return Exit.fail(self.error(
      new OutOfMemoryError({ heapLimit: self.heapLimit, exitCode, signal: signalName(exitCode) ?? "SIGABRT" })
    ))
  }
  if (!ready && ended?.signalled !== true) {
    return Exit.fail(self.error(
      new SpawnError({ message: `the child exited with code ${exitCode} before it was ready`, exitCode })
    ))
  }
  if (exitCode < 0) {
    return Exit.fail(self.error(new SignalError({ signal: signalName(exitCode) ?? `signal ${-exitCode}`, exitCode })))
  }
  return Exit.fail(self.error(new ExitCodeError({ exitCode })))
}
