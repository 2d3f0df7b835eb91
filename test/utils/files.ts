/**
 * Waiting for events, and the temporary files children signal through: a child writes a
 * file when it reaches a point, and the test waits for it (an event, not a sleep).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"

/**
 * Waits until `condition` holds, checking every 10 ms, for up to ~30 s. Then it just
 * returns: the test's own check after it fails, with its own message.
 */
export const until = (condition: () => boolean) =>
  Effect.sleep("10 millis").pipe(Effect.repeat({ until: condition, times: 3000 }))

/** Waits until `path` exists (see `until`). */
export const untilFile = (path: string) => until(() => Fs.existsSync(path))

/** A fresh temporary directory, removed with what it holds when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "emp-test-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** A path named `name` in a fresh temporary directory (removed when the scope closes). */
export const tempPath = (name: string) => Effect.map(tempDir, (dir) => Path.join(dir, name))
