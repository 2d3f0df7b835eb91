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
import * as MainGuard from "./mainGuard.ts"
import * as PayloadSize from "./payloadSize.ts"
import * as Lifecycle from "./processLifecycle.ts"

/** The child entry point, next to this file: `.ts` from source, `.js` once built. */
const bootstrapPath = fileURLToPath(new URL(`./childMain${Path.extname(import.meta.url)}`, import.meta.url))


const signalNumber = (signal: NodeJS.Signals): number => Os.constants.signals[signal] ?? 0

/** What a child inherits of this process's environment (see `Process.Options.inheritEnv`). */
export type InheritEnv = boolean | ReadonlyArray<string>

/**
 * The child's environment: the parent's (all of it, or only the names allowed), the
 * caller's additions, and Node's compile cache turned on from the start, so that even the
 * bootstrap (a `.ts` file when running from source) and Effect load from cached code in
 * every child after the first. A child that inherits only some names still gets what it
 * needs to run as its parent does: `PATH`, and the module-loading flags of `NODE_OPTIONS`.
 */
export const childEnv = (
  extra: Record<string, string | undefined> | undefined,
  inherit: InheritEnv = true
): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  if (inherit === true) Object.assign(env, process.env)
  else {
    for (const name of inherit === false ? [] : inherit) {
      if (process.env[name] !== undefined) env[name] = process.env[name]
    }
    if (process.env["PATH"] !== undefined) env["PATH"] ??= process.env["PATH"]
    const nodeOptions = process.env["NODE_OPTIONS"]
    if (nodeOptions !== undefined && env["NODE_OPTIONS"] === undefined) {
      const loading = moduleLoadingFlags(splitNodeOptions(nodeOptions))
      if (loading.length > 0) env["NODE_OPTIONS"] = loading.join(" ")
    }
  }
  Object.assign(env, extra)
  // `undefined` removes a variable: spawn would pass the text "undefined".
  for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name]
  if (env["NODE_COMPILE_CACHE"] === undefined && env["NODE_DISABLE_COMPILE_CACHE"] === undefined) {
    env["NODE_COMPILE_CACHE"] = Module.getCompileCacheDir?.() ?? Path.join(Os.tmpdir(), "node-compile-cache")
  }
  return env
}

/**
 * `NODE_OPTIONS` split as Node splits it: on white space outside double quotes (in which
 * a backslash escapes the next character). Each item keeps its text, quotes included, so
 * that the kept ones join back into options Node reads the same.
 */
const splitNodeOptions = (text: string): Array<string> => {
  const items: Array<string> = []
  let item = ""
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted && c === "\\" && i + 1 < text.length) {
      item += c + text[++i]
      continue
    }
    if (c === '"') quoted = !quoted
    if (!quoted && /\s/.test(c)) {
      if (item.length > 0) items.push(item)
      item = ""
      continue
    }
    item += c
  }
  if (item.length > 0) items.push(item)
  return items
}

/**
 * The Node flags that decide how a child finds and loads modules, so that it can import
 * its target as its parent imported it: loaders and preloads, resolution conditions,
 * TypeScript and module-format switches, symlink resolution, and the permission model
 * (which a child must not escape). Anything else (a heap limit, a stack size, a debugger
 * port, `--env-file`, warnings) is the parent's own business.
 */
const loadingFlags = new Set([
  "--import",
  "--require",
  "-r",
  "--loader",
  "--experimental-loader",
  "--conditions",
  "-C",
  "--experimental-strip-types",
  "--experimental-transform-types",
  "--experimental-default-type",
  "--experimental-detect-module",
  "--experimental-require-module",
  "--experimental-vm-modules",
  "--experimental-wasm-modules",
  "--experimental-json-modules",
  "--experimental-import-meta-resolve",
  "--experimental-specifier-resolution",
  "--experimental-addon-modules",
  "--preserve-symlinks",
  "--preserve-symlinks-main",
  "--permission",
  "--experimental-permission",
  "--allow-fs-read",
  "--allow-fs-write",
  "--allow-addons",
  "--allow-child-process",
  "--allow-wasi",
  "--allow-worker"
])

/** `--no-x` is the same flag as `--x`; a value may follow after `=`. */
const isLoadingFlag = (flag: string): boolean => {
  const name = flag.split("=", 1)[0]!.replace(/^--no-/, "--")
  return loadingFlags.has(name)
}

/**
 * The module-loading flags of a list of Node options, each with its value. A value given
 * as the next item (`--import tsx`) goes with its flag: in `execArgv` (and `NODE_OPTIONS`)
 * everything is an option, so an item that does not start with `-` is the value of the
 * option before it, kept or dropped with it.
 */
export const moduleLoadingFlags = (flags: ReadonlyArray<string>): Array<string> => {
  const kept: Array<string> = []
  let keeping = false
  for (const flag of flags) {
    if (!flag.startsWith("-")) {
      if (keeping) kept.push(flag)
      continue
    }
    keeping = isLoadingFlag(flag)
    if (keeping) kept.push(flag)
  }
  return kept
}

export const defaultExecArgv = (): ReadonlyArray<string> => moduleLoadingFlags(process.execArgv)

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
    const refused = MainGuard.refusal()
    if (refused !== undefined) return notSpawned(self.error(refused))
    let child: ChildProcess.ChildProcess
    try {
      const limit = options.maxMessageBytes
      const bootstrap = [bootstrapPath, ...(limit === undefined ? [] : [`${PayloadSize.maxMessageBytesFlag}${limit}`])]
      child = ChildProcess.spawn(process.execPath, [...(options.execArgv ?? defaultExecArgv()), ...bootstrap], {
        cwd: options.cwd,
        env: childEnv(options.env, options.inheritEnv),
        // stdin is closed in the child, as in Python; stdout is shared; stderr is passed on
        // by us, so that we can tell a death by heap exhaustion from any other abort.
        stdio: ["ignore", "inherit", "pipe", "pipe"],
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
    forwardStderr(self.stderr, child.stdio[2] as Net.Socket)
    const socket = child.stdio[3] as Net.Socket
    const connection = Connection.make(socket, {
      peer: `process ${self.name} (pid ${pid})`,
      objects: Current.state.objects,
      context,
      ackFileLimit,
      limits: PayloadSize.channelLimits(options.maxMessageBytes),
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
 * What V8 and Node write on stderr when they abort for lack of memory: "FATAL ERROR: Reached
 * heap limit Allocation failed - JavaScript heap out of memory" (and its variants), or V8's
 * own "Fatal JavaScript out of memory" / "Fatal process out of memory".
 */
const outOfMemoryMarkers = ["JavaScript heap out of memory", "Fatal JavaScript out of memory", "Fatal process out of memory"]
  .map((marker) => Buffer.from(marker))
const markerCarry = Math.max(...outOfMemoryMarkers.map((marker) => marker.length)) - 1

/**
 * Passes the child's stderr on to ours, byte for byte, and watches it for V8's
 * out-of-memory message: nothing of it is kept but the last few bytes of each read, so
 * that a message split across two reads is still seen. The pipe does not keep this
 * process alive (a helper the child left behind may hold it open).
 */
const forwardStderr = (watch: ProcessImpl<unknown, unknown>["stderr"], stderr: Net.Socket) => {
  let carry = Buffer.alloc(0)
  stderr.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk)
    if (watch.outOfMemory) return
    const seam = Buffer.concat([carry, chunk.subarray(0, markerCarry)])
    if (outOfMemoryMarkers.some((marker) => chunk.includes(marker) || seam.includes(marker))) {
      watch.outOfMemory = true
    }
    carry = Buffer.from(chunk.subarray(Math.max(0, chunk.length - markerCarry)))
  })
  stderr.on("error", () => {})
  stderr.on("close", () => Deferred.doneUnsafe(watch.ended, Exit.void))
  stderr.unref()
}

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
