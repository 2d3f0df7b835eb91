/**
 * Parent side of a child process: its handle and states, starting it, signals, waiting,
 * and the scope rules (join non-daemons, terminate daemons and interrupted). Spawning is
 * processSpawn.ts; what the child says of its own lifecycle (ready, logs, result) is read
 * by processLifecycle.ts.
 */
import type * as ChildProcess from "node:child_process"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import type * as Fiber from "effect/Fiber"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Process from "../Process.ts"
import {
  type DecodeError,
  EncodeError,
  PayloadTooLargeError,
  ProcessError,
  type ProcessErrorReason
} from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import * as AckFile from "./ackFile.ts"
import * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import { errorMessage } from "./errors.ts"
import { LifecycleLogs } from "./lifecycle.ts"
import * as Messages from "./lifecycleMessages.ts"
import * as PayloadSize from "./payloadSize.ts"
import * as Lifecycle from "./processLifecycle.ts"
import * as Spawn from "./processSpawn.ts"
import * as internalTarget from "./target.ts"

export const TypeId: Process.TypeId = "~effect-multiprocessing/Process"

const variance: Process.Variance<never, never> = { _A: (_) => _, _E: (_) => _ }

export const isProcess = (u: unknown): u is Process.Process<unknown, unknown> => Predicate.hasProperty(u, TypeId)

const defaultGracePeriod = Duration.seconds(5)

/**
 * Where a process handle is in its life. `signalled`: we sent the child a signal, so an
 * end by signal was asked for, not a crash.
 */
export type State =
  | { readonly _tag: "Initial" }
  | {
    readonly _tag: "Running"
    readonly child: ChildProcess.ChildProcess
    readonly pid: number
    readonly connection: Connection.Connection
    signalled: boolean
    /** The SIGKILL that follows a SIGTERM after the grace period, once `terminate` was called. */
    escalation: Fiber.Fiber<void> | undefined
  }
  | { readonly _tag: "Exited"; readonly pid: number; readonly exitCode: number; readonly signalled: boolean }
  /** It could not be spawned, or was killed before it started (its arguments could not be sent). */
  | { readonly _tag: "NotSpawned" }

/**
 * What a layer built on processes (a pool) adds to a child's connection: its own message
 * handlers, registered before anything is read, and what it does on a protocol error.
 */
export interface Extension {
  readonly connect: (connection: Connection.Connection) => void
  readonly onProtocolError?: ((error: DecodeError) => void) | undefined
}

export class ProcessImpl<A, E> implements Process.Process<A, E> {
  readonly [TypeId]: Process.Variance<A, E> = variance
  readonly name: string
  readonly daemon: boolean
  readonly target: Target.Any
  readonly parentPid: number = process.pid
  readonly identity: ReadonlyArray<number>
  /** How to spawn it, without the arguments (see `args`). */
  readonly options: Omit<Process.Options<unknown>, "args">
  /** The arguments until they are encoded for the child: the handle does not keep them alive after. */
  args: unknown
  state: State = { _tag: "Initial" }
  readonly exited: Deferred.Deferred<number> = Deferred.makeUnsafe<number>()
  readonly readyLatch: Deferred.Deferred<void, ProcessError> = Deferred.makeUnsafe<void, ProcessError>()
  /** The child's V8 heap limit in bytes, as it said when it became ready. */
  heapLimit: number | undefined = undefined
  /** What the child's stderr showed of its end, read as it is forwarded (see processSpawn.ts). */
  readonly stderr: { outOfMemory: boolean; readonly ended: Deferred.Deferred<void> } = {
    outOfMemory: false,
    ended: Deferred.makeUnsafe<void>()
  }
  /**
   * What the target produced. Kept as long as the handle is: `Process.result` may be read
   * at any time after the end, after the scope that started the process closed too.
   */
  readonly outcome: Deferred.Deferred<A, E | ProcessError> = Deferred.makeUnsafe<A, E | ProcessError>()

  constructor(target: Target.Any, { args, ...options }: Process.Options<unknown>) {
    this.target = target
    this.args = args
    this.options = options
    this.identity = Current.nextIdentity()
    this.name = options.name ?? `${target.kind}-${this.identity.join(":")}`
    // Python: `daemon` defaults to the creating process's own flag.
    this.daemon = options.daemon ?? (Current.state.role._tag === "Child" && Current.state.role.self.daemon)
  }

  get pid(): number | undefined {
    return this.state._tag === "Running" || this.state._tag === "Exited" ? this.state.pid : undefined
  }

  get exitCode(): number | undefined {
    return this.state._tag === "Exited" ? this.state.exitCode : undefined
  }

  get maxMessageBytes(): number {
    return this.options.maxMessageBytes ?? PayloadSize.defaultMaxMessageBytes
  }

  get gracePeriod(): Duration.Duration {
    return this.options.gracePeriod === undefined ? defaultGracePeriod : Duration.fromInputUnsafe(this.options.gracePeriod)
  }

  /** Python's status words: initial, started, stopped. */
  get status(): "initial" | "started" | "stopped" {
    return this.state._tag === "Initial" ? "initial" : this.state._tag === "Running" ? "started" : "stopped"
  }

  get isAliveUnsafe(): boolean {
    return this.state._tag === "Running"
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toString(): string {
    const info = [this.target.kind, `name='${this.name}'`]
    if (this.pid !== undefined) info.push(`pid=${this.pid}`)
    info.push(`parent=${this.parentPid}`, this.status)
    const exitCode = this.exitCode
    if (exitCode !== undefined) {
      const name = exitCode < 0 ? Lifecycle.signalName(exitCode) : undefined
      info.push(`exitcode=${name === undefined ? exitCode : `-${name}`}`)
    }
    if (this.daemon) info.push("daemon")
    return `<${info.join(" ")}>`
  }

  toJSON(): unknown {
    return { _id: "Process", name: this.name, pid: this.pid, status: this.status, exitCode: this.exitCode }
  }

  [NodeInspectSymbol](): string {
    return this.toString()
  }

  error(reason: ProcessErrorReason): ProcessError {
    return new ProcessError({ process: this.name, pid: this.pid, reason })
  }

  signal(signal: NodeJS.Signals, group = false): void {
    if (this.state._tag !== "Running") return
    this.state.signalled = true
    try {
      // A top-level child leads its own process group: SIGKILL to the group takes its
      // whole subtree, grandchildren included.
      process.kill(group && !Current.isChild() ? -this.state.pid : this.state.pid, signal)
    } catch {
      // ESRCH: it is already gone; its exit event is on the way.
    }
  }
}

// ---------------------------------------------------------------------------
// construction and start

export const make = <A, E>(target: Target.Target<any, A, E>, options?: Process.Options<unknown>) =>
  Effect.sync((): Process.Process<A, E> => new ProcessImpl<A, E>(target, options ?? {}))

export const start = <A, E>(self: Process.Process<A, E>): Effect.Effect<void, ProcessError, Scope.Scope> =>
  startWith(self as ProcessImpl<A, E>, undefined)

/** Starts a process, with what a layer built on it (a pool) adds to its connection. */
export const startWith = Effect.fnUntraced(function*<A, E>(impl: ProcessImpl<A, E>, extension: Extension | undefined) {
  if (impl.state._tag !== "Initial") {
    return yield* Effect.die(new Error(`cannot start a process twice: ${impl}`))
  }
  const limit = impl.maxMessageBytes
  if (!(limit > 0)) {
    return yield* Effect.die(new Error(`maxMessageBytes must be a positive number (or Infinity), got ${limit}: ${impl}`))
  }
  const args = internalTarget.codecs(impl.target).encodeArgs(impl.args)
  if (Exit.isFailure(args)) {
    return yield* Effect.fail(
      impl.error(new EncodeError({ payload: "arguments", message: errorMessage(Cause.squash(args.cause)) }))
    )
  }
  const size = PayloadSize.over(args.value, limit)
  if (size !== undefined) {
    return yield* Effect.fail(impl.error(new PayloadTooLargeError({ payload: "arguments", size, limit })))
  }
  // Encoded: the child gets its own copy, and the caller's object is theirs alone again.
  impl.args = undefined
  const scope = yield* Effect.scope
  const start = encodeStart({
    _tag: "Start",
    module: impl.target.module,
    target: impl.target.name,
    name: impl.name,
    identity: impl.identity,
    daemon: impl.daemon,
    args: args.value,
    parentName: Current.info().name,
    parentPid: process.pid,
    logLevel: yield* References.MinimumLogLevel,
    lifecycleLogs: yield* LifecycleLogs
  })
  const inbox = yield* Queue.unbounded<Lifecycle.Incoming, Cause.Done>()
  const context = yield* Effect.context<never>()
  const ackFileLimit = yield* AckFile.Limit
  const connection = yield* Effect.uninterruptible(Spawn.spawnChild(impl, inbox, { message: start }, { context, ackFileLimit }, extension))
  // The reader is forked before the release is added, so at scope close the release
  // (which waits for the reader to finish) runs first and the reader is not cut short.
  yield* Effect.forkIn(Lifecycle.readChannel(impl, connection, inbox), scope)
  let siblings = Current.state.byScope.get(scope)
  if (siblings === undefined) Current.state.byScope.set(scope, siblings = new Set())
  siblings.add(impl)
  yield* Effect.addFinalizer((exit) => release(impl, siblings, exit))
})

const encodeStart = Schema.encodeSync(Schema.toCodecJson(Messages.Start))

// ---------------------------------------------------------------------------
// signals and waiting

/** Waits on one of the handle's latches; using a handle that was never started is a defect, as in Python. */
const whenStarted = <A, E, X, Y>(
  self: ProcessImpl<A, E>,
  verb: string,
  latch: (self: ProcessImpl<A, E>) => Deferred.Deferred<X, Y>
): Effect.Effect<X, Y> =>
  Effect.suspend(() =>
    self.state._tag === "Initial"
      ? Effect.die(new Error(`can only ${verb} a started process: ${self}`))
      : Deferred.await(latch(self))
  )

/**
 * The exit code, once the child has exited and its channel is read to the end: a join
 * returns after the child's last logs were emitted here, never before.
 */
const awaitExit = <A, E>(self: ProcessImpl<A, E>): Effect.Effect<number> =>
  Effect.suspend(() =>
    // Its start failed: it has no exit to wait for (Python: "can only join a started process").
    self.state._tag === "NotSpawned"
      ? Effect.die(new Error(`can only join a started process, and this one failed to start: ${self}`))
      : Effect.andThen(
        whenStarted(self, "join", (p) => p.exited),
        (code) => Effect.as(Effect.exit(Deferred.await(self.outcome)), code)
      )
  )

/** SIGTERM now, SIGKILL (to the process group) if the child still runs after the grace period. */
export const terminate = <A, E>(self: Process.Process<A, E>): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const impl = self as ProcessImpl<A, E>
    const state = impl.state
    if (state._tag !== "Running") return Effect.void
    impl.signal("SIGTERM")
    // On the caller's clock; interrupted when the child exits.
    state.escalation ??= Effect.runForkWith(fiber.context)(
      Effect.andThen(Effect.sleep(impl.gracePeriod), Effect.sync(() => impl.signal("SIGKILL", true)))
    )
    return Effect.void
  })

export const kill = <A, E>(self: Process.Process<A, E>): Effect.Effect<void> =>
  Effect.sync(() => (self as ProcessImpl<A, E>).signal("SIGKILL", true))

/** Terminates and waits for the end, escalating to SIGKILL after the grace period. */
const terminateAndWait = <A, E>(self: ProcessImpl<A, E>): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (self.state._tag !== "Running") return yield* Deferred.await(self.exited)
    self.signal("SIGTERM")
    const done = yield* Deferred.await(self.exited).pipe(Effect.timeoutOption(self.gracePeriod))
    if (Option.isNone(done)) {
      self.signal("SIGKILL", true)
      yield* Deferred.await(self.exited)
    }
  })

export const join: {
  (options: { readonly timeout: Duration.Input }): <A, E>(self: Process.Process<A, E>) => Effect.Effect<Option.Option<number>>
  <A, E>(self: Process.Process<A, E>, options: { readonly timeout: Duration.Input }): Effect.Effect<Option.Option<number>>
  <A, E>(self: Process.Process<A, E>): Effect.Effect<number>
} = dual(
  (args) => isProcess(args[0]),
  <A, E>(self: Process.Process<A, E>, options?: { readonly timeout: Duration.Input }): Effect.Effect<any> =>
    options === undefined
      ? awaitExit(self as ProcessImpl<A, E>)
      : Effect.timeoutOption(awaitExit(self as ProcessImpl<A, E>), options.timeout)
)

export const isAlive = <A, E>(self: Process.Process<A, E>): Effect.Effect<boolean> =>
  Effect.sync(() => (self as ProcessImpl<A, E>).isAliveUnsafe)

export const exitCode = <A, E>(self: Process.Process<A, E>): Effect.Effect<Option.Option<number>> =>
  Effect.sync(() => Option.fromUndefinedOr((self as ProcessImpl<A, E>).exitCode))

export const result = <A, E>(self: Process.Process<A, E>): Effect.Effect<A, E | ProcessError> =>
  whenStarted(self as ProcessImpl<A, E>, "await", (p) => p.outcome)

export const ready = <A, E>(self: Process.Process<A, E>): Effect.Effect<void, ProcessError> =>
  whenStarted(self as ProcessImpl<A, E>, "await", (p) => p.readyLatch)

// ---------------------------------------------------------------------------
// the scope rules

const release = <A, E>(
  self: ProcessImpl<A, E>,
  siblings: Set<Process.Process<unknown, unknown>>,
  exit: Exit.Exit<unknown, unknown>
) =>
  Effect.gen(function*() {
    siblings.delete(self)
    const interrupted = Exit.hasInterrupts(exit)
    // Every child this scope will terminate gets SIGTERM now, not when its own finalizer
    // comes: daemons before any join (Python's order at exit), and on interruption all
    // of them at once, so their grace periods run side by side.
    for (const sibling of siblings as Set<ProcessImpl<unknown, unknown>>) {
      if ((sibling.daemon || interrupted) && !(sibling.state._tag === "Running" && sibling.state.signalled)) sibling.signal("SIGTERM")
    }
    const lifecycle = yield* LifecycleLogs
    if (self.state._tag === "Running") {
      if (self.daemon || interrupted) {
        if (lifecycle) yield* Effect.logInfo(`calling terminate() for ${self.daemon ? "daemon" : "process"} ${self.name}`)
        yield* terminateAndWait(self)
      } else {
        if (lifecycle) yield* Effect.logInfo(`calling join() for process ${self.name}`)
        yield* Effect.raceFirst(
          Deferred.await(self.exited),
          Deferred.await(Current.state.shutdownRequested).pipe(Effect.andThen(terminateAndWait(self)))
        )
      }
    }
    // Let the reader re-emit the child's last logs before the scope moves on.
    yield* Deferred.await(self.outcome).pipe(Effect.exit)
  })
