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
import * as Scope from "effect/Scope"
import * as AckFile from "./ackFile.ts"
import type * as Channel from "./channel.ts"
import type * as Protocol from "./protocol.ts"

/** A value the owner must get back unless the receiver acknowledges it. */
export interface Delivery {
  readonly ack: () => void
  readonly back: () => void
}

/**
 * An object that other processes reach by reference. `serve` gives the op's JSON result
 * (errors are already JSON, encoded by the object's module), and hands every value it
 * delivers (a queue item) to `deliver` at the very moment it takes it, so that no
 * interruption can come between taking a value and the bridge knowing of it.
 */
export interface Server {
  readonly serve: (
    op: string,
    /** Parsed JSON from the caller: the op checks its shape. */
    input: unknown,
    deliver: (delivery: Delivery) => void
  ) => Effect.Effect<Schema.Json, Schema.Json>
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
  readonly close: Effect.Effect<void>
}

let inService = 0

/** How often a parent reads a child's acknowledgements file while deliveries are out. */
const ackPollMs = 20

/** How many calls from children are being served right now, in all links (for tests and diagnostics). */
export const serving = (): number => inService

/**
 * Serves a child's calls. `acks`: the file the child writes its acknowledgements to (see
 * ackFile.ts), read before each of its calls, every `ackPollMs` while deliveries are out,
 * and before taking back what is left when the child is gone.
 */
export const serveChild = (send: (message: Protocol.ParentMessage) => void, acks?: AckFile.Reader): Link => {
  // The calls of a child are served in a scope of their own, that lives as long as its
  // channel: not in the scope the child was spawned in, which is already closing while
  // it waits for the child to end, and would cut short the calls the child still makes.
  const scope = Scope.makeUnsafe()
  const running = new Map<number, Fiber.Fiber<unknown, unknown>>()
  const cancelled = new Set<number>()
  const unsettled = new Map<number, Delivery>()
  let nextDelivery = 0
  let closed = false
  let polling: ReturnType<typeof setTimeout> | undefined

  const readAcks = () => {
    // An entry not read yet names a delivery still unsettled: with none, nothing to read.
    if (acks === undefined || unsettled.size === 0) return
    for (const id of acks.drain()) {
      unsettled.get(id)?.ack()
      unsettled.delete(id)
    }
    const path = closed ? undefined : acks.nextFile()
    if (path !== undefined) send({ _tag: "AckFile", path })
  }
  const poll = () => {
    polling = undefined
    readAcks()
    if (unsettled.size > 0 && !closed) pollSoon()
  }
  const pollSoon = () => {
    if (acks !== undefined && polling === undefined) polling = setTimeout(poll, ackPollMs).unref()
  }

  const run = (call: Protocol.Call): Effect.Effect<void> => {
    const server = servers.get(call.ref)
    if (server === undefined) {
      return Effect.sync(() => send({ _tag: "Reply", id: call.id, ok: false, value: null, deliveries: [] }))
    }
    inService++
    const delivered: Array<Delivery> = []
    return server.serve(call.op, call.input, (delivery) => delivered.push(delivery)).pipe(
      // Runs whatever ended the serving, interruption included: every delivery is either
      // announced in the reply or given back here.
      Effect.onExit((exit) =>
        Effect.sync(() => {
          inService--
          running.delete(call.id)
          if (Exit.isSuccess(exit) && !closed) {
            const ids = delivered.map((delivery) => {
              const id = ++nextDelivery
              unsettled.set(id, delivery)
              return id
            })
            if (ids.length > 0) pollSoon()
            return send({ _tag: "Reply", id: call.id, ok: true, value: exit.value, deliveries: ids })
          }
          for (const delivery of delivered) delivery.back()
          // Interrupted by a Cancel: the caller is not waiting for an answer.
          if (closed || Exit.isSuccess(exit) || cancelled.delete(call.id)) return
          const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
          // Interrupted otherwise (this process is ending): the caller hears the object is gone.
          send({ _tag: "Reply", id: call.id, ok: false, value: error === undefined ? null : error.error, deliveries: [] })
        })
      ),
      Effect.ignore
    )
  }

  return {
    onCall: (call) =>
      closed
        ? Effect.void
        : Effect.forkIn(
          // The fiber registers itself, and its exit removes it (see `run`). Asking it after
          // the fork whether it is done could be wrong: its exit may be handled while it
          // yields before it is done, and a stale entry would stay.
          Effect.withFiber((fiber) => {
            running.set(call.id, fiber)
            return Effect.andThen(Effect.sync(readAcks), run(call))
          }),
          scope,
          { startImmediately: true }
        ).pipe(Effect.asVoid),
    onCancel: (id) => {
      const fiber = running.get(id)
      if (fiber !== undefined) {
        running.delete(id)
        cancelled.add(id)
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
    close: Effect.suspend(() => {
      if (closed) return Effect.void
      closed = true
      clearTimeout(polling)
      running.clear()
      // What the child acknowledged in its file is its own; only the rest goes back.
      readAcks()
      acks?.close()
      for (const delivery of unsettled.values()) delivery.back()
      unsettled.clear()
      return Scope.close(scope, Exit.void)
    })
  }
}

// ---------------------------------------------------------------------------
// child side: calling up to the parent

/** What a proxy gets back from a call. */
export interface Answer {
  readonly ok: boolean
  /** `null` with `ok: false`: the object (or the parent) is gone. Parsed JSON: the caller checks its shape. */
  readonly value: unknown
}

interface Uplink {
  readonly send: (message: Protocol.ChildMessage, binary?: Channel.Binary) => void
  /** Writes what is pending to the socket now (a pipe write that returned survives a SIGKILL). */
  readonly flushNow: () => void
  readonly awaitDrain: Effect.Effect<void>
  readonly pending: Map<number, (reply: Protocol.Reply) => void>
  /** Write-behind buffers (a proxy's batched puts) to push out before anything else is sent. */
  readonly flushers: Set<() => void>
  nextId: number
  closed: boolean
  acks: Array<number>
  backs: Array<number>
  settleScheduled: boolean
}

let uplink: Uplink | undefined

const gone: Answer = { ok: false, value: null }
const goneReply: Protocol.Reply = { _tag: "Reply", id: 0, ok: false, value: null, deliveries: [] }

/** Called by the child bootstrap once it knows its parent. */
export const connectUp = (
  send: (message: Protocol.ChildMessage, binary?: Channel.Binary) => void,
  flushNow: () => void,
  awaitDrain: Effect.Effect<void>
): void => {
  uplink = {
    send,
    flushNow,
    awaitDrain,
    pending: new Map(),
    flushers: new Set(),
    nextId: 0,
    closed: false,
    acks: [],
    backs: [],
    settleScheduled: false
  }
}

/**
 * Registers a write-behind buffer that holds something; `flushUp` empties them all (before a
 * result is reported, say). A buffer removes itself once empty, so that a proxy nobody uses
 * any more is not kept alive by it.
 */
export const addFlusher = (flush: () => void): void => {
  uplink?.flushers.add(flush)
}

export const removeFlusher = (flush: () => void): void => {
  uplink?.flushers.delete(flush)
}

export const flushUp = (): void => {
  if (uplink === undefined) return
  for (const flush of uplink.flushers) flush()
}

/** Waits while the channel to the parent is congested: write-behind senders respect its backpressure. */
export const awaitUplinkDrain: Effect.Effect<void> = Effect.suspend(() => uplink?.awaitDrain ?? Effect.void)

/**
 * Sends a call without waiting for its answer, which goes to `onAnswer` when it comes
 * ("gone" if the parent is). For write-behind operations; never for deliveries.
 */
export const post = (ref: string, op: string, input: Schema.Json, onAnswer: (answer: Answer) => void): void => {
  const link = uplink
  if (link === undefined || link.closed) return onAnswer(gone)
  const id = ++link.nextId
  link.pending.set(id, (reply) => onAnswer({ ok: reply.ok, value: reply.value }))
  link.send({ _tag: "Call", id, ref, op, input })
}

let pushHandler: ((payload: unknown, binary: Channel.Binary) => void) | undefined

/** Installs the handler of the parent's pushes (one per process: a pool worker's loop). */
export const onPushDown = (handler: ((payload: unknown, binary: Channel.Binary) => void) | undefined): void => {
  pushHandler = handler
}

/** Routed here by the child bootstrap, with the binary parts that came with the push. */
export const receivePush = (payload: unknown, binary: Channel.Binary): void => pushHandler?.(payload, binary)

/**
 * Sends a push to the parent (dropped if the parent is gone). It goes out with the rest of
 * this turn's messages, or, with `now`, at once: before synchronous work that would hold
 * the turn (and every write) back.
 */
export const pushUp = (payload: Schema.Json, binary: Channel.Binary, now = false): void => {
  if (uplink === undefined || uplink.closed) return
  uplink.send({ _tag: "Push", payload }, binary)
  if (now) uplink.flushNow()
}

/** Replies are routed here by the child bootstrap. */
export const onReply = (reply: Protocol.Reply): void => {
  if (uplink === undefined) return
  const resume = uplink.pending.get(reply.id)
  if (resume === undefined) {
    // Its caller gave up before the answer came: delivered values go back.
    for (const id of reply.deliveries) settle(uplink, id, false)
    return
  }
  uplink.pending.delete(reply.id)
  resume(reply)
}

/** The parent is gone: every call in flight, and every later one, is answered "gone". */
export const disconnectUp = (): void => {
  if (uplink === undefined || uplink.closed) return
  uplink.closed = true
  for (const resume of uplink.pending.values()) resume(goneReply)
  uplink.pending.clear()
}

/**
 * Settles a delivery. An `ack` is durable before the value reaches the caller's code: were
 * this process killed right after, the owner must not give a value its taker already had
 * to another. `toFile`: written to this process's acknowledgements file (ackFile.ts), which
 * the parent reads when it needs to; otherwise sent at once, flushed to the socket. A `back`
 * can wait for the end of the turn and go out with others.
 */
const settle = (link: Uplink, id: number, ack: boolean, toFile = false) => {
  if (ack && toFile && AckFile.write([id])) return
  ;(ack ? link.acks : link.backs).push(id)
  if (ack) return sendSettle(link, true)
  if (link.settleScheduled) return
  link.settleScheduled = true
  queueMicrotask(() => sendSettle(link, false))
}

const sendSettle = (link: Uplink, now: boolean) => {
  link.settleScheduled = false
  if (link.closed || (link.acks.length === 0 && link.backs.length === 0)) return
  link.send({ _tag: "Settle", ack: link.acks, back: link.backs })
  link.acks = []
  link.backs = []
  if (now) link.flushNow()
}

/**
 * Calls `op` on `ref` in the parent. Values delivered in the answer are acknowledged as
 * soon as this fiber has it, unless `accept` is given: it is then called, before `call`
 * returns and with no interruption possible in between, with the answer and a delivery
 * per delivered value, in order, for the caller to settle (a relay, when its own caller
 * does; a prefetching proxy, item by item as they are taken).
 *
 * `acksToFile`: acknowledgements go to this process's acknowledgements file rather than
 * over the channel (see ackFile.ts). For values whose owner needs no prompt word that they
 * were taken (items of an unbounded queue; a bounded queue's items hold their slot until then).
 */
export const call = (
  ref: string,
  op: string,
  input: Schema.Json,
  accept?: (answer: Answer, deliveries: ReadonlyArray<Delivery>) => void,
  options?: { readonly acksToFile?: boolean | undefined }
): Effect.Effect<Answer> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const link = uplink
      if (link === undefined || link.closed) return Effect.succeed<Answer>(gone)
      for (const flush of link.flushers) flush()
      const id = ++link.nextId
      const deferred = Deferred.makeUnsafe<Protocol.Reply>()
      link.pending.set(id, (reply) => Deferred.doneUnsafe(deferred, Exit.succeed(reply)))
      link.send({ _tag: "Call", id, ref, op, input })
      return restore(Deferred.await(deferred)).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            link.pending.delete(id)
            const answered = deferred.effect as Exit.Exit<Protocol.Reply> | undefined
            if (answered === undefined) link.send({ _tag: "Cancel", id })
            // The answer crossed our interruption: hand delivered values back.
            else if (Exit.isSuccess(answered)) for (const delivery of answered.value.deliveries) settle(link, delivery, false)
          })
        ),
        Effect.map((reply): Answer => {
          const answer: Answer = { ok: reply.ok, value: reply.value }
          const toFile = options?.acksToFile === true
          if (accept === undefined) {
            if (reply.deliveries.length > 0 && !(toFile && AckFile.write(reply.deliveries))) {
              for (const delivery of reply.deliveries) settle(link, delivery, true)
            }
          } else {
            accept(
              answer,
              reply.deliveries.map((delivery) => ({
                ack: () => settle(link, delivery, true, toFile),
                back: () => settle(link, delivery, false)
              }))
            )
          }
          return answer
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
  readonly fromRef: (ref: string, meta: Schema.Json | undefined) => H
  /** What a proxy needs to know besides the reference (a queue: whether it is bounded). */
  readonly meta?: ((handle: H) => Schema.Json) | undefined
}): Schema.Codec<H, Reference<Tag>> =>
  Schema.Struct({
    _tag: Schema.Literal(options.tag),
    ref: Schema.String,
    meta: Schema.optionalKey(Schema.Json)
  }).pipe(
    Schema.decodeTo(
      Schema.declare(options.is),
      SchemaTransformation.transform({
        decode: ({ meta, ref }) => options.fromRef(ref, meta),
        encode: (handle) => {
          const ref = options.toRef(handle)
          return options.meta === undefined
            ? { _tag: options.tag, ref }
            : { _tag: options.tag, ref, meta: options.meta(handle) }
        }
      })
    )
  )

/** How a handle crosses a process boundary. */
export interface Reference<Tag extends string> {
  readonly _tag: Tag
  readonly ref: string
  readonly meta?: Schema.Json
}
