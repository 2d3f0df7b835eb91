/**
 * One connection per peer (a child, or this child's parent), the same on both sides of
 * the channel. It reads each message once and classifies it by its `_tag`, here and
 * nowhere else:
 *
 * - its own messages (`Call`, `Cancel`, `Reply`, `Settle`, `AckFile`): calls on the objects
 *   this process serves (connectionServe.ts) and calls this process made
 *   (connectionCalls.ts), with their cancellation and the settlement of delivered values;
 * - any other tag: the handler that the owning layer registered for it (the process
 *   lifecycle, a pool), decoded with that handler's Schema;
 * - anything else (not JSON, no tag, an unknown tag, a message that does not fit its
 *   Schema, a frame over the size limit) is a protocol error for this peer, which the owner
 *   hears of as a typed `DecodeError`. A reply that does not fit fails its call.
 */
import type * as Net from "node:net"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { DecodeError } from "../ProcessError.ts"
import * as Channel from "./channel.ts"
import * as Calls from "./connectionCalls.ts"
import * as Serve from "./connectionServe.ts"
import { errorMessage } from "./errors.ts"
import * as Protocol from "./protocol.ts"

export { type Answer, type CallOptions, type Delivery, gone } from "./connectionCalls.ts"
export { CallNotServed, type Objects, type Server } from "./connectionServe.ts"

interface Handler<A> {
  readonly decode: (message: unknown, binary: Channel.Binary) => Result.Result<A, string>
  readonly handle: (message: A, binary: Channel.Binary) => void
}

export interface Options {
  /** Who the peer is, for the messages of protocol errors ("process Process-1 (pid 42)"). */
  readonly peer: string
  /** What this side serves to the peer. */
  readonly objects: Serve.Objects
  /** The services the serving fibers and timers run with. */
  readonly context: Context.Context<never>
  readonly onProtocolError: (error: DecodeError) => void
  /** The channel closed: every call in flight was answered `gone`, and calls being served were stopped. */
  readonly onClose: () => void
  readonly limits?: Channel.Limits | undefined
  /** The size at which a peer's acknowledgements file is replaced by a new one. */
  readonly ackFileLimit?: number | undefined
}

export interface Connection {
  readonly peer: string
  /**
   * Registers how the messages tagged `tag` are read and handled (one handler per tag):
   * `decode` checks and decodes a message (a Schema's decoder, see `decodeWith`, or a
   * hand-written check for hot messages), `handle` takes what it gave.
   */
  readonly register: <A>(
    tag: string,
    decode: (message: unknown, binary: Channel.Binary) => Result.Result<A, string>,
    handle: (message: A, binary: Channel.Binary) => void
  ) => void
  /**
   * Sends a message of a registered layer (already encoded JSON with a `_tag`), with its
   * binary parts; `false` once the socket is congested or closed. Throws, with nothing
   * queued, when the message cannot be written (its JSON is longer than a string can be).
   */
  readonly send: (message: Schema.Json, binary?: Channel.Binary) => boolean
  readonly call: (ref: string, op: string, input: Schema.Json, options?: Calls.CallOptions) => Effect.Effect<Calls.Answer>
  readonly post: (ref: string, op: string, input: Schema.Json, onAnswer: (answer: Calls.Answer) => void) => void
  readonly addFlusher: (flush: () => void) => void
  readonly removeFlusher: (flush: () => void) => void
  /** Pushes out every write-behind buffer (before a result is reported, say). */
  readonly flushWriteBehind: () => void
  readonly awaitDrain: Effect.Effect<void>
  /** Writes what is pending now, then calls `onDone` once it reached the kernel. */
  readonly flush: (onDone?: () => void) => void
  /** Whether everything flushed so far reached the kernel (or the channel is closed). */
  readonly allWritten: () => boolean
  /** Flushes, then half-closes the socket. */
  readonly end: (onDone?: () => void) => void
  readonly destroy: () => void
  readonly isClosed: () => boolean
  /** How many of the peer's calls are being served now. */
  readonly serving: () => number
  /** Stops serving the peer, taking back what it had not acknowledged (done by itself when the channel closes). */
  readonly closeServing: Effect.Effect<void>
}

/** A handler's decoder from a Schema of the message: its failures as their messages. */
export const decodeWith = <S extends Schema.Constraint & Schema.ConstraintDecoder<unknown>>(
  schema: S
): (message: unknown) => Result.Result<S["Type"], string> => {
  const decode = Schema.decodeUnknownResult(Schema.toCodecJson(schema) as unknown as S)
  return (message) => Result.mapError(decode(message), (error) => error.message)
}

const decodeCall = decodeWith(Protocol.Call)
const decodeCancel = decodeWith(Protocol.Cancel)
const decodeReply = decodeWith(Protocol.Reply)
const decodeSettle = decodeWith(Protocol.Settle)
const decodeAckFile = decodeWith(Protocol.AckFile)

const ownTags: ReadonlySet<string> = new Set(Protocol.Envelope.members.map((member) => member.fields._tag.schema.literal))

/** The start of a message, for a report. */
const excerpt = (message: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(message) ?? String(message)
  } catch {
    text = String(message)
  }
  return text.length > 200 ? text.slice(0, 200) + "…" : text
}

export const make = (socket: Net.Socket, options: Options): Connection => {
  const handlers = new Map<string, Handler<unknown>>()
  const protocolError = (message: string) =>
    options.onProtocolError(new DecodeError({ payload: "message", message: `from ${options.peer}: ${message}` }))

  const onMessage = (message: unknown, binary: Channel.Binary) => {
    const tag = Predicate.hasProperty(message, "_tag") && typeof message._tag === "string" ? message._tag : undefined
    if (tag === undefined) return protocolError(`a message without a tag: ${excerpt(message)}`)
    const handler = handlers.get(tag)
    if (handler === undefined) return protocolError(`an unknown message '${tag}': ${excerpt(message)}`)
    const decoded = handler.decode(message, binary)
    if (Result.isFailure(decoded)) {
      return protocolError(`a '${tag}' message that does not fit its Schema: ${decoded.failure}: ${excerpt(message)}`)
    }
    try {
      handler.handle(decoded.success, binary)
    } catch (error) {
      // A bug in the handler, not the peer's: reported, not thrown into the socket's reader.
      protocolError(`a '${tag}' message could not be handled: ${errorMessage(error)}`)
    }
  }

  const channel = Channel.make(socket, {
    onMessage,
    onMalformed: (line, error) => protocolError(`${error instanceof SyntaxError ? "not JSON" : errorMessage(error)}: ${line}`),
    onClose: () => {
      calls.disconnect()
      // Synchronous as far as it goes: deliveries go back now, the serving fibers are interrupted.
      Effect.runForkWith(options.context)(serving.close)
      options.onClose()
    }
  }, options.limits)

  const write = (message: Protocol.Envelope) => {
    channel.write(message)
  }
  const calls = Calls.make({ write, flushNow: () => channel.flush() })
  const serving = Serve.make({ objects: options.objects, context: options.context, write, ackFileLimit: options.ackFileLimit })

  // The connection's own messages, in the same table as the layers' (see `register`).
  const own = <A>(tag: string, decode: (message: unknown) => Result.Result<A, string>, handle: (message: A) => void) =>
    handlers.set(tag, { decode, handle } as Handler<unknown>)
  own("Call", decodeCall, serving.onCall)
  own("Cancel", decodeCancel, (cancel) => serving.onCancel(cancel.id))
  own("Reply", (message) => {
    const decoded = decodeReply(message)
    if (Result.isSuccess(decoded)) return decoded
    // Its caller, if it can be told, fails instead of waiting forever.
    if (Predicate.hasProperty(message, "id") && Number.isInteger(message.id)) {
      calls.onUnreadableReply(message.id as number, decoded.failure)
    }
    return Result.fail(`an unreadable reply: ${decoded.failure}`)
  }, calls.onReply)
  own("Settle", decodeSettle, serving.onSettle)
  own("AckFile", decodeAckFile, (ackFile) => calls.onAckFile(ackFile.path))

  return {
    peer: options.peer,
    register: (tag, decode, handle) => {
      // The connection's own tags never reach a handler: registering one is a bug.
      if (ownTags.has(tag)) throw new Error(`'${tag}' is a message of the connection itself`)
      handlers.set(tag, { decode, handle } as Handler<unknown>)
    },
    send: (message, binary) => channel.write(message, binary),
    call: calls.call,
    post: calls.post,
    addFlusher: calls.addFlusher,
    removeFlusher: calls.removeFlusher,
    flushWriteBehind: calls.flushWriteBehind,
    awaitDrain: channel.awaitDrain,
    flush: channel.flush,
    allWritten: channel.allWritten,
    end: channel.end,
    destroy: channel.destroy,
    isClosed: channel.isClosed,
    serving: serving.serving,
    closeServing: serving.close
  }
}
