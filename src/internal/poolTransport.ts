/**
 * The pool's only contact with the process layer: how the pool starts a worker process and
 * talks to it, and how a worker talks to its pool. Every other pool module reaches
 * processes through the two interfaces here (which tests replace with fakes), so that the
 * process layer's transport can change under them.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import { type DecodeError, type OutOfMemoryError, type ProcessError, UncaughtError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import type * as Channel from "./channel.ts"
import * as Current from "./current.ts"
import * as internalProcess from "./process.ts"
import * as PoolProtocol from "./poolProtocol.ts"

// ---------------------------------------------------------------------------
// the pool's side

/** What a worker process is started with. */
export interface WorkerOptions {
  readonly name: string
  readonly initializer: PoolProtocol.WorkerArgs["initializer"]
  /** Added to this process's environment. */
  readonly env: Record<string, string | undefined> | undefined
  readonly execArgv: ReadonlyArray<string> | undefined
  readonly inheritEnv: boolean | ReadonlyArray<string> | undefined
  /** How long `close` waits after SIGTERM before SIGKILL. */
  readonly gracePeriod: Duration.Duration
  /** The largest result or typed error a task may send back (`Infinity`: no limit). */
  readonly maxMessageBytes: number
}

/** How a worker process ended: its exit code, and the error it died of, if it died of one. */
export interface WorkerExit {
  readonly exitCode: number
  readonly uncaught: UncaughtError | OutOfMemoryError | undefined
}

/** Where a worker's messages go; called as they are read. */
export interface WorkerHandlers {
  readonly onMessage: (message: PoolProtocol.WorkerMessage) => void
  /** A message that could not be read (not JSON, not a worker's message), or that `onMessage` threw on: the connection's error, which names the worker. */
  readonly onUnreadable: (error: DecodeError) => void
}

/** A worker process, as the pool uses it. */
export interface WorkerProcess {
  readonly name: string
  /** Spawns it, in a scope of its own (closed by `close`). */
  readonly start: Effect.Effect<void, ProcessError>
  /** Sends a message; throws if it cannot be written (its JSON longer than V8 makes a string). */
  readonly send: (message: PoolProtocol.PoolMessage) => void
  /** Completes once the process has ended (after a successful `start`). */
  readonly exit: Effect.Effect<WorkerExit>
  /** SIGKILL, to it and to what it started. */
  readonly kill: () => void
  /** SIGTERM, SIGKILL after the grace period, and waits for its end. */
  readonly close: Effect.Effect<void>
}

/** Makes (does not start) a worker process. The pool is given one: the real one is `makeWorker`. */
export type MakeWorker = (options: WorkerOptions, handlers: WorkerHandlers) => WorkerProcess

/** The pool's messages ride in `{ _tag: "Pool", message }` on a worker's connection. */
const tag = "Pool"

/** Reads the pool's part of a `Pool` message with `decode`. */
const unwrap = <A>(decode: (message: unknown, binary: Channel.Binary) => Result.Result<A, Schema.SchemaError>) =>
(envelope: unknown, binary: Channel.Binary): Result.Result<A, string> =>
  Result.mapError(decode(Predicate.hasProperty(envelope, "message") ? envelope.message : undefined, binary), (error) => error.message)

const decodeWorkerMessage = unwrap(PoolProtocol.decodeWorkerMessage)
const decodePoolMessage = unwrap(PoolProtocol.decodePoolMessage)

/**
 * What a worker died of, as the cause of its crash: the error it threw, the message
 * from its pool it could not read, or its exhausted heap.
 */
const causeOf = (outcome: Exit.Exit<void, ProcessError>): UncaughtError | OutOfMemoryError | undefined => {
  if (Exit.isSuccess(outcome)) return undefined
  const error = Option.getOrUndefined(Cause.findErrorOption(outcome.cause))
  if (error?.reason._tag === "UncaughtError" || error?.reason._tag === "OutOfMemoryError") return error.reason
  if (error?.reason._tag === "DecodeError") return new UncaughtError({ name: "DecodeError", message: error.reason.message })
  return undefined
}

/** A worker process made by the process layer, running `target` (the worker's loop). */
export const makeWorker = (target: Target.Any): MakeWorker => (options, handlers) => {
  const scope = Scope.makeUnsafe("sequential")
  const process = new internalProcess.ProcessImpl<void, never>(target, {
    args: {
      initializer: options.initializer,
      ...(options.maxMessageBytes === Infinity ? {} : { maxMessageBytes: options.maxMessageBytes })
    },
    name: options.name,
    daemon: true,
    gracePeriod: options.gracePeriod,
    env: options.env,
    execArgv: options.execArgv,
    inheritEnv: options.inheritEnv,
    // A pool's messages carry chunks of many items: a limit made for one payload would refuse them.
    maxMessageBytes: Infinity
  })
  // Registered on its connection before anything is read; what the connection cannot
  // read (not JSON, an unknown tag, a misfit) is unreadable too.
  const extension: internalProcess.Extension = {
    connect: (connection) => connection.register(tag, decodeWorkerMessage, handlers.onMessage),
    onProtocolError: handlers.onUnreadable
  }
  return {
    name: process.name,
    start: Scope.provide(internalProcess.startWith(process, extension), scope),
    send: (message) => {
      const wire = PoolProtocol.encodePoolMessage(message)
      if (process.state._tag === "Running") process.state.connection.send({ _tag: tag, message: wire.json }, wire.binary)
    },
    exit: Effect.flatMap(Deferred.await(process.exited), (exitCode) =>
      // The outcome comes once the channel is read to its end: a worker that died of an
      // exception sent it before it exited.
      Effect.map(Effect.exit(Deferred.await(process.outcome)), (outcome): WorkerExit => ({ exitCode, uncaught: causeOf(outcome) }))),
    kill: () => process.signal("SIGKILL", true),
    close: Scope.close(scope, Exit.void)
  }
}

// ---------------------------------------------------------------------------
// the worker's side

/** Where a worker's pool's messages go. */
export interface PoolHandlers {
  readonly onMessage: (message: PoolProtocol.PoolMessage) => void
  /** A message from the pool that could not be read. */
  readonly onUnreadable: (reason: string) => void
}

/** How a worker talks to its pool. */
export interface PoolLink {
  /** Sends a message: with the rest of this turn's messages, or at once (`now`). Throws if it cannot be written. */
  readonly send: (message: PoolProtocol.WorkerMessage, now?: boolean) => void
  /**
   * Writes what was sent; whether all of it reached the kernel, where it outlives this
   * process (a SIGKILL loses only what waits in the process).
   */
  readonly flush: () => boolean
  /** Completes once what was sent reached the kernel. */
  readonly written: Effect.Effect<void>
  /** Installs the handlers of the pool's messages (one set per process). */
  readonly listen: (handlers: PoolHandlers) => void
}

/**
 * The link of a worker process to the pool that started it: its connection to its parent.
 * A message from the pool that cannot be read is a protocol error of that connection, which
 * stops the worker with a `DecodeError` (see child.ts): `onUnreadable` is for links that
 * read by themselves (tests).
 */
export const poolLink: PoolLink = {
  send: (message, now = false) => {
    const uplink = Current.uplink()
    if (uplink === undefined) return
    const wire = PoolProtocol.encodeWorkerMessage(message)
    uplink.send({ _tag: tag, message: wire.json }, wire.binary)
    if (now) uplink.flush()
  },
  flush: () => {
    const uplink = Current.uplink()
    if (uplink === undefined) return true
    uplink.flush()
    return uplink.allWritten()
  },
  written: Effect.callback<void>((resume) => {
    const uplink = Current.uplink()
    if (uplink === undefined) return resume(Effect.void)
    uplink.flush(() => resume(Effect.void))
  }),
  listen: (handlers) => {
    const uplink = Current.uplink()
    if (uplink === undefined) return handlers.onUnreadable("a pool worker runs only as a pool's child process")
    uplink.register(tag, decodePoolMessage, handlers.onMessage)
  }
}
