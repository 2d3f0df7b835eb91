/**
 * Parent side of a child process: spawning, the channel reader, exit bookkeeping,
 * signals and the scope rules (join non-daemons, terminate daemons and interrupted).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Module from "node:module"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as References from "effect/References"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Process from "../Process.ts"
import { EncodeError, ProcessError, type ProcessErrorReason, SpawnError } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import * as AckFile from "./ackFile.ts"
import * as Bridge from "./bridge.ts"
import * as Channel from "./channel.ts"
import * as Current from "./current.ts"
import { errorMessage } from "./errors.ts"
import { LifecycleLogs } from "./lifecycle.ts"
import { channelCloseGrace, Malformed, readChannel, signalName } from "./processReader.ts"
import * as Protocol from "./protocol.ts"
import * as internalTarget from "./target.ts"
import * as Watchdog from "./watchdog.ts"

export const TypeId: Process.TypeId = "~effect-multiprocessing/Process"

const variance: Process.Variance<never, never> = { _A: (_) => _, _E: (_) => _ }

export const isProcess = (u: unknown): u is Process.Process<unknown, unknown> => Predicate.hasProperty(u, TypeId)

/** The child entry point, next to this file: `.ts` from source, `.js` once built. */
const bootstrapPath = fileURLToPath(new URL(`./childMain${Path.extname(import.meta.url)}`, import.meta.url))

const defaultGracePeriod = Duration.seconds(5)

const signalNumber = (signal: NodeJS.Signals): number => Os.constants.signals[signal] ?? 0

/**
 * The child's environment: the parent's, the caller's additions, and Node's compile cache
 * turned on from the start, so that even the bootstrap (a `.ts` file when running from
 * source) and Effect load from cached code in every child after the first.
 */
const childEnv = (extra: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (env["NODE_COMPILE_CACHE"] === undefined && env["NODE_DISABLE_COMPILE_CACHE"] === undefined) {
    env["NODE_COMPILE_CACHE"] = Module.getCompileCacheDir?.() ?? Path.join(Os.tmpdir(), "node-compile-cache")
  }
  return env
}

/** Debugger flags would make the child try to bind the parent's inspector port. */
const isDebuggerFlag = (flag: string) => /^--(inspect|debug)(-brk|-port|-wait|-publish-uid)?(=|$)/.test(flag)

export const defaultExecArgv = (): ReadonlyArray<string> => process.execArgv.filter((flag) => !isDebuggerFlag(flag))

export class ProcessImpl<A, E> implements Process.Process<A, E> {
  readonly [TypeId]: Process.Variance<A, E> = variance
  readonly name: string
  readonly daemon: boolean
  readonly target: Target.Any
  readonly parentPid: number = process.pid
  readonly identity: ReadonlyArray<number>
  readonly options: Process.Options<unknown>
  status: "initial" | "started" | "stopped" = "initial"
  pid: number | undefined = undefined
  exitCodeValue: number | undefined = undefined
  /** We sent a signal, so an end by signal is what was asked for, not a crash. */
  signalled = false
  ready = false
  child: ChildProcess.ChildProcess | undefined = undefined
  channel: Channel.Channel | undefined = undefined
  /** Where the child's pushes go (a pool, for its workers): called as they are read, not through the reader. */
  onPush: ((payload: unknown, binary: Channel.Binary) => void) | undefined = undefined
  /** Told of a line from the child that could not be read, or a push `onPush` threw on (it is also logged). */
  onMalformed: ((message: string) => void) | undefined = undefined
  escalation: ReturnType<typeof setTimeout> | undefined = undefined
  readonly exited: Deferred.Deferred<number> = Deferred.makeUnsafe<number>()
  readonly readyLatch: Deferred.Deferred<void, ProcessError> = Deferred.makeUnsafe<void, ProcessError>()
  readonly outcome: Deferred.Deferred<A, E | ProcessError> = Deferred.makeUnsafe<A, E | ProcessError>()

  constructor(target: Target.Any, options: Process.Options<unknown>) {
    this.target = target
    this.options = options
    this.identity = Current.nextIdentity()
    this.name = options.name ?? `${target.kind}-${this.identity.join(":")}`
    this.daemon = options.daemon ?? false
  }

  get gracePeriod(): Duration.Duration {
    return this.options.gracePeriod === undefined ? defaultGracePeriod : Duration.fromInputUnsafe(this.options.gracePeriod)
  }

  get isAliveUnsafe(): boolean {
    return this.status === "started"
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toString(): string {
    const info = [this.target.kind, `name='${this.name}'`]
    if (this.pid !== undefined) info.push(`pid=${this.pid}`)
    info.push(`parent=${this.parentPid}`, this.status)
    if (this.exitCodeValue !== undefined) {
      const name = this.exitCodeValue < 0 ? signalName(this.exitCodeValue) : undefined
      info.push(`exitcode=${name === undefined ? this.exitCodeValue : `-${name}`}`)
    }
    if (this.daemon) info.push("daemon")
    return `<${info.join(" ")}>`
  }

  toJSON(): unknown {
    return { _id: "Process", name: this.name, pid: this.pid, status: this.status, exitCode: this.exitCodeValue }
  }

  [NodeInspectSymbol](): string {
    return this.toString()
  }

  /** Sends a push to the child, with its binary parts; `false` once its channel is congested or closed. */
  push(payload: Schema.Json, binary?: Channel.Binary): boolean {
    return this.channel?.write({ _tag: "Push", payload }, binary) ?? false
  }

  error(reason: ProcessErrorReason): ProcessError {
    return new ProcessError({ process: this.name, pid: this.pid, reason })
  }

  signal(signal: NodeJS.Signals, group = false): void {
    if (this.pid === undefined || this.status !== "started") return
    this.signalled = true
    try {
      // A top-level child leads its own process group: SIGKILL to the group takes its
      // whole subtree, grandchildren included.
      process.kill(group && !Current.isChild() ? -this.pid : this.pid, signal)
    } catch {
      // ESRCH: it is already gone; its exit event is on the way.
    }
  }
}

// ---------------------------------------------------------------------------
// construction and start

export const make = <A, E>(target: Target.Target<any, A, E>, options?: Process.Options<unknown>) =>
  Effect.sync((): Process.Process<A, E> => new ProcessImpl<A, E>(target, options ?? {}))

/** Processes started in each scope: a closing scope signals its daemons first, as Python does at exit. */
const byScope = new WeakMap<Scope.Scope, Set<ProcessImpl<any, any>>>()

export const start = Effect.fnUntraced(function*<A, E>(self: Process.Process<A, E>) {
  const impl = self as ProcessImpl<A, E>
  if (impl.status !== "initial") {
    return yield* Effect.die(new Error(`cannot start a process twice: ${impl}`))
  }
  const args = internalTarget.codecs(impl.target).encodeArgs(impl.options.args)
  if (Exit.isFailure(args)) {
    return yield* Effect.fail(
      impl.error(new EncodeError({ payload: "arguments", message: errorMessage(Cause.squash(args.cause)) }))
    )
  }
  const scope = yield* Effect.scope
  const start = Protocol.encodeParentMessage({
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
  const inbox = yield* Queue.unbounded<unknown, Cause.Done>()
  const acks = AckFile.create()
  // Replies and pushes are plain JSON built from values already encoded by their modules,
  // and the child decodes every one: no second pass on the way out.
  const link = Bridge.serveChild((message) => impl.channel?.write(message), acks?.reader)
  yield* Effect.uninterruptible(spawnChild(impl, inbox, link, start, acks?.childEnd)).pipe(
    Effect.onError(() => Effect.sync(() => acks?.reader.close()))
  )
  // The reader is forked before the release is added, so at scope close the release
  // (which waits for the reader to finish) runs first and the reader is not cut short.
  yield* Effect.forkIn(readChannel(impl, inbox, link), scope)
  let siblings = byScope.get(scope)
  if (siblings === undefined) byScope.set(scope, siblings = new Set())
  siblings.add(impl)
  yield* Effect.addFinalizer((exit) => release(impl, siblings, exit))
})

/** A `Push` line (its receiver validates the payload). */
const isPush = (message: unknown): message is { readonly payload: unknown } =>
  Predicate.isTagged(message, "Push") && Predicate.hasProperty(message, "payload")

const spawnChild = <A, E>(
  self: ProcessImpl<A, E>,
  inbox: Queue.Queue<unknown, Cause.Done>,
  link: Bridge.Link,
  start: unknown,
  /** The child's end of its acknowledgements file (its fd 4), closed here once it has it. */
  ackFd: number | undefined
) =>
  Effect.callback<void, ProcessError>((resume) => {
    const options = self.options
    let child: ChildProcess.ChildProcess
    try {
      child = ChildProcess.spawn(process.execPath, [...(options.execArgv ?? defaultExecArgv()), bootstrapPath], {
        cwd: options.cwd,
        env: childEnv(options.env),
        // stdin is closed in the child, as in Python; stdout and stderr are shared.
        stdio: ["ignore", "inherit", "inherit", "pipe", ackFd ?? "ignore"],
        detached: !Current.isChild()
      })
    } catch (error) {
      if (ackFd !== undefined) Fs.closeSync(ackFd)
      self.status = "stopped"
      return resume(Effect.fail(self.error(new SpawnError({ message: errorMessage(error) }))))
    }
    // The child has its copy of the acknowledgements file's fd now.
    if (ackFd !== undefined) Fs.closeSync(ackFd)
    self.child = child
    self.pid = child.pid
    self.status = "started"
    const socket = child.stdio[3] as Net.Socket
    const channel = Channel.make(socket, {
      onMessage: (message, binary) => {
        // The hot messages are handled as they are read; the rest in order by the reader.
        // (A Settle only names values of replies already sent, so it cannot overtake them.)
        if (self.onPush !== undefined && isPush(message)) {
          try {
            return self.onPush(message.payload, binary)
          } catch (error) {
            // A bug in the handler, not the child's: reported like a bad message, not thrown into the socket.
            self.onMalformed?.(`a push could not be handled: ${errorMessage(error)}`)
            return Queue.offerUnsafe(inbox, new Malformed(JSON.stringify(message).slice(0, 200), error))
          }
        }
        const settle = Protocol.asSettle(message)
        if (settle !== undefined) return link.onSettle(settle)
        Queue.offerUnsafe(inbox, message)
      },
      onMalformed: (line, error) => {
        self.onMalformed?.(`not JSON: ${line}`)
        Queue.offerUnsafe(inbox, new Malformed(line, error))
      },
      onClose: () => Queue.endUnsafe(inbox)
    })
    self.channel = channel
    try {
      channel.write(start)
    } catch (error) {
      // The arguments cannot be written (their JSON is longer than V8 can make a string):
      // the child goes before it starts, and the spawn fails as for arguments that do not encode.
      channel.destroy()
      child.kill("SIGKILL")
      self.status = "stopped"
      const tooLarge = self.error(new EncodeError({ payload: "arguments", message: `too large to send: ${errorMessage(error)}` }))
      Deferred.doneUnsafe(self.readyLatch, Exit.fail(tooLarge))
      Deferred.doneUnsafe(self.outcome, Exit.fail(tooLarge))
      return resume(Effect.fail(tooLarge))
    }
    if (self.pid !== undefined) {
      Watchdog.register(self.pid)
      Current.children.add(self)
    }
    child.on("exit", (code, signal) => {
      self.exitCodeValue = signal === null ? (code ?? 0) : -signalNumber(signal)
      self.status = "stopped"
      clearTimeout(self.escalation)
      if (self.pid !== undefined) {
        Watchdog.unregister(self.pid)
        // What the child left in its process group (helpers it spawned itself, without this
        // library) would be orphaned now: end it with the child.
        if (!Current.isChild()) killGroup(self.pid)
      }
      Current.children.delete(self)
      Deferred.doneUnsafe(self.exited, Exit.succeed(self.exitCodeValue))
      // The channel closes with the child, once we have read all it wrote. Only a channel that
      // stays open with nothing coming (a grandchild inherited it) is closed by us.
      closeWhenIdle(socket, channel)
    })
    child.once("spawn", () => resume(Effect.void))
    child.once("error", (error) => {
      // Only a failure to spawn matters here; a failed kill() is reported by its ESRCH.
      if (self.exitCodeValue !== undefined || child.pid !== undefined) return
      self.status = "stopped"
      channel.destroy()
      const spawnError = self.error(new SpawnError({ message: errorMessage(error) }))
      Deferred.doneUnsafe(self.readyLatch, Exit.fail(spawnError))
      Deferred.doneUnsafe(self.outcome, Exit.fail(spawnError))
      resume(Effect.fail(spawnError))
    })
  })

/**
 * Destroys a dead child's channel if nothing arrives on it for `channelCloseGrace` ms. Each
 * check runs after an I/O phase (setImmediate), so data waiting in the kernel while this
 * process was busy is read, and counted as activity, before the channel can be judged idle.
 */
const closeWhenIdle = (socket: Net.Socket, channel: Channel.Channel) => {
  let seen = socket.bytesRead
  const check = () => {
    if (channel.isClosed()) return
    if (socket.bytesRead === seen) return channel.destroy()
    seen = socket.bytesRead
    setTimeout(() => setImmediate(check), channelCloseGrace).unref()
  }
  setTimeout(() => setImmediate(check), channelCloseGrace).unref()
}

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // ESRCH: nothing was left in the group.
  }
}

// ---------------------------------------------------------------------------
// signals and waiting

/** Waits on one of the handle's latches; using a handle that was never started is a defect, as in Python. */
const whenStarted = <A, E, X, Y>(
  self: ProcessImpl<A, E>,
  verb: string,
  latch: (self: ProcessImpl<A, E>) => Deferred.Deferred<X, Y>
): Effect.Effect<X, Y> =>
  Effect.suspend(() =>
    self.status === "initial"
      ? Effect.die(new Error(`can only ${verb} a started process: ${self}`))
      : Deferred.await(latch(self))
  )

/**
 * The exit code, once the child has exited and its channel is read to the end: a join
 * returns after the child's last logs were emitted here, never before.
 */
const awaitExit = <A, E>(self: ProcessImpl<A, E>): Effect.Effect<number> =>
  Effect.andThen(
    whenStarted(self, "join", (p) => p.exited),
    (code) => Effect.as(Effect.exit(Deferred.await(self.outcome)), code)
  )

/** SIGTERM now, SIGKILL (to the process group) if the child still runs after the grace period. */
export const terminate = <A, E>(self: Process.Process<A, E>): Effect.Effect<void> =>
  Effect.sync(() => {
    const impl = self as ProcessImpl<A, E>
    if (impl.status !== "started") return
    impl.signal("SIGTERM")
    if (impl.escalation === undefined) {
      impl.escalation = setTimeout(() => impl.signal("SIGKILL", true), Duration.toMillis(impl.gracePeriod))
      impl.escalation.unref()
    }
  })

export const kill = <A, E>(self: Process.Process<A, E>): Effect.Effect<void> =>
  Effect.sync(() => (self as ProcessImpl<A, E>).signal("SIGKILL", true))

/** Terminates and waits for the end, escalating to SIGKILL after the grace period. */
const terminateAndWait = <A, E>(self: ProcessImpl<A, E>): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (self.status !== "started") return yield* Deferred.await(self.exited)
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
  Effect.sync(() => Option.fromUndefinedOr((self as ProcessImpl<A, E>).exitCodeValue))

export const result = <A, E>(self: Process.Process<A, E>): Effect.Effect<A, E | ProcessError> =>
  whenStarted(self as ProcessImpl<A, E>, "await", (p) => p.outcome)

export const ready = <A, E>(self: Process.Process<A, E>): Effect.Effect<void, ProcessError> =>
  whenStarted(self as ProcessImpl<A, E>, "await", (p) => p.readyLatch)

// ---------------------------------------------------------------------------
// the scope rules

const release = <A, E>(
  self: ProcessImpl<A, E>,
  siblings: Set<ProcessImpl<any, any>>,
  exit: Exit.Exit<unknown, unknown>
) =>
  Effect.gen(function*() {
    siblings.delete(self)
    const interrupted = Exit.hasInterrupts(exit)
    // Every child this scope will terminate gets SIGTERM now, not when its own finalizer
    // comes: daemons before any join (Python's order at exit), and on interruption all
    // of them at once, so their grace periods run side by side.
    for (const sibling of siblings) {
      if ((sibling.daemon || interrupted) && !sibling.signalled) sibling.signal("SIGTERM")
    }
    const lifecycle = yield* LifecycleLogs
    if (self.status === "started") {
      if (self.daemon || interrupted) {
        if (lifecycle) yield* Effect.logInfo(`calling terminate() for ${self.daemon ? "daemon" : "process"} ${self.name}`)
        yield* terminateAndWait(self)
      } else {
        if (lifecycle) yield* Effect.logInfo(`calling join() for process ${self.name}`)
        yield* Effect.raceFirst(
          Deferred.await(self.exited),
          Deferred.await(Current.shutdownRequested).pipe(Effect.andThen(terminateAndWait(self)))
        )
      }
    }
    // Let the reader re-emit the child's last logs before the scope moves on.
    yield* Deferred.await(self.outcome).pipe(Effect.exit)
  })
