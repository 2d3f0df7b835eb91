import { UncaughtError } from "../ProcessError.ts"

/** A defect from a child, as the typed reason that carries its name, message and stack. */
export const uncaught = (defect: unknown): UncaughtError =>
  defect instanceof Error
    ? new UncaughtError({ name: defect.name, message: defect.message, stack: defect.stack })
    : new UncaughtError({ name: "Error", message: errorMessage(defect) })

export const errorMessage = (u: unknown): string =>
  u instanceof Error ? u.message : typeof u === "string" ? u : String(u)
