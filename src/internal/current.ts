/**
 * What this process knows about itself: its name and identity (set by the child
 * bootstrap; `MainProcess` otherwise), its parent, the counter behind default names,
 * and the children it has running.
 */
import * as Deferred from "effect/Deferred"
import type * as Process from "../Process.ts"

export interface Info {
  readonly name: string
  readonly pid: number
}

interface State {
  name: string
  /** Python's `_identity`: `[]` in the main process, `[1]` in Process-1, `[1, 2]` in its second child. */
  identity: ReadonlyArray<number>
  daemon: boolean
  parent: Info | undefined
  counter: number
}

const state: State = {
  name: "MainProcess",
  identity: [],
  daemon: false,
  parent: undefined,
  counter: 0
}

export const setChild = (options: {
  readonly name: string
  readonly identity: ReadonlyArray<number>
  readonly daemon: boolean
  readonly parent: Info
}): void => {
  state.name = options.name
  state.identity = options.identity
  state.daemon = options.daemon
  state.parent = options.parent
}

export const info = (): Info => ({ name: state.name, pid: process.pid })
export const parent = (): Info | undefined => state.parent
export const isChild = (): boolean => state.parent !== undefined

/** Allocates the next identity; every process made counts, named or not (as in Python). */
export const nextIdentity = (): ReadonlyArray<number> => [...state.identity, ++state.counter]

/** Handles of the children that are started and not yet reaped. */
export const children = new Set<Process.Process<unknown, unknown>>()

/**
 * Completed when the program is asked to stop (SIGINT/SIGTERM to a main runner): a
 * scope close that waits on non-daemon children gives up and terminates them instead.
 */
export const shutdownRequested: Deferred.Deferred<void> = Deferred.makeUnsafe<void>()

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
