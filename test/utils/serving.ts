import type * as Process from "../../src/Process.ts"
import type { ProcessImpl } from "../../src/internal/process.ts"

/** How many calls of these children the parent is serving now (waiting gets, puts, waits). */
export const serving = (...children: ReadonlyArray<Process.Process<unknown, unknown>>): number =>
  children.reduce((sum, child) => {
    const state = (child as ProcessImpl<unknown, unknown>).state
    return sum + (state._tag === "Running" ? state.connection.serving() : 0)
  }, 0)
