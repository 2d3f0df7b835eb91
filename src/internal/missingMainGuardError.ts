/**
 * The error of a program that runs again in its children because its main program is not
 * behind `if (import.meta.main)`. Its own file, with nothing but Schema, so that
 * `ProcessError.ts` can put it in its reasons without importing the process layer.
 */
import * as Schema from "effect/Schema"

/** How the fix reads, in the error's message and in the docs. */
export const fix = `if (import.meta.main) {
  Process.runMain(program)
}`

export class MissingMainGuardError extends Schema.TaggedError<MissingMainGuardError>()("MissingMainGuardError", {
  /** The module the child was importing: the one whose main program lacks the guard. */
  module: Schema.String,
  /** The target the child was started to run. */
  target: Schema.String
}) {
  override get message(): string {
    return `${this.module} runs its main program without the \`if (import.meta.main)\` guard: a child that ` +
      `imported it to run its target '${this.target}' ran the program too, and tried to start a process, as every ` +
      `child would, without end. Nothing was started. Keep the main program behind the guard (Python's ` +
      `\`if __name__ == "__main__":\`), so that only the process started with \`node\` runs it:\n\n${fix.replace(/^/gm, "  ")}\n`
  }
}
