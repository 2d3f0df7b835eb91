/**
 * The calling side of a connection: calls on objects the other side serves, their replies,
 * cancellation, and the settlement of the values they deliver.
 *
 * - A caller that is interrupted sends `Cancel`; an answer that crosses the interruption
 *   has its delivered values handed back.
 * - A value delivered in a reply is acknowledged before its caller gets it: at once over
 *   the channel, or (`acksToFile`) in the acknowledgements file the other side gave us (see
 *   ackFile.ts), which needs no message. Values handed back go in one `Settle` per turn.
 * - The other side gone: every call in flight, and every later one, is answered `gone`.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Schema from "effect/Schema"
import * as AckFile from "./ackFile.ts"
import { endOfTurn } from "./endOfTurn.ts"
import type * as Channel from "./channel.ts"
import type * as Protocol from "./protocol.ts"

/** A value the owner must get back unless its receiver acknowledges it. */
export interface Delivery {
  readonly ack: () => void
  readonly back: () => void
}

/** What a call gets back: the reply's status and its value (parsed JSON, for the caller to decode). */
export interface Answer {
  readonly status: Protocol.ReplyStatus
  readonly value: unknown
}

export const gone: Answer = { status: "gone", value: null }

export interface CallOptions {
  /**
   * Called, before `call` returns and with no interruption possible in between, with the
   * answer and a delivery per delivered value, in order, for the caller to settle (a relay,
   * when its own caller does; a prefetching proxy, item by item as they are taken).
   * Without it, delivered values are acknowledged as soon as the calling fiber has them.
   */
  readonly accept?: ((answer: Answer, deliveries: ReadonlyArray<Delivery>) => void) | undefined
  /**
   * Acknowledgements go to the acknowledgements file rather than over the channel: for
   * values whose owner needs no prompt word that they were taken (items of an unbounded
   * queue; a bounded queue's items hold their slot until then).
   */
  readonly acksToFile?: boolean | undefined
}

export interface Calls {
  readonly call: (ref: string, op: string, input: Schema.Json, options?: CallOptions) => Effect.Effect<Answer>
  /** Sends a call without waiting; its answer goes to `onAnswer`. For write-behind operations, never deliveries. */
  readonly post: (ref: string, op: string, input: Schema.Json, onAnswer: (answer: Answer) => void) => void
  readonly onReply: (reply: Protocol.Reply) => void
  /** A reply that could not be read: its call (if it can be told) fails as refused. */
  readonly onUnreadableReply: (id: number, message: string) => void
  readonly onAckFile: (path: string) => void
  /** Write-behind buffers (a proxy's batched puts) to push out before anything else is sent. */
  readonly addFlusher: (flush: () => void) => void
  readonly removeFlusher: (flush: () => void) => void
  readonly flushWriteBehind: () => void
  readonly disconnect: () => void
}

interface Sender {
  readonly write: (message: Protocol.Envelope, binary?: Channel.Binary) => void
  /** Writes what is pending to the socket now (a pipe write that returned survives a SIGKILL). */
  readonly flushNow: () => void
}

export const make = (sender: Sender): Calls => {
  const pending = new Map<number, (answer: Answer, deliveries: ReadonlyArray<number>) => void>()
  const flushers = new Set<() => void>()
  const acks = AckFile.makeWriter()
  let nextId = 0
  let closed = false
  let ackBatch: Array<number> = []
  let backBatch: Array<number> = []

  const sendSettle = (now: boolean) => {
    if (closed || (ackBatch.length === 0 && backBatch.length === 0)) return
    sender.write({ _tag: "Settle", ack: ackBatch, back: backBatch })
    ackBatch = []
    backBatch = []
    if (now) sender.flushNow()
  }

  /**
   * Settles a delivery. An `ack` is durable before the value reaches the caller's code: were
   * this process killed right after, the owner must not give a value its taker already had
   * to another. A `back` can wait for the end of the turn and go out with others.
   */
  const settle = (id: number, ack: boolean, toFile = false) => {
    if (ack && toFile && acks.write([id])) return
    if (ack) {
      ackBatch.push(id)
      return sendSettle(true)
    }
    backBatch.push(id)
    settleSoon()
  }
  const settleSoon = endOfTurn(() => sendSettle(false))

  const flushWriteBehind = () => {
    for (const flush of flushers) flush()
  }

  const send = (ref: string, op: string, input: Schema.Json, resume: (answer: Answer, deliveries: ReadonlyArray<number>) => void) => {
    const id = ++nextId
    pending.set(id, resume)
    // Values handed back before this call go back before it: the next take gets them.
    sendSettle(false)
    sender.write({ _tag: "Call", id, ref, op, input })
    return id
  }

  const call = (ref: string, op: string, input: Schema.Json, options?: CallOptions): Effect.Effect<Answer> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        if (closed) return Effect.succeed(gone)
        flushWriteBehind()
        const deferred = Deferred.makeUnsafe<void>()
        let answered: { readonly answer: Answer; readonly deliveries: ReadonlyArray<number> } | undefined
        const id = send(ref, op, input, (answer, deliveries) => {
          answered = { answer, deliveries }
          Deferred.doneUnsafe(deferred, Exit.void)
        })
        return restore(Deferred.await(deferred)).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              pending.delete(id)
              if (answered === undefined) sender.write({ _tag: "Cancel", id })
              // The answer crossed our interruption: hand delivered values back.
              else for (const delivery of answered.deliveries) settle(delivery, false)
            })
          ),
          Effect.map(() => {
            const { answer, deliveries } = answered!
            const toFile = options?.acksToFile === true
            if (options?.accept !== undefined) {
              options.accept(
                answer,
                deliveries.map((delivery) => ({
                  ack: () => settle(delivery, true, toFile),
                  back: () => settle(delivery, false)
                }))
              )
            } else if (deliveries.length > 0 && !(toFile && acks.write(deliveries))) {
              for (const delivery of deliveries) settle(delivery, true)
            }
            return answer
          })
        )
      })
    )

  return {
    call,
    post: (ref, op, input, onAnswer) => {
      if (closed) return onAnswer(gone)
      send(ref, op, input, (answer) => onAnswer(answer))
    },
    onReply: (reply) => {
      const resume = pending.get(reply.id)
      if (resume === undefined) {
        // Its caller gave up before the answer came: delivered values go back.
        for (const id of reply.deliveries) settle(id, false)
        return
      }
      pending.delete(reply.id)
      resume({ status: reply.status, value: reply.value }, reply.deliveries)
    },
    onUnreadableReply: (id, message) => {
      const resume = pending.get(id)
      if (resume === undefined) return
      pending.delete(id)
      resume({ status: "refused", value: `an unreadable reply: ${message}` }, [])
    },
    onAckFile: acks.switchTo,
    addFlusher: (flush) => flushers.add(flush),
    removeFlusher: (flush) => flushers.delete(flush),
    flushWriteBehind,
    disconnect: () => {
      if (closed) return
      closed = true
      for (const resume of pending.values()) resume(gone, [])
      pending.clear()
      acks.close()
    }
  }
}
