/**
 * The serving side of a connection: the calls the other side makes on objects this process
 * serves (see remoteObject.ts), each in a fiber of its own, and the values they deliver.
 *
 * - A `Cancel` interrupts the fiber serving that call, so no wait is left behind here.
 * - A reply that hands over a value the owner must not lose (a queue item) leaves it the
 *   owner's until the other side settles it: `ack` once its caller has it, `back` if the
 *   caller gave up first. When the other side is gone, whatever it had not acknowledged
 *   goes back too.
 * - Acknowledgements may come in a file (ackFile.ts), made on the first delivery to this
 *   peer and read before each of its calls, every `ackPollInterval` while deliveries are
 *   out, and before taking back what is left when the peer is gone.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Schema from "effect/Schema"
import * as AckFile from "./ackFile.ts"
import type { Delivery } from "./connectionCalls.ts"
import { errorMessage } from "./errors.ts"
import type * as Protocol from "./protocol.ts"

/**
 * An object that other processes reach by reference. `serve` gives the operation's encoded
 * success, or fails with its encoded error; it dies with a `CallNotServed` when the call
 * is not served. Every value it delivers (a queue item) goes to `deliver` at the very
 * moment it is taken, so that no interruption can come between taking a value
 * and the connection knowing of it.
 */
export interface Server {
  readonly serve: (
    op: string,
    /** Parsed JSON from the caller: the operation decodes it. */
    input: unknown,
    deliver: (delivery: Delivery) => void
  ) => Effect.Effect<Schema.Json, Schema.Json>
}

/**
 * A call that is not served: `refused` when it cannot be served as sent (an unknown
 * operation, an input that does not fit it), `gone` when the object is (a relay whose own
 * owner is gone). A server dies with it; its caller gets a reply of that status.
 */
export class CallNotServed extends Error {
  readonly status: "gone" | "refused"
  constructor(status: "gone" | "refused", message: string) {
    super(message)
    this.name = "CallNotServed"
    this.status = status
  }
}

/** The objects this process serves, by reference. */
export interface Objects {
  readonly lookup: (ref: string) => Server | undefined
}

/** How often the acknowledgements file is read while deliveries are out. */
const ackPollInterval = Duration.millis(20)

export interface Serving {
  readonly onCall: (call: Protocol.Call) => void
  readonly onCancel: (id: number) => void
  readonly onSettle: (settle: Protocol.Settle) => void
  /** How many calls are being served now. */
  readonly serving: () => number
  /** The peer is gone: stop its calls, and take back what it had not acknowledged. */
  readonly close: Effect.Effect<void>
}

/**
 * The deliveries the peer has not settled yet, by id. The values of one reply have
 * consecutive ids, and are kept together: one entry per reply, not per value. (A map
 * entry per value, for values settled about as fast as they are delivered, made the map
 * reallocate its table again and again, in the old generation once the map is old: garbage
 * whose pages the process keeps long after a burst.)
 */
class Unsettled {
  /** By first id, oldest first: a reply's deliveries, `undefined` once settled. */
  readonly replies: Array<{ readonly first: number; readonly deliveries: Array<Delivery | undefined>; open: number }> = []
  size = 0
  /** The deliveries of one reply, with ids `first`, `first + 1`… */
  add(first: number, deliveries: Array<Delivery>): void {
    this.replies.push({ first, deliveries, open: deliveries.length })
    this.size += deliveries.length
  }
  /** Removes the delivery `id` and gives it, if it is unsettled. */
  take(id: number): Delivery | undefined {
    const replies = this.replies
    let low = 0
    let high = replies.length - 1
    while (low <= high) {
      const middle = (low + high) >> 1
      const reply = replies[middle]!
      if (id < reply.first) high = middle - 1
      else if (id >= reply.first + reply.deliveries.length) low = middle + 1
      else {
        const delivery = reply.deliveries[id - reply.first]
        if (delivery === undefined) return undefined
        reply.deliveries[id - reply.first] = undefined
        this.size--
        if (--reply.open === 0) replies.splice(middle, 1)
        return delivery
      }
    }
    return undefined
  }
  /** Removes every unsettled delivery and gives them, oldest first. */
  takeAll(): Array<Delivery> {
    const all: Array<Delivery> = []
    for (const reply of this.replies) {
      for (const delivery of reply.deliveries) if (delivery !== undefined) all.push(delivery)
    }
    this.replies.length = 0
    this.size = 0
    return all
  }
}

export const make = (options: {
  readonly objects: Objects
  /** The services the serving fibers run with (the clock, the logger...). */
  readonly context: Context.Context<never>
  readonly write: (message: Protocol.Envelope) => void
  readonly ackFileLimit?: number | undefined
}): Serving => {
  const { objects, write } = options
  const fork = Effect.runForkWith(options.context)
  const running = new Map<number, Fiber.Fiber<void>>()
  const cancelled = new Set<number>()
  const unsettled = new Unsettled()
  let acks: AckFile.Reader | undefined
  let nextDelivery = 0
  let closed = false
  let poller: Fiber.Fiber<void> | undefined
  /** Completed once `close` has stopped every call. */
  let closing: Deferred.Deferred<void> | undefined

  const settleFromFile = () => {
    // An entry not read yet names a delivery still unsettled: with none, nothing to read.
    if (acks === undefined || unsettled.size === 0) return
    for (const id of acks.drain()) unsettled.take(id)?.ack()
    offerFile()
  }
  /** Tells the peer where to write its acknowledgements: the first file, or a new one once the current one is large. */
  const offerFile = () => {
    if (closed) return
    acks ??= AckFile.makeReader(options.ackFileLimit)
    const path = acks.nextFile()
    if (path !== undefined) write({ _tag: "AckFile", path })
  }
  const pollSoon = () => {
    if (poller !== undefined || closed) return
    poller = fork(Effect.sleep(ackPollInterval).pipe(
      Effect.andThen(Effect.sync(() => {
        poller = undefined
        settleFromFile()
        if (unsettled.size > 0) pollSoon()
      }))
    ))
  }

  const reply = (id: number, status: Protocol.ReplyStatus, value: unknown, deliveries: ReadonlyArray<number> = []) =>
    write({ _tag: "Reply", id, status, value, deliveries })

  const serve = (call: Protocol.Call, server: Server): Effect.Effect<void> => {
    const delivered: Array<Delivery> = []
    return server.serve(call.op, call.input, (delivery) => delivered.push(delivery)).pipe(
      // Runs whatever ended the serving, interruption included: every delivery is either
      // announced in the reply or given back here.
      Effect.onExit((exit) =>
        Effect.sync(() => {
          running.delete(call.id)
          if (Exit.isSuccess(exit) && !closed) {
            if (delivered.length > 0 && acks === undefined) offerFile()
            const ids = delivered.map(() => ++nextDelivery)
            if (ids.length > 0) unsettled.add(ids[0]!, delivered)
            if (ids.length > 0) pollSoon()
            return reply(call.id, "ok", exit.value, ids)
          }
          for (const delivery of delivered) delivery.back()
          // Interrupted by a Cancel: the caller is not waiting for an answer.
          if (closed || Exit.isSuccess(exit) || cancelled.delete(call.id)) return
          const failure = exit.cause.reasons.find(Cause.isFailReason)
          if (failure !== undefined) return reply(call.id, "error", failure.error)
          const defect = exit.cause.reasons.find(Cause.isDieReason)
          if (defect !== undefined && defect.defect instanceof CallNotServed) {
            return reply(call.id, defect.defect.status, defect.defect.message)
          }
          if (defect !== undefined) return reply(call.id, "refused", `the call failed: ${errorMessage(defect.defect)}`)
          // Interrupted otherwise (this process is ending): the caller hears the object is gone.
          reply(call.id, "gone", null)
        })
      ),
      Effect.ignore
    )
  }

  return {
    onCall: (call) => {
      if (closed) return
      const server = objects.lookup(call.ref)
      if (server === undefined) return reply(call.id, "gone", null)
      settleFromFile()
      // The fiber registers itself, and its exit removes it (see `serve`): it may end
      // before `fork` returns.
      fork(Effect.withFiber((fiber) => {
        running.set(call.id, fiber as Fiber.Fiber<void>)
        return serve(call, server)
      }))
    },
    onCancel: (id) => {
      const fiber = running.get(id)
      if (fiber === undefined) return
      running.delete(id)
      cancelled.add(id)
      fiber.interruptUnsafe()
    },
    onSettle: (settle) => {
      for (const id of settle.ack) unsettled.take(id)?.ack()
      for (const id of settle.back) unsettled.take(id)?.back()
    },
    serving: () => running.size,
    close: Effect.suspend(() => {
      if (closing !== undefined) return Deferred.await(closing)
      closing = Deferred.makeUnsafe<void>()
      // What the peer acknowledged in its file is its own; only the rest goes back.
      settleFromFile()
      closed = true
      acks?.close()
      for (const delivery of unsettled.takeAll()) delivery.back()
      const fibers = [...running.values(), ...(poller === undefined ? [] : [poller])]
      running.clear()
      // Every caller of `close` waits until the interrupted calls have given back what they held.
      return Effect.ensuring(Fiber.interruptAll(fibers), Deferred.done(closing, Exit.void))
    })
  }
}
