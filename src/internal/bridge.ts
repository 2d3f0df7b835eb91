/**
 * The bridge that lets a child use an object that lives in its parent (an event, a
 * queue): the object is passed as a reference, and the child's proxy sends `Call`s up the
 * channel; the parent serves them against the real object and `Reply`s.
 *
 * - Cancellation: a caller that is interrupted sends `Cancel`, and the parent interrupts
 *   the fiber serving it, so no wait is left behind in the parent.
 * - Deliveries: a reply that hands over a value the owner must not lose (a queue item)
 *   stays the parent's until the child `Settle`s it: `ack` once the caller has it, `back`
 *   if the caller gave up first. If the child dies, whatever it had not acknowledged goes
 *   back too.
 * - Relays: a child that passes a proxy on to its own child serves the grandchild's calls
 *   by calling up through its own proxy, passing acknowledgements up as they come.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import type * as Scope from "effect/Scope"
import type * as Protocol from "./protocol.ts"

/** A value the owner must get back unless the receiver acknowledges it. */
export interface Delivery {
  readonly ack: () => void
  readonly back: () => void
}

/** What serving an op gives: its JSON result, and a delivery if the result must be settled. */
export interface Served {
  readonly value: Schema.Json
  readonly delivery?: Delivery | undefined
}

/** An object that other processes reach by reference. Errors are already JSON (encoded by the object's module). */
export interface Server {
  readonly serve: (op: string, input: Schema.Json) => Effect.Effect<Served, Schema.Json>
}

// ---------------------------------------------------------------------------
// the objects this process serves

const servers = new Map<string, Server>()
const objects = new Map<string, object>()
const refs = new WeakMap<object, string>()
let counter = 0

/** The reference of `object`, registering `server` for it the first time. */
export const register = (object: object, server: Server): string => {
  let ref = refs.get(object)
  if (ref === undefined) {
    ref = `${process.pid}.${++counter}`
    refs.set(object, ref)
    servers.set(ref, server)
    objects.set(ref, object)
  }
  return ref
}

/** The object is gone: calls that reach it from now on are told so. */
export const unregister = (object: object): void => {
  const ref = refs.get(object)
  if (ref !== undefined) {
    servers.delete(ref)
    objects.delete(ref)
  }
}

/** The object behind a reference this process handed out, if it is still served. */
export const lookup = <A extends object>(ref: string): A | undefined => objects.get(ref) as A | undefined

// ---------------------------------------------------------------------------
// parent side: serving one child

export interface Link {
  readonly onCall: (call: Protocol.Call) => Effect.Effect<void>
  readonly onCancel: (id: number) => void
  readonly onSettle: (settle: Protocol.Settle) => void
  /** The child is gone: stop its calls, take back what it had not acknowledged. */
  readonly close: () => void
}

let inService = 0

/** How many calls from children are being served right now, in all links (for tests and diagnostics). */
export const serving = (): number => inService

export const serveChild = (send: (reply: Protocol.Reply) => void, scope: Scope.Scope): Link => {
  const running = new Map<number, Fiber.Fiber<void>>()
  const unsettled = new Map<number, Delivery>()
  let closed = false

  const run = (call: Protocol.Call): Effect.Effect<void> => {
    const server = servers.get(call.ref)
    if (server === undefined) {
      return Effect.sync(() => send({ _tag: "Reply", id: call.id, ok: false, value: null, delivery: false }))
    }
    inService++
    return server.serve(call.op, call.input).pipe(
      Effect.ensuring(Effect.sync(() => inService--)),
      Effect.exit,
      Effect.flatMap((exit) =>
        Effect.sync(() => {
          running.delete(call.id)
          if (Exit.isSuccess(exit)) {
            const { delivery, value } = exit.value
            if (delivery !== undefined) {
              // Too late: the child is gone, so the value goes straight back.
              if (closed) return delivery.back()
              unsettled.set(call.id, delivery)
            }
            send({ _tag: "Reply", id: call.id, ok: true, value, delivery: delivery !== undefined })
          } else if (!closed) {
            const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
            // Interrupted by a Cancel: the caller is not waiting for an answer.
            if (error !== undefined) send({ _tag: "Reply", id: call.id, ok: false, value: error.error, delivery: false })
          }
        })
      )
    )
  }

  return {
    onCall: (call) =>
      closed
        ? Effect.void
        : Effect.forkIn(run(call), scope, { startImmediately: true }).pipe(
          Effect.flatMap((fiber) =>
            Effect.sync(() => {
              if (fiber.pollUnsafe() === undefined) running.set(call.id, fiber)
            })
          )
        ),
    onCancel: (id) => {
      const fiber = running.get(id)
      if (fiber !== undefined) {
        running.delete(id)
        fiber.interruptUnsafe()
      }
    },
    onSettle: (settle) => {
      for (const id of settle.ack) {
        unsettled.get(id)?.ack()
        unsettled.delete(id)
      }
      for (const id of settle.back) {
        unsettled.get(id)?.back()
        unsettled.delete(id)
      }
    },
    close: () => {
      if (closed) return
      closed = true
      for (const fiber of running.values()) fiber.interruptUnsafe()
      running.clear()
      for (const delivery of unsettled.values()) delivery.back()
      unsettled.clear()
    }
  }
}

// ---------------------------------------------------------------------------
// child side: calling up to the parent

/** What a proxy gets back: the reply, and, for a relay, the delivery still to settle. */
export interface Answer {
  readonly ok: boolean
  /** `null` with `ok: false`: the object (or the parent) is gone. */
  readonly value: Schema.Json
  readonly delivery?: Delivery | undefined
}

interface Uplink {
  readonly send: (message: Protocol.ChildMessage) => void
  readonly pending: Map<number, Deferred.Deferred<Protocol.Reply>>
  nextId: number
  closed: boolean
  acks: Array<number>
  backs: Array<number>
  settleScheduled: boolean
}

let uplink: Uplink | undefined

const gone: Answer = { ok: false, value: null }
const goneReply: Protocol.Reply = { _tag: "Reply", id: 0, ok: false, value: null, delivery: false }

/** Called by the child bootstrap once it knows its parent. */
export const connectUp = (send: (message: Protocol.ChildMessage) => void): void => {
  uplink = { send, pending: new Map(), nextId: 0, closed: false, acks: [], backs: [], settleScheduled: false }
}

export const hasUplink = (): boolean => uplink !== undefined

/** Replies are routed here by the child bootstrap. */
export const onReply = (reply: Protocol.Reply): void => {
  if (uplink === undefined) return
  const deferred = uplink.pending.get(reply.id)
  if (deferred === undefined) {
    // Its caller gave up before the answer came: a delivered value goes back.
    if (reply.delivery) settle(uplink, reply.id, false)
    return
  }
  uplink.pending.delete(reply.id)
  Deferred.doneUnsafe(deferred, Exit.succeed(reply))
}

/** The parent is gone: every call in flight, and every later one, is answered "gone". */
export const disconnectUp = (): void => {
  if (uplink === undefined || uplink.closed) return
  uplink.closed = true
  for (const deferred of uplink.pending.values()) Deferred.doneUnsafe(deferred, Exit.succeed(goneReply))
  uplink.pending.clear()
}

const settle = (link: Uplink, id: number, ack: boolean) => {
  ;(ack ? link.acks : link.backs).push(id)
  if (link.settleScheduled) return
  link.settleScheduled = true
  queueMicrotask(() => {
    link.settleScheduled = false
    if (link.closed) return
    link.send({ _tag: "Settle", ack: link.acks, back: link.backs })
    link.acks = []
    link.backs = []
  })
}

/**
 * Calls `op` on `ref` in the parent. With `relay`, a delivery is not settled here but
 * returned, for the caller to settle when its own caller does; otherwise it is
 * acknowledged as soon as this fiber has the value.
 */
export const call = (ref: string, op: string, input: Schema.Json, relay = false): Effect.Effect<Answer> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const link = uplink
      if (link === undefined || link.closed) return Effect.succeed<Answer>(gone)
      const id = ++link.nextId
      const deferred = Deferred.makeUnsafe<Protocol.Reply>()
      link.pending.set(id, deferred)
      link.send({ _tag: "Call", id, ref, op, input })
      return restore(Deferred.await(deferred)).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            link.pending.delete(id)
            const answered = deferred.effect
            if (answered === undefined) link.send({ _tag: "Cancel", id })
            else {
              // The answer crossed our interruption: hand a delivered value back.
              const exit = answered as Exit.Exit<Protocol.Reply>
              if (Exit.isSuccess(exit) && exit.value.delivery) settle(link, id, false)
            }
          })
        ),
        Effect.map((reply): Answer => {
          if (!reply.delivery) return { ok: reply.ok, value: reply.value }
          if (!relay) {
            settle(link, id, true)
            return { ok: reply.ok, value: reply.value }
          }
          return {
            ok: reply.ok,
            value: reply.value,
            delivery: { ack: () => settle(link, id, true), back: () => settle(link, id, false) }
          }
        })
      )
    })
  )

// ---------------------------------------------------------------------------
// handles as Schemas

/**
 * The Schema of a handle that crosses processes as `{ _tag, ref }`: encoding registers the
 * handle here (so the receiver can call back), decoding gives the local object when the
 * reference is ours, a proxy otherwise.
 */
export const referenceSchema = <H extends object, Tag extends string>(options: {
  readonly tag: Tag
  readonly is: (u: unknown) => u is H
  readonly toRef: (handle: H) => string
  readonly fromRef: (ref: string) => H
}): Schema.Codec<H, { readonly _tag: Tag; readonly ref: string }> =>
  Schema.Struct({ _tag: Schema.Literal(options.tag), ref: Schema.String }).pipe(
    Schema.decodeTo(
      Schema.declare(options.is),
      SchemaTransformation.transform({
        decode: ({ ref }) => options.fromRef(ref),
        encode: (handle) => ({ _tag: options.tag, ref: options.toRef(handle) })
      })
    )
  )
