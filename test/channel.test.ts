import * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Channel from "../src/internal/channel.ts"
import { until } from "./utils/files.ts"
import { socketPair } from "./utils/sockets.ts"

/** What a channel on `socket` received: messages with their binary parts, and reports of malformed input. */
const receiver = (socket: Net.Socket, limits?: Channel.Limits) => {
  const messages: Array<{ readonly message: unknown; readonly binary: ReadonlyArray<string> }> = []
  const malformed: Array<string> = []
  Channel.make(socket, {
    onMessage: (message, binary) => messages.push({ message, binary: binary.map((bytes) => Buffer.from(bytes).toString("hex")) }),
    onMalformed: (line) => malformed.push(line),
    onClose: () => {}
  }, limits)
  return { messages, malformed }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

/** Binary parts with bytes a line reader could trip on: newlines, '#', invalid UTF-8, none at all. */
const parts = [new Uint8Array(0), Buffer.from("#12\n{\"x\":1}\n\n"), Buffer.from([0xff, 0xe2, 0x82, 0x0a, 0x00]), new Uint8Array(3000).map((_, i) => i)]
const sent: ReadonlyArray<{ readonly message: unknown; readonly binary: ReadonlyArray<Uint8Array> }> = [
  { message: { n: 1 }, binary: [] },
  { message: { n: 2, text: "é😀 multi-byte" }, binary: parts },
  { message: { n: 3 }, binary: [parts[3]!] },
  { message: { n: 4, text: "#1 is no part's header,\n#2 neither" }, binary: [] },
  { message: { n: 5 }, binary: [parts[1]!] }
]
const expected = sent.map(({ binary, message }) => ({ message, binary: binary.map(hex) }))

/** The bytes a channel writes for `sent`, as its peer reads them off a real socket. */
const wireBytes = Effect.gen(function*() {
  const { far, near } = yield* socketPair
  const read: Array<Buffer> = []
  far.on("data", (chunk: Buffer) => read.push(chunk))
  const channel = Channel.make(near, { onMessage: () => {}, onMalformed: () => {}, onClose: () => {} })
  for (const { binary, message } of sent) channel.write(message, binary)
  yield* Effect.callback<void>((resume) => channel.flush(() => resume(Effect.void)))
  const length = sent.reduce((n, { binary, message }) =>
    n + JSON.stringify(message).length + 1 + binary.reduce((m, bytes) => m + `#${bytes.length}\n`.length + bytes.length, 0), 0)
  yield* until(() => read.reduce((n, chunk) => n + chunk.length, 0) >= length)
  return Buffer.concat(read)
})

describe("channel", () => {
  it.live("messages arrive with their binary parts, in order, however the stream is cut into reads", () =>
    Effect.gen(function*() {
      const wire = yield* wireBytes
      const { near } = yield* socketPair
      // Cut in two at every byte, and into single bytes: headers, parts, lines and UTF-8
      // sequences all split across reads.
      const cuts = [...Array.from({ length: wire.length + 1 }, (_, i) => [i]), Array.from({ length: wire.length }, (_, i) => i)]
      for (const at of cuts) {
        const socket = new Net.Socket()
        const got = receiver(socket)
        let start = 0
        for (const end of [...at, wire.length]) {
          socket.emit("data", wire.subarray(start, end))
          start = end
        }
        assert.deepStrictEqual(got.messages, expected, `cut at ${at.length === 1 ? at[0] : "every byte"}`)
        assert.deepStrictEqual(got.malformed, [])
        socket.destroy()
      }
      near.destroy()
    }).pipe(Effect.scoped))

  it.live("between two channels on a real socket, large binary parts cross both ways with their messages", () =>
    Effect.gen(function*() {
      const { far, near } = yield* socketPair
      const big = new Float64Array(300_000).map((_, i) => i * 1.5)
      const bytes = new Uint8Array(big.buffer)
      const atFar = receiver(far)
      const atNear: Array<{ message: unknown; binary: ReadonlyArray<Uint8Array> }> = []
      const nearChannel = Channel.make(near, {
        onMessage: (message, binary) => atNear.push({ message, binary }),
        onMalformed: () => {},
        onClose: () => {}
      })
      const farChannel = Channel.make(far, { onMessage: () => {}, onMalformed: () => {}, onClose: () => {} })
      for (let i = 0; i < 20; i++) nearChannel.write({ i }, i % 2 === 0 ? [bytes] : [])
      for (let i = 0; i < 5; i++) farChannel.write({ back: i }, [bytes, bytes])
      yield* until(() => atFar.messages.length === 20 && atNear.length === 5)
      assert.deepStrictEqual(atFar.messages.map(({ message }) => message), Array.from({ length: 20 }, (_, i) => ({ i })))
      atFar.messages.forEach(({ binary }, i) => assert.deepStrictEqual(binary, i % 2 === 0 ? [hex(bytes)] : []))
      for (const { binary } of atNear) {
        assert.strictEqual(binary.length, 2)
        // Each part in memory of its own, aligned for a typed array's view.
        for (const part of binary) assert.deepStrictEqual(new Float64Array(part.buffer, part.byteOffset, part.length / 8), big)
      }
    }).pipe(Effect.scoped))

  it.live("a message that cannot be written throws, and queues none of its parts", () =>
    Effect.gen(function*() {
      const { far, near } = yield* socketPair
      const got = receiver(far)
      const channel = Channel.make(near, { onMessage: () => {}, onMalformed: () => {}, onClose: () => {} })
      // A BigInt has no JSON form, as a string longer than V8 allows has none.
      assert.throws(() => channel.write({ n: 1n }, [Buffer.from("lost")]))
      channel.write({ n: 2 }, [Buffer.from("kept")])
      yield* until(() => got.messages.length === 1)
      assert.deepStrictEqual(got.messages, [{ message: { n: 2 }, binary: [hex(Buffer.from("kept"))] }])
    }).pipe(Effect.scoped))

  it.live("a malformed part header, or a line that is not JSON, is reported; its parts go with it, and the next message reads", () =>
    Effect.gen(function*() {
      const socket = new Net.Socket()
      const got = receiver(socket)
      socket.emit("data", Buffer.from("#12x\n#\n#-1\n{\"a\":1}\n#2\nAB{not json\n{\"b\":2}\n#1\nC{\"c\":3}\n"))
      assert.deepStrictEqual(got.messages, [
        { message: { a: 1 }, binary: [] },
        { message: { b: 2 }, binary: [] },
        { message: { c: 3 }, binary: [hex(Buffer.from("C"))] }
      ])
      assert.deepStrictEqual(got.malformed, ["#12x", "#", "#-1", "{not json"])
      socket.destroy()
    }))

  it.live("a part or a line longer than the limit is skipped and reported, with its message; the next message reads", () =>
    Effect.gen(function*() {
      const socket = new Net.Socket()
      const got = receiver(socket, { lineBytes: 5000, partBytes: 5000 })
      const over = 5001
      // A part: its bytes are skipped by its length (a newline among them changes nothing).
      socket.emit("data", Buffer.from(`#${over}\n`))
      const skipped = Buffer.alloc(over, "x")
      skipped[10] = 0x0a
      socket.emit("data", skipped.subarray(0, 1000))
      socket.emit("data", skipped.subarray(1000))
      socket.emit("data", Buffer.from("{\"dropped\":1}\n{\"a\":1}\n"))
      // A line: skipped to its end; a part before it goes with it.
      socket.emit("data", Buffer.from("#1\nZ"))
      socket.emit("data", Buffer.alloc(over, "y"))
      socket.emit("data", Buffer.from("y\n{\"b\":2}\n"))
      assert.deepStrictEqual(got.messages, [{ message: { a: 1 }, binary: [] }, { message: { b: 2 }, binary: [] }])
      assert.strictEqual(got.malformed.length, 2)
      assert.strictEqual(got.malformed[0], `#${over}`)
      assert.match(got.malformed[1]!, /^y{200}…$/)
      socket.destroy()
    }))

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
