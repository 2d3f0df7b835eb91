import * as Net from "node:net"
import * as Effect from "effect/Effect"
import { tempPath } from "./files.ts"

/** A connected pair of real UNIX sockets in this process: `near` is ours, `far` the peer's end. */
export const socketPair = Effect.flatMap(tempPath("socket"), (path) =>
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
