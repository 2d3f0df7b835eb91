import * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Channel from "../src/internal/channel.ts"
import { tempPath } from "./utils/files.ts"

/** A connected pair of real UNIX sockets: `near` is ours, `far` the other process's end. */
const socketPair = Effect.flatMap(tempPath("socket"), (path) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ near: Net.Socket; far: Net.Socket; server: Net.Server }>((resolve) => {
        const server = Net.createServer((far) => resolve({ near, far, server }))
        server.listen(path)
        const near = Net.connect(path)
      })
    ),
    ({ far, near, server }) =>
      Effect.sync(() => {
        near.destroy()
        far.destroy()
        server.close()
      })
  ))

describe("channel", () => {
  it.live("waiting for a congested socket to drain, again and again, leaves no listener behind", () =>
    Effect.gen(function*() {
      const { far, near } = yield* socketPair
      far.pause()
      const channel = Channel.make(near, { onMessage: () => {}, onMalformed: () => {}, onClose: () => {} })
      const listeners = () => near.listenerCount("close") + near.listenerCount("drain")
      const before = listeners()
      const line = "x".repeat(64 * 1024)
      for (let round = 0; round < 15; round++) {
        while (channel.write(line)) {
          // until the socket is congested
        }
        channel.flush()
        const drained = yield* Effect.forkChild(channel.awaitDrain)
        far.resume()
        yield* Fiber.join(drained)
        far.pause()
      }
      assert.strictEqual(listeners(), before)
    }).pipe(Effect.scoped))
})
