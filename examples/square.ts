/**
 * The README's quick start: a typed target, its result, its own typed error, and the
 * process's failures handled by reason.
 *
 *   node examples/square.ts
 */
import { Console, Effect, Schema } from "effect"
import { Process, Target } from "../src/index.ts"

class TooBig extends Schema.TaggedError<TooBig>()("TooBig", { n: Schema.Number }) {}

// A target: defined at the top level of a module that the child can import.
export const square = Target.make("square", {
  module: import.meta.url,
  args: Schema.Number,
  success: Schema.Number,
  error: TooBig,
  run: (n) => n > 1000 ? Effect.fail(new TooBig({ n })) : Effect.succeed(n * n)
})

// The parent's program; the child imports this module too, so keep it behind the guard
// (Python's `if __name__ == "__main__":`).
if (import.meta.main) {
  Process.runMain(Effect.gen(function*() {
    const p = yield* Process.spawn(square, { args: 12 })
    const result = yield* Process.result(p) // 144, typed; fails with TooBig | ProcessError
    const code = yield* Process.join(p) // 0
    yield* Console.log(result, code, String(p))

    const outcome = yield* Process.run(square, { args: 5000 }).pipe(
      Effect.catchTag("TooBig", (e) => Effect.succeed(-e.n)), // the target's own error
      Effect.catchReason("ProcessError", "SignalError", (r) => Effect.succeed(r.exitCode)) // e.g. -9
    )
    yield* Console.log(outcome)
  }))
}
