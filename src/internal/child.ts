/**
 * The child's side: read `Start`, import the target's module, decode the arguments,
 * run the target with logs forwarded to the parent, report the result, and exit with
 * Python's exit status (0, 1 for an error, n for `Process.exit(n)`, death by the
 * signal that stopped it).
 */
import * as Net from "node:net"
import * as V8 from "node:v8"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import {
  DecodeError,
  EncodeError,
  ExitCodeError,
  PayloadTooLargeError,
  type ProcessErrorReason,
  SpawnError
} from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import * as ForwardLogger from "./forwardLogger.ts"
import { LifecycleLogs } from "./lifecycle.ts"
import * as Messages from "./lifecycleMessages.ts"
import * as MainGuard from "./mainGuard.ts"
import * as PayloadSize from "./payloadSize.ts"
import { errorMessage, typedErrorStack, uncaught } from "./errors.ts"
import * as RunMain from "./runMain.ts"
import * as internalTarget from "./target.ts"

/**
 * `EFFECT_MULTIPROCESSING_CHILD_STDERR=1`: a child that cannot start its target also says
 * why on its own stderr (by default only the parent's error says it, once).
 */
const printStartFailures = process.env["EFFECT_MULTIPROCESSING_CHILD_STDERR"] === "1"

/** After a signal, how long the last messages may take to go out before we die by it anyway. */
const flushTimeout = 2000

const encodeFailed = Schema.encodeSync(Schema.toCodecJson(Messages.Failed))
const encodeResult = Schema.encodeSync(Schema.toCodecJson(Messages.Result))

export const main = (): void => {
  let running: RunMain.Running | undefined
  let name = "child"
  /** Why the parent's messages cannot be trusted any more, once one could not be read. */
  let protocolFailure: DecodeError | undefined
  const explicitLimit = PayloadSize.fromArgv(process.argv)
  const maxMessageBytes = explicitLimit ?? PayloadSize.defaultMaxMessageBytes
  const connection = Connection.make(new Net.Socket({ fd: 3, readable: true, writable: true }), {
    peer: "the parent process",
    limits: PayloadSize.channelLimits(explicitLimit),
    objects: Current.state.objects,
    context: Context.empty(),
    onProtocolError(error) {
      if (protocolFailure !== undefined || exiting !== undefined) return
      protocolFailure = error
      // Nothing the parent sends can be trusted now: the program stops, and the parent hears why.
      if (running !== undefined) return running.stop("protocol-error")
      fail(error, error.message)
    },
    onClose() {
      // The parent is gone (or closed our channel): nobody is left to report to.
      if (dyingBy !== undefined) return RunMain.dieBySignal(dyingBy)
      if (exiting !== undefined) return process.exit(exiting)
      if (running !== undefined) running.stop("parent-gone")
      else process.exit(1)
    }
  })
  let started = false
  connection.register("Start", Connection.decodeWith(Messages.Start), (start) => {
    if (started) throw new Error("a second Start")
    started = true
    name = start.name
    void run(start)
  })

  const send = (message: Schema.Json) => connection.send(message)

  let exiting: number | undefined
  let dyingBy: NodeJS.Signals | undefined
  // Exits only once the parent has read everything we wrote: we half-close the channel and
  // wait for the parent's end, which comes after it has read ours. Exiting as soon as the
  // bytes reached the kernel is not enough: a busy parent that then writes to us gets EPIPE,
  // and Node drops what it had not read yet (our last batches, our result). A parent that
  // is gone closes the channel too, so we never wait for nothing.
  const exit = (code: number) => {
    if (exiting !== undefined) return
    exiting = code
    // The parent is gone already: nothing to wait for, and a raw handle the target left
    // open (an interval, a socket) must not keep an orphan alive.
    if (connection.isClosed()) return process.exit(code)
    connection.end()
  }

  /** `printed` goes to stderr too: a crash, as Python prints a traceback. */
  const fail = (reason: ProcessErrorReason, printed: string | undefined) => {
    if (printed !== undefined) process.stderr.write(`Process ${name}:\n${printed}\n`)
    send(encodeFailed({ _tag: "Failed", reason }))
    exit(1)
  }

  /**
   * The child could not start its target: the parent's call fails with `reason`, whose
   * message says it all, so it is not printed here as well unless asked for.
   */
  const failToStart = (reason: ProcessErrorReason) => fail(reason, printStartFailures ? reason.message : undefined)

  // An error thrown outside any Effect (a raw timer callback, say) still reaches the
  // parent as a typed UncaughtError with its stack, as Python reports a crash in run().
  const onUncaught = (error: unknown) => {
    if (exiting !== undefined) return
    fail(uncaught(error), error instanceof Error && error.stack !== undefined ? error.stack : errorMessage(error))
  }
  process.on("uncaughtException", onUncaught)
  process.on("unhandledRejection", onUncaught)
  // Our stderr is a pipe to the parent, which forwards it: once the parent is gone, what
  // we still write there has no reader, and that is no error of the target's.
  process.stderr.on("error", () => {})

  const run = async (start: Messages.Start) => {
    Current.becomeChild({
      name: start.name,
      identity: start.identity,
      daemon: start.daemon,
      parent: { name: start.parentName, pid: start.parentPid },
      module: start.module,
      target: start.target
    }, connection, (reason) => {
      if (exiting === undefined) failToStart(reason)
    })
    try {
      await import(start.module)
    } catch (error) {
      // With its stack: where in the module it failed (a syntax error's line, say).
      const detail = error instanceof Error && error.stack !== undefined ? error.stack : errorMessage(error)
      return failToStart(new SpawnError({ message: `cannot import ${start.module}: ${detail}` }))
    }
    // Already ending (a message from the parent that could not be read, or an uncaught error
    // while the module loaded): the target is not started.
    if (exiting !== undefined) return
    const target = internalTarget.lookup(start.module, start.target)
    if (target === undefined) {
      return failToStart(new SpawnError({ message: internalTarget.notFound(start.module, start.target) }))
    }
    const codecs = internalTarget.codecs(target)
    const args = codecs.decodeArgs(start.args)
    if (Exit.isFailure(args)) {
      return failToStart(new DecodeError({ payload: "arguments", message: errorMessage(Cause.squash(args.cause)) }))
    }
    const announce = Effect.sync(() => {
      send({ _tag: "Ready", heapLimit: V8.getHeapStatistics().heap_size_limit })
      // Out before the target runs: a target that spins or exits at once must not hide it.
      connection.flush()
    })
    running = RunMain.launch(Effect.andThen(announce, program(target, args.value, start)), (exit, stoppedBy) => {
      process.off("uncaughtException", onUncaught)
      process.off("unhandledRejection", onUncaught)
      finish(target, exit, stoppedBy)
    })
  }

  const finish = (target: Target.Any, result: Exit.Exit<unknown, unknown>, stoppedBy: RunMain.StopReason | undefined) => {
    const code = exitCodeOf(result, stoppedBy)
    const requested = Exit.isFailure(result) ? RunMain.exitRequestCode(result.cause) : undefined
    // A defect is this process crashing: say so on stderr, as Python prints a traceback.
    // A typed failure is an outcome the parent receives and handles: no noise.
    if (Exit.isFailure(result) && Cause.hasDies(result.cause) && requested === undefined) {
      process.stderr.write(`Process ${name}:\n${Cause.pretty(result.cause)}\n`)
    }
    // Batched puts go out before the result: a child's puts are in the queue when its result arrives.
    connection.flushWriteBehind()
    if (stoppedBy === "protocol-error" && protocolFailure !== undefined) {
      process.stderr.write(`Process ${name}:\n${protocolFailure.message}\n`)
      send(encodeFailed({ _tag: "Failed", reason: protocolFailure }))
    } else if (stoppedBy === undefined || stoppedBy === "parent-gone") {
      if (requested !== undefined) {
        send(encodeFailed({ _tag: "Failed", reason: new ExitCodeError({ exitCode: requested }) }))
      } else {
        const encoded = internalTarget.codecs(target).encodeExit(result)
        const size = Exit.isSuccess(encoded) ? PayloadSize.over(encoded.value, maxMessageBytes) : undefined
        if (size !== undefined) {
          const payload = Exit.isSuccess(result) ? "success" : "error"
          const reason = new PayloadTooLargeError({ payload, size, limit: maxMessageBytes })
          process.stderr.write(`Process ${name}:\n${reason.message}\n`)
          send(encodeFailed({ _tag: "Failed", reason }))
        } else if (Exit.isSuccess(encoded)) {
          const stack = typedErrorStack(result)
          send(encodeResult({ _tag: "Result", exit: encoded.value, ...(stack === undefined ? {} : { stack }) }))
        }
        else {
          const payload = Exit.isSuccess(result) ? "success" : "error"
          const message = errorMessage(Cause.squash(encoded.cause))
          send(encodeFailed({ _tag: "Failed", reason: new EncodeError({ payload, message }) }))
        }
      }
    }
    const signal = RunMain.signalOf(stoppedBy)
    lifecycle(`process exiting with exitcode ${signal === undefined ? code : -15}`)
    if (signal !== undefined) {
      // Die by the signal itself, so the parent sees -N, once the parent has read our last
      // messages (the finalizers' logs): as for an exit, we wait for its end, but not long.
      dyingBy = signal
      if (connection.isClosed()) return RunMain.dieBySignal(signal)
      connection.end()
      setTimeout(() => RunMain.dieBySignal(signal), flushTimeout).unref()
      return
    }
    exit(code)
  }

  let lifecycleEnabled = false
  const lifecycle = (message: string) => {
    if (!lifecycleEnabled) return
    send(ForwardLogger.encodeLog({ _tag: "Log", level: "Info", message: [message], annotations: {}, spans: [] }))
  }

  const program = (target: Target.Any, args: unknown, start: Messages.Start) => {
    lifecycleEnabled = start.lifecycleLogs
    return Effect.gen(function*() {
      lifecycle(`child process calling ${target.name}()`)
      return yield* target.run(args).pipe(Effect.onExit(() => Effect.sync(() => lifecycle("process shutting down"))))
    }).pipe(
      Effect.scoped,
      Effect.provideService(Logger.CurrentLoggers, new Set([ForwardLogger.make(connection)])),
      Effect.provideService(References.MinimumLogLevel, start.logLevel),
      Effect.provideService(LifecycleLogs, start.lifecycleLogs),
      // Spawns from here are the target's own: any other spawn in a child is refused.
      Effect.provideService(MainGuard.RunningTarget, true)
    )
  }
}

const exitCodeOf = (exit: Exit.Exit<unknown, unknown>, stoppedBy: RunMain.StopReason | undefined): number => {
  if (Exit.isSuccess(exit)) return 0
  if (stoppedBy !== undefined) return 1
  return RunMain.exitRequestCode(exit.cause) ?? 1
}
