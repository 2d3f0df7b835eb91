/**
 * Logging across processes. Logs written in a child always reach the parent's logger,
 * annotated with `processName` and `pid`; this module adds Python's `log_to_stderr()`
 * format and the library's lifecycle lines.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Formatter from "effect/Formatter"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"
import * as Current from "./internal/current.ts"
import * as lifecycle from "./internal/lifecycle.ts"

/**
 * Whether the library logs process lifecycle lines at Info: in a child "child process
 * calling worker()", "process shutting down", "process exiting with exitcode 0"; in the
 * parent "process shutting down", "calling join() for process …", "calling terminate()
 * for daemon …". Off by default; {@link layerStderr} turns it on.
 *
 * **Python** the `multiprocessing` logger, silent until `log_to_stderr()` or `get_logger().setLevel(...)`.
 *
 * @since 0.1.0
 * @category references
 */
export const LifecycleLogs: Context.Reference<boolean> = lifecycle.LifecycleLogs

const levelNames: Record<LogLevel.LogLevel, string> = {
  All: "NOTSET",
  Trace: "SUBDEBUG",
  Debug: "DEBUG",
  Info: "INFO",
  Warn: "WARNING",
  Error: "ERROR",
  Fatal: "CRITICAL",
  None: "NOTSET"
}

/**
 * Formats a log entry as Python's `log_to_stderr()` does: `[INFO/Process-1] message`.
 * The process name is the entry's `processName` annotation (set on logs forwarded from
 * a child), else the current process's name.
 *
 * @since 0.1.0
 * @category loggers
 */
export const formatPython: Logger.Logger<unknown, string> = Logger.make((options) => {
  const annotated = options.fiber.getRef(References.CurrentLogAnnotations)["processName"]
  const processName = typeof annotated === "string" ? annotated : Current.info().name
  const parts = Array.isArray(options.message) ? options.message : [options.message]
  let message = parts.map((part) => typeof part === "string" ? part : Formatter.format(part)).join(" ")
  if (options.cause.reasons.length > 0) message += `\n${Formatter.format(options.cause)}`
  return `[${levelNames[options.logLevel]}/${processName}] ${message}`
})

/**
 * Python's `multiprocessing.log_to_stderr()`: replaces the loggers with one that writes
 * {@link formatPython} lines to stderr, turns on the lifecycle lines, and sets the
 * minimum level if one is given.
 *
 * Give it to `Process.runMain` as its `layer`, so that the main process's last line,
 * `process shutting down`, is logged with it too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process, ProcessLogger } from "effect-multiprocessing"
 * import { worker } from "./worker.ts"
 *
 * Process.runMain(
 *   Effect.gen(function*() {
 *     const p = yield* Process.spawn(worker)
 *     yield* Process.join(p)
 *   }),
 *   { layer: ProcessLogger.layerStderr({ level: "Info" }) }
 * )
 * // stderr: [INFO/Process-1] child process calling worker()
 * //         [INFO/Process-1] process shutting down
 * //         [INFO/Process-1] process exiting with exitcode 0
 * //         [INFO/MainProcess] process shutting down
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStderr = (options?: { readonly level?: LogLevel.LogLevel | undefined }): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([Logger.withConsoleError(formatPython)]),
    Layer.succeed(LifecycleLogs, true),
    options?.level === undefined ? Layer.empty : Layer.succeed(References.MinimumLogLevel, options.level)
  )
