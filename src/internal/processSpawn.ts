/**
 * Spawning a child: its command line and environment, its connection (with the lifecycle's
 * handlers and a layer's extension registered before anything is read), the orphan
 * watchdog, and the bookkeeping of its exit.
 */
import * as ChildProcess from "node:child_process"
import * as Module from "node:module"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Schema from "effect/Schema"
import { EncodeError, type ProcessError, SpawnError } from "../ProcessError.ts"
import * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import { errorMessage } from "./errors.ts"
import type { Extension, ProcessImpl } from "./process.ts"
import * as Lifecycle from "./processLifecycle.ts"

/** The child entry point, next to this file: `.ts` from source, `.js` once built. */
const bootstrapPath = fileURLToPath(new URL(`./childMain${Path.extname(import.meta.url)}`, import.meta.url))


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


export const spawnChild = <A, E>(
  self: ProcessImpl<A, E>,
  inbox: Queue.Queue<Lifecycle.Incoming, Cause.Done>,
  /**
   * The child's `Start`, taken out of its box once written: the handlers made here live as
   * long as the child's channel, and must not keep the arguments in it alive.
   */
  start: { message: Schema.Json | undefined },
  { ackFileLimit, context }: { readonly context: Context.Context<never>; readonly ackFileLimit: number },
  extension: Extension | undefined
) =>
  Effect.callback<Connection.Connection, ProcessError>((resume) => {
    const options = self.options
    const notSpawned = (error: ProcessError) => {
      self.state = { _tag: "NotSpawned" }
      Deferred.doneUnsafe(self.readyLatch, Exit.fail(error))
      Deferred.doneUnsafe(self.outcome, Exit.fail(error))
      resume(Effect.fail(error))
    }
    let child: ChildProcess.ChildProcess
    try {
      child = ChildProcess.spawn(process.execPath, [...(options.execArgv ?? defaultExecArgv()), bootstrapPath], {
        cwd: options.cwd,
        env: childEnv(options.env),
        // stdin is closed in the child, as in Python; stdout and stderr are shared.
        stdio: ["ignore", "inherit", "inherit", "pipe"],
        detached: !Current.isChild()
      })
    } catch (error) {
      return notSpawned(self.error(new SpawnError({ message: errorMessage(error) })))
    }
    const pid = child.pid
    if (pid === undefined) {
      // The spawn failed (ENOENT, EMFILE...): its `error` event says why.
      child.once("error", (error) => notSpawned(self.error(new SpawnError({ message: errorMessage(error) }))))
      return
    }
    const socket = child.stdio[3] as Net.Socket
    const connection = Connection.make(socket, {
      peer: `process ${self.name} (pid ${pid})`,
      objects: Current.state.objects,
      context,
      ackFileLimit,
      onProtocolError: (error) => {
        extension?.onProtocolError?.(error)
        Queue.offerUnsafe(inbox, error)
      },
      onClose: () => Queue.endUnsafe(inbox)
    })
    Lifecycle.register(connection, inbox)
    extension?.connect(connection)
    self.state = { _tag: "Running", child, pid, connection, signalled: false, escalation: undefined }
    try {
      const message = start.message
      start.message = undefined
      if (message !== undefined) connection.send(message)
    } catch (error) {
      // The arguments cannot be written (their JSON is longer than V8 can make a string):
      // the child goes before it starts, and the spawn fails as for arguments that do not encode.
      connection.destroy()
      child.kill("SIGKILL")
      return notSpawned(self.error(new EncodeError({ payload: "arguments", message: `too large to send: ${errorMessage(error)}` })))
    }
    Current.state.watchdog.register(pid)
    Current.state.children.add(self)
    child.on("exit", (code, signal) => {
      const running = self.state._tag === "Running" ? self.state : undefined
      if (running?.escalation !== undefined) running.escalation.interruptUnsafe()
      const exitCode = signal === null ? (code ?? 0) : -signalNumber(signal)
      self.state = { _tag: "Exited", pid, exitCode, signalled: running?.signalled ?? false }
      Current.state.watchdog.unregister(pid)
      // What the child left in its process group (helpers it spawned itself, without this
      // library) would be orphaned now: end it with the child.
      if (!Current.isChild()) killGroup(pid)
      Current.state.children.delete(self)
      Deferred.doneUnsafe(self.exited, Exit.succeed(exitCode))
      // The channel closes with the child, once we have read all it wrote. Only a channel that
      // stays open with nothing coming (a grandchild inherited it) is closed by us.
      closeWhenIdle(socket, connection)
    })
    child.once("spawn", () => resume(Effect.succeed(connection)))
  })

/**
 * Destroys a dead child's channel if nothing arrives on it for `channelCloseGrace` ms. Each
 * check runs after an I/O phase (setImmediate), so data waiting in the kernel while this
 * process was busy is read, and counted as activity, before the channel can be judged idle.
 */
const closeWhenIdle = (socket: Net.Socket, connection: Connection.Connection) => {
  let seen = socket.bytesRead
  const check = () => {
    if (connection.isClosed()) return
    if (socket.bytesRead === seen) return connection.destroy()
    seen = socket.bytesRead
    setTimeout(() => setImmediate(check), Lifecycle.channelCloseGrace).unref()
  }
  setTimeout(() => setImmediate(check), Lifecycle.channelCloseGrace).unref()
}

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // ESRCH: nothing was left in the group.
  }
}
