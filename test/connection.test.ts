/**
 * The connection, in one process: a Connection on one end of a real UNIX socket, and on
 * the other end the test itself, reading and writing raw lines as a peer (well-behaved or
 * not) would.
 */
import type * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import type { DecodeError } from "../src/ProcessError.ts"
import * as AckFile from "../src/internal/ackFile.ts"
import * as Channel from "../src/internal/channel.ts"
import * as Connection from "../src/internal/connection.ts"
import * as Objects from "../src/internal/objects.ts"
import * as RemoteObject from "../src/internal/remoteObject.ts"
import { socketPair } from "./utils/sockets.ts"

type Line = Record<string, unknown>

/** The raw end of the socket: the lines the connection wrote, parsed, and a way to wait for one. */
const peerOf = (socket: Net.Socket) => {
  const lines: Array<Line> = []
  const waiters = new Set<() => void>()
  let rest = ""
  socket.on("data", (chunk: Buffer) => {
    const text = rest + chunk.toString("utf8")
    const parts = text.split("\n")
    rest = parts.pop()!
    for (const part of parts) if (part.length > 0) lines.push(JSON.parse(part))
    for (const wake of waiters) wake()
  })
  /** The first line (not taken yet) that `matches`, waiting for it if need be. */
  const take = (matches: (line: Line) => boolean) =>
    Effect.callback<Line>((resume) => {
      const check = () => {
        const index = lines.findIndex(matches)
        if (index === -1) return false
        const [line] = lines.splice(index, 1)
        waiters.delete(check)
        resume(Effect.succeed(line!))
        return true
      }
      if (!check()) waiters.add(check)
      return Effect.sync(() => waiters.delete(check))
    })
  return {
    lines,
    take,
    tagged: (tag: string) => take((line) => line["_tag"] === tag),
    write: (message: unknown) => socket.write(JSON.stringify(message) + "\n"),
    writeRaw: (text: string | Uint8Array) => socket.write(text)
  }
}

/** A connection to a raw peer, serving `objects`, recording its protocol errors and what its `Test` handler got. */
const connected = (options?: { readonly limits?: Channel.Limits | undefined }) =>
  Effect.gen(function*() {
    const { far, near } = yield* socketPair
    const errors: Array<DecodeError> = []
    const received: Array<unknown> = []
    const objects = Objects.make()
    const connection = Connection.make(near, {
      peer: "the test's peer",
      objects,
      context: yield* Effect.context<never>(),
      onProtocolError: (error) => errors.push(error),
      onClose: () => {},
      limits: options?.limits
    })
    connection.register("Test", Connection.decodeWith(Schema.TaggedStruct("Test", { n: Schema.Number })), (message) => {
      received.push(message.n)
    })
    return { connection, objects, errors, received, peer: peerOf(far), far }
  })

/** Waits until `condition` holds, without a clock: on the next turns of the event loop. */
const untilTrue = (condition: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() =>
    condition() ? Effect.void : Effect.andThen(Effect.promise(() => new Promise((resolve) => setImmediate(resolve))), untilTrue(condition))
  )

class Refused extends Schema.TaggedError<Refused>()("Refused", { why: Schema.String }) {}

/** A small kind of remote object: an adder that can refuse, wait forever, or hand over values. */
const operations = {
  add: { input: Schema.Struct({ a: Schema.Number, b: Schema.Number }), success: Schema.Number, error: Refused },
  forever: { input: Schema.Null, success: Schema.Null, error: Schema.Never },
  give: { input: Schema.Number, success: Schema.Number, error: Schema.Never }
} satisfies RemoteObject.Table

const adder = (log: Array<string>) =>
  RemoteObject.serve(operations, {
    add: ({ a, b }) => a < 0 ? Effect.fail(new Refused({ why: "negative" })) : Effect.succeed(a + b),
    forever: () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted")))),
    give: (n, deliver) =>
      Effect.sync(() => {
        deliver({ ack: () => log.push(`ack ${n}`), back: () => log.push(`back ${n}`) })
        return n
      })
  })

describe("Connection", () => {
  describe("calls it makes", () => {
    it.live("a call is answered by the reply with its id", () =>
      Effect.gen(function*() {
        const { connection, errors, peer } = yield* connected()
        const call = yield* Effect.forkChild(connection.call("obj", "add", { a: 1, b: 2 }))
        const sent = yield* peer.tagged("Call")
        assert.deepInclude(sent, { ref: "obj", op: "add", input: { a: 1, b: 2 } })
        peer.write({ _tag: "Reply", id: sent["id"], status: "ok", value: 3, deliveries: [] })
        assert.deepStrictEqual(yield* Fiber.join(call), { status: "ok", value: 3 })
        assert.deepStrictEqual(errors, [])
      }).pipe(Effect.scoped))

    it.live("an interrupted caller sends Cancel; a reply that comes anyway hands its deliveries back", () =>
      Effect.gen(function*() {
        const { connection, errors, peer } = yield* connected()
        const call = yield* Effect.forkChild(connection.call("obj", "take", null))
        const sent = yield* peer.tagged("Call")
        yield* Fiber.interrupt(call)
        assert.deepInclude(yield* peer.tagged("Cancel"), { id: sent["id"] })
        peer.write({ _tag: "Reply", id: sent["id"], status: "ok", value: "item", deliveries: [7, 8] })
        assert.deepInclude(yield* peer.tagged("Settle"), { ack: [], back: [7, 8] })
        // A reply for an id never used: the same, and no error either.
        peer.write({ _tag: "Reply", id: 999, status: "ok", value: null, deliveries: [3] })
        assert.deepInclude(yield* peer.tagged("Settle"), { ack: [], back: [3] })
        assert.deepStrictEqual(errors, [])
      }).pipe(Effect.scoped))

    it.live("a delivered value its caller takes is acknowledged at once", () =>
      Effect.gen(function*() {
        const { connection, peer } = yield* connected()
        const call = yield* Effect.forkChild(connection.call("obj", "take", null))
        const sent = yield* peer.tagged("Call")
        peer.write({ _tag: "Reply", id: sent["id"], status: "ok", value: "item", deliveries: [5] })
        yield* Fiber.join(call)
        assert.deepInclude(yield* peer.tagged("Settle"), { ack: [5], back: [] })
      }).pipe(Effect.scoped))

    it.live("an unreadable reply fails its call at once, as refused, and is reported", () =>
      Effect.gen(function*() {
        const { connection, errors, peer } = yield* connected()
        const call = yield* Effect.forkChild(connection.call("obj", "add", { a: 1, b: 2 }))
        const sent = yield* peer.tagged("Call")
        peer.write({ _tag: "Reply", id: sent["id"], status: "maybe" })
        const answer = yield* Fiber.join(call)
        assert.strictEqual(answer.status, "refused")
        yield* untilTrue(() => errors.length > 0)
        assert.include(errors[0]!.message, "an unreadable reply")
      }).pipe(Effect.scoped))

    it.live("when the peer goes, calls in flight and later calls are answered gone", () =>
      Effect.gen(function*() {
        const { connection, far, peer } = yield* connected()
        const call = yield* Effect.forkChild(connection.call("obj", "forever", null))
        yield* peer.tagged("Call")
        far.destroy()
        assert.deepStrictEqual(yield* Fiber.join(call), Connection.gone)
        assert.deepStrictEqual(yield* connection.call("obj", "add", { a: 1, b: 1 }), Connection.gone)
      }).pipe(Effect.scoped))
  })

  describe("calls it serves", () => {
    it.live("an object's operations are served by its table; unknown operations and bad inputs are refused; an unknown object is gone", () =>
      Effect.gen(function*() {
        const { errors, objects, peer } = yield* connected()
        const ref = objects.register({}, adder([]))
        const reply = (id: number) => Effect.map(peer.take((line) => line["_tag"] === "Reply" && line["id"] === id), ({ status, value }) => ({ status, value }))
        peer.write({ _tag: "Call", id: 1, ref, op: "add", input: { a: 2, b: 3 } })
        assert.deepStrictEqual(yield* reply(1), { status: "ok", value: 5 })
        peer.write({ _tag: "Call", id: 2, ref, op: "add", input: { a: -1, b: 3 } })
        assert.deepStrictEqual(yield* reply(2), { status: "error", value: { _tag: "Refused", why: "negative" } })
        peer.write({ _tag: "Call", id: 3, ref, op: "subtract", input: null })
        assert.deepInclude(yield* reply(3), { status: "refused" })
        peer.write({ _tag: "Call", id: 4, ref, op: "add", input: { a: "two", b: 3 } })
        assert.deepInclude(yield* reply(4), { status: "refused" })
        peer.write({ _tag: "Call", id: 5, ref: "no such object", op: "add", input: { a: 2, b: 3 } })
        assert.deepStrictEqual(yield* reply(5), { status: "gone", value: null })
        assert.deepStrictEqual(errors, [], "a call the table refuses is answered, not a protocol error")
      }).pipe(Effect.scoped))

    it.live("a Cancel interrupts the fiber serving the call, and nothing is answered", () =>
      Effect.gen(function*() {
        const { connection, objects, peer } = yield* connected()
        const log: Array<string> = []
        const ref = objects.register({}, adder(log))
        peer.write({ _tag: "Call", id: 1, ref, op: "forever", input: null })
        yield* untilTrue(() => connection.serving() === 1)
        peer.write({ _tag: "Cancel", id: 1 })
        yield* untilTrue(() => connection.serving() === 0)
        yield* untilTrue(() => log.length > 0)
        assert.deepStrictEqual(log, ["interrupted"])
        // A Cancel for a call already done, or never made: nothing happens.
        peer.write({ _tag: "Cancel", id: 42 })
        peer.write({ _tag: "Call", id: 2, ref, op: "add", input: { a: 1, b: 1 } })
        yield* peer.take((line) => line["_tag"] === "Reply" && line["id"] === 2)
        assert.isUndefined(peer.lines.find((line) => line["id"] === 1), "no reply to the cancelled call")
      }).pipe(Effect.scoped))

    it.effect("a delivered value stays the owner's until settled: acknowledged in the file (read on the clock), or back when the peer goes", () =>
      Effect.gen(function*() {
        const { far, objects, peer } = yield* connected()
        const log: Array<string> = []
        const ref = objects.register({}, adder(log))
        peer.write({ _tag: "Call", id: 1, ref, op: "give", input: 1 })
        // The file is offered ahead of the reply that delivers.
        const { path } = yield* peer.tagged("AckFile")
        const reply = yield* peer.tagged("Reply")
        assert.deepInclude(reply, { status: "ok", value: 1 })
        const writer = AckFile.makeWriter()
        writer.switchTo(path as string)
        assert.isTrue(writer.write(reply["deliveries"] as Array<number>))
        assert.deepStrictEqual(log, [], "not read yet")
        yield* TestClock.adjust("20 millis")
        assert.deepStrictEqual(log, ["ack 1"], "read on the clock while deliveries are out")
        peer.write({ _tag: "Call", id: 2, ref, op: "give", input: 2 })
        yield* peer.take((line) => line["_tag"] === "Reply" && line["id"] === 2)
        far.destroy()
        yield* untilTrue(() => log.length === 2)
        assert.deepStrictEqual(log, ["ack 1", "back 2"], "the unacknowledged value went back")
        writer.close()
      }).pipe(Effect.scoped))
  })

  describe("what it cannot read", () => {
    it.live("garbage is a typed protocol error for the peer, one per message, and the connection keeps working", () =>
      Effect.gen(function*() {
        const { errors, peer, received } = yield* connected()
        peer.writeRaw("this is not JSON\n")
        peer.write({ no: "tag" })
        peer.write([1, 2, 3])
        peer.write({ _tag: "Bogus" })
        peer.write({ _tag: "Call", id: "one" })
        peer.write({ _tag: "Test", n: "one" })
        peer.write({ _tag: "Test", n: 1 })
        yield* untilTrue(() => received.length === 1)
        assert.deepStrictEqual(received, [1])
        assert.strictEqual(errors.length, 6)
        for (const error of errors) {
          assert.strictEqual(error._tag, "DecodeError")
          assert.strictEqual(error.payload, "message")
          assert.include(error.message, "from the test's peer")
        }
        const messages = errors.map((error) => error.message)
        assert.include(messages[0], "not JSON")
        assert.include(messages[1], "without a tag")
        assert.include(messages[2], "without a tag")
        assert.include(messages[3], "an unknown message 'Bogus'")
        assert.include(messages[4], "does not fit its Schema")
        assert.include(messages[5], "a 'Test' message that does not fit its Schema")
      }).pipe(Effect.scoped))

    it.live("a frame over the limit is reported from its header, before anything is allocated, and skipped with its message", () =>
      Effect.gen(function*() {
        const { errors, peer, received } = yield* connected({ limits: { lineBytes: 1024, partBytes: 16 } })
        peer.writeRaw("#100\n")
        peer.writeRaw(new Uint8Array(100).fill(0x0a))
        peer.write({ _tag: "Test", n: 1 })
        peer.write({ _tag: "Test", n: 2, pad: "x".repeat(2000) })
        peer.write({ _tag: "Test", n: 3 })
        yield* untilTrue(() => received.length === 1)
        assert.deepStrictEqual(received, [3], "the message of the oversized part and the oversized line are dropped")
        assert.strictEqual(errors.length, 2)
        assert.include(errors[0]!.message, "over the limit")
        assert.include(errors[1]!.message, "longer than 1024 bytes")
      }).pipe(Effect.scoped))

    it.live("a part header of 4 GiB is refused by the default limit at once: no allocation, no wait for its bytes", () =>
      Effect.gen(function*() {
        const { errors, peer } = yield* connected()
        const before = process.memoryUsage().arrayBuffers
        peer.writeRaw("#4294967295\n")
        yield* untilTrue(() => errors.length > 0)
        assert.include(errors[0]!.message, "a binary part of 4294967295 bytes: over the limit")
        assert.isBelow(process.memoryUsage().arrayBuffers - before, 64 * 1024 * 1024)
      }).pipe(Effect.scoped))

    it.live("a layer cannot register one of the connection's own tags", () =>
      Effect.gen(function*() {
        const { connection } = yield* connected()
        for (const tag of ["Call", "Cancel", "Reply", "Settle", "AckFile"]) {
          assert.throws(() => connection.register(tag, (message) => Result.succeed(message), () => {}), /itself/, tag)
        }
      }).pipe(Effect.scoped))

    it.live("a handler's decoder may be hand-written, for hot messages", () =>
      Effect.gen(function*() {
        const { connection, errors, peer } = yield* connected()
        const got: Array<number> = []
        connection.register(
          "Hot",
          (message) =>
            typeof message === "object" && message !== null && "n" in message && typeof message.n === "number"
              ? Result.succeed(message.n)
              : Result.fail("no number"),
          (n) => {
            got.push(n)
          }
        )
        peer.write({ _tag: "Hot", n: 4 })
        peer.write({ _tag: "Hot" })
        yield* untilTrue(() => errors.length === 1)
        assert.deepStrictEqual(got, [4])
        assert.include(errors[0]!.message, "no number")
      }).pipe(Effect.scoped))
  })
})
