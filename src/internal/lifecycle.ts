import * as Context from "effect/Context"

/**
 * Whether the library logs process lifecycle lines (Python's `multiprocessing` logger:
 * "child process calling self.run()", "process shutting down", ...). Off by default,
 * as Python's logger is; `ProcessLogger.layerStderr` turns it on.
 */
export const LifecycleLogs: Context.Reference<boolean> = Context.Reference<boolean>(
  "effect-multiprocessing/ProcessLogger/LifecycleLogs",
  { defaultValue: () => false }
)
