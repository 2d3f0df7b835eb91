/**
 * Python's spawn start method refuses to start a process from a child's bootstrap ("An
 * attempt has been made to start a new process before the current process has finished
 * its bootstrapping phase"): a module whose main program is not behind its guard runs it
 * again in every child, which spawns again, without end.
 *
 * Here a child starts a process only from inside the target it runs: its fiber carries
 * `RunningTarget`, and so does every fiber it forks. A spawn from any other fiber of a
 * child (a `Process.runMain`, `Effect.runPromise` or `NodeRuntime.runMain` at a module's
 * top level, now or after any delay) is refused, whenever it comes, and the child ends
 * with `MissingMainGuardError`, which its parent's call receives.
 */
import * as Context from "effect/Context"
import * as Fiber from "effect/Fiber"
import * as Current from "./current.ts"
import { MissingMainGuardError } from "./missingMainGuardError.ts"

/** Set on the fiber that runs a child's target (and so on the fibers it forks). */
export const RunningTarget = Context.Reference<boolean>("effect-multiprocessing/RunningTarget", {
  defaultValue: () => false
})

/**
 * The error to fail a spawn (or a `Process.runMain`) with, if this is a child and the
 * caller is not its target; the child is then ended with it, and its parent told (a pool
 * worker importing a task's module fails that task instead: see `importing`).
 * `undefined` when the spawn may go ahead.
 */
export const refusal = (): MissingMainGuardError | undefined => {
  const role = Current.state.role
  if (role._tag !== "Child") return undefined
  if (Fiber.getCurrent()?.getRef(RunningTarget) === true) return undefined
  if (loading !== undefined) {
    loading.refused ??= new MissingMainGuardError({ module: loading.module, target: loading.target })
    return loading.refused
  }
  const error = new MissingMainGuardError({ module: role.self.module, target: role.self.target })
  role.abort(error)
  return error
}

/** The module a pool worker is importing for a task, and whether the import was refused a spawn. */
let loading: { readonly module: string; readonly target: string; refused: MissingMainGuardError | undefined } | undefined

/**
 * Imports a task's module in a pool worker: a spawn while it loads is refused, and the
 * refusal is given back, for the task to fail with, instead of ending the worker (which
 * would fail the task as a crash, without saying why).
 */
export const importing = async (module: string, target: string): Promise<MissingMainGuardError | undefined> => {
  const outer = loading
  const current = loading = { module, target, refused: undefined }
  try {
    await import(module)
  } finally {
    loading = outer
  }
  return current.refused
}
