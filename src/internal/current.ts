/**
 * The state of this process, in one place: who it is (set by the child bootstrap;
 * `MainProcess` otherwise), its parent and the connection to it, the counter behind
 * default names, the children it has running, the objects it serves, the targets it
 * defines, and its orphan watchdog. Every module that needs per-process state reads it
 * here; nothing else keeps any.
 */
import * as Deferred from "effect/Deferred"
import type * as Scope from "effect/Scope"
import type * as Process from "../Process.ts"
import type { ProcessErrorReason } from "../ProcessError.ts"
import type * as Target from "../Target.ts"
import type * as Connection from "./connection.ts"
import * as Objects from "./objects.ts"
import * as Watchdog from "./watchdog.ts"

export interface Info {
  readonly name: string
  readonly pid: number
}

/** What a child learns of itself from its parent's `Start`. */
export interface ChildIdentity {
  readonly name: string
  /** Python's `_identity`: `[]` in the main process, `[1]` in Process-1, `[1, 2]` in its second child. */
  readonly identity: ReadonlyArray<number>
  readonly daemon: boolean
  readonly parent: Info
  /** The module it imports and the target it runs. */
  readonly module: string
  readonly target: string
}

/** Whether this process is the main one, or a child (and its connection to its parent). */
export type Role =
  | { readonly _tag: "Main" }
  | {
    readonly _tag: "Child"
    readonly self: ChildIdentity
    readonly uplink: Connection.Connection
    /** Ends this child now with `reason`, which its parent's call receives (nothing if it is already ending). */
    readonly abort: (reason: ProcessErrorReason) => void
  }

export interface State {
  role: Role
  /** How many processes this one has made (every one counts, named or not, as in Python). */
  counter: number
  /** Handles of the children that are started and not yet reaped. */
  readonly children: Set<Process.Process<unknown, unknown>>
  /** Processes started in each scope: a closing scope signals its daemons first, as Python does at exit. */
  readonly byScope: WeakMap<Scope.Scope, Set<Process.Process<unknown, unknown>>>
  /**
   * Completed when the program is asked to stop (SIGINT/SIGTERM to a main runner): a
   * scope close that waits on non-daemon children gives up and terminates them instead.
   */
  readonly shutdownRequested: Deferred.Deferred<void>
  readonly objects: Objects.Registry
  /** Targets defined in this process, by `module#name`: how a child finds what to run. */
  readonly targets: Map<string, Target.Any>
  readonly watchdog: Watchdog.Watchdog
}

export const state: State = {
  role: { _tag: "Main" },
  counter: 0,
  children: new Set(),
  byScope: new WeakMap(),
  shutdownRequested: Deferred.makeUnsafe<void>(),
  objects: Objects.make(),
  targets: new Map(),
  watchdog: Watchdog.make()
}

/** Called once by the child bootstrap, when its parent's `Start` came. */
export const becomeChild = (
  self: ChildIdentity,
  uplink: Connection.Connection,
  abort: (reason: ProcessErrorReason) => void
): void => {
  state.role = { _tag: "Child", self, uplink, abort }
}

export const info = (): Info => ({
  name: state.role._tag === "Child" ? state.role.self.name : "MainProcess",
  pid: process.pid
})
export const parent = (): Info | undefined => state.role._tag === "Child" ? state.role.self.parent : undefined
export const isChild = (): boolean => state.role._tag === "Child"

/** The connection to the parent, in a child. */
export const uplink = (): Connection.Connection | undefined =>
  state.role._tag === "Child" ? state.role.uplink : undefined

/** Allocates the next identity. */
export const nextIdentity = (): ReadonlyArray<number> => [
  ...(state.role._tag === "Child" ? state.role.self.identity : []),
  ++state.counter
]

/**
 * The defect behind `Process.exit(code)`: it unwinds the target like any defect (so
 * finalizers run), and the child bootstrap turns it into that exit code, quietly, as
 * Python does for `sys.exit(n)`.
 */
export class ExitRequest extends Error {
  readonly code: number
  constructor(code: number) {
    super(`exit(${code})`)
    this.name = "ExitRequest"
    this.code = code
  }
}
