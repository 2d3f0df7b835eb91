/**
 * A queue handle, whether the real queue (its owner) or a proxy to it, and how its items
 * cross processes: as the JSON their Schema makes, checked on both sides.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as ProcessQueue from "../ProcessQueue.ts"
import {
  ItemDecodeError,
  ItemEncodeError,
  ItemTooLargeError,
  type QueueClosedError,
  type QueueEmptyError,
  type QueueFullError,
  type TaskDoneError
} from "../ProcessQueueError.ts"
import type * as Connection from "./connection.ts"
import * as NotJson from "./notJson.ts"
import * as PayloadSize from "./payloadSize.ts"
import * as PlainJson from "./plainJson.ts"
import type * as Store from "./queueStore.ts"

export const TypeId: ProcessQueue.TypeId = "~effect-multiprocessing/ProcessQueue"

export type PutError = QueueFullError | QueueClosedError | ItemEncodeError | ItemDecodeError | ItemTooLargeError
export type TakeError = Cause.Done | QueueEmptyError | QueueClosedError | ItemDecodeError

/** What a queue does, whether it is the real one (its owner) or a proxy to it. */
export interface Backend<A> {
  readonly put: (item: A, wait: Store.Wait) => Effect.Effect<void, PutError>
  readonly take: (wait: Store.Wait) => Effect.Effect<A, TakeError>
  /** Takes an item held until the current scope ends (see `holdInScope`). */
  readonly takeHeld: (wait: Store.Wait) => Effect.Effect<A, TakeError, Scope.Scope>
  readonly size: Effect.Effect<number, QueueClosedError>
  readonly isFull: Effect.Effect<boolean, QueueClosedError>
  readonly end: Effect.Effect<void, QueueClosedError>
  readonly shutdown: Effect.Effect<void>
  readonly taskDone: (count: number) => Effect.Effect<void, TaskDoneError | QueueClosedError>
  readonly join: Effect.Effect<void, QueueClosedError>
  /** Waits until this process's write-behind puts reached the owner; fails with a refusal. */
  readonly flush: Effect.Effect<void, PutError>
  /** Serves the same queue to a child: the owner serves from its store, a proxy relays up. */
  readonly server: Connection.Server
}

export class QueueImpl<A> implements ProcessQueue.ProcessQueue<A> {
  readonly [TypeId]: ProcessQueue.Variance<A> = variance
  readonly backend: Backend<A>
  readonly joinable: boolean
  readonly bounded: boolean
  readonly owned: boolean
  /** The largest item a put may encode (a proxy learns it from the owner with the reference). */
  readonly maxMessageBytes: number
  constructor(
    backend: Backend<A>,
    options: { joinable: boolean; bounded: boolean; owned: boolean; maxMessageBytes: number }
  ) {
    this.backend = backend
    this.joinable = options.joinable
    this.bounded = options.bounded
    this.owned = options.owned
    this.maxMessageBytes = options.maxMessageBytes
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return `<${this.joinable ? "JoinableQueue" : "ProcessQueue"} ${this.owned ? "owned" : "proxy"}>`
  }
  [NodeInspectSymbol](): string {
    return this.toString()
  }
}

const variance: ProcessQueue.Variance<any> = { _A: (_) => _ }

export const isProcessQueue = (u: unknown): u is ProcessQueue.ProcessQueue<unknown> => Predicate.hasProperty(u, TypeId)
export const isJoinable = (u: unknown): boolean => isProcessQueue(u) && (u as QueueImpl<unknown>).joinable

export const backendOf = <A>(self: ProcessQueue.ProcessQueue<A>): Backend<A> => (self as QueueImpl<A>).backend

// ---------------------------------------------------------------------------
// items and errors on the wire

export interface ItemCodec<A> {
  readonly encode: (item: A) => Effect.Effect<Schema.Json, ItemEncodeError | ItemTooLargeError>
  /** The item's JSON, or why it has none, with no Effect around it: for a producer's tight loop of puts. */
  readonly encodeNow: (item: A) => Schema.Json | ItemEncodeError | ItemTooLargeError
  readonly decode: (json: unknown) => Effect.Effect<A, ItemDecodeError>
  /** Whether every item of a batch fits, in one pass and without an Effect per item. */
  readonly validAll: (items: ReadonlyArray<unknown>) => boolean
}

export const itemCodec = <A>(item: Schema.Codec<A, any, never, never>, maxMessageBytes: number): ItemCodec<A> => {
  const json = Schema.toCodecJson(item)
  const encode = Schema.encodeUnknownExit(json)
  const decode = Schema.decodeUnknownExit(json)
  const decodeAll = Schema.decodeUnknownExit(Schema.Array(json))
  // Items that are their own JSON (numbers, plain records...) need no codec at all.
  const plain = PlainJson.check(item.ast)
  const sized = (json: Schema.Json): Schema.Json | ItemTooLargeError => {
    const size = PayloadSize.over(json, maxMessageBytes)
    return size === undefined ? json : new ItemTooLargeError({ size, limit: maxMessageBytes })
  }
  const encodeNow = (value: A): Schema.Json | ItemEncodeError | ItemTooLargeError => {
    if (plain?.(value) === true) return sized(value as Schema.Json)
    const exit = encode(value)
    return Exit.isSuccess(exit) ? sized(exit.value as Schema.Json) : new ItemEncodeError({ message: Cause.pretty(NotJson.explainCause(exit.cause, value)) })
  }
  return {
    validAll: (items) => (plain !== undefined && items.every(plain)) || Exit.isSuccess(decodeAll(items)),
    encodeNow,
    encode: (value) => {
      const json = encodeNow(value)
      return json instanceof ItemEncodeError || json instanceof ItemTooLargeError ? Effect.fail(json) : Effect.succeed(json)
    },
    decode: (value) => {
      if (plain?.(value) === true) return Effect.succeed(value as A)
      const exit = decode(value)
      return Exit.isSuccess(exit)
        ? Effect.succeed(exit.value)
        : Effect.fail(new ItemDecodeError({ message: Cause.pretty(exit.cause) }))
    }
  }
}

export const noWait: Store.Wait = { _tag: "NoWait" }

/**
 * Takes an item that is held until the current scope ends: `take` hands the item's
 * delivery to its callback in the step that takes it; the delivery is acknowledged (the
 * task done) when the scope ends well, and given back when it ends otherwise, or when the
 * take itself fails after the item was handed over (interrupted as the answer came). An
 * item that does not fit this taker's Schema fails the take, and counts as done: no taker
 * with this Schema could ever finish it, and `join` must not wait for it forever.
 * `beforeDone` runs first at a good end: a proxy pushes out the puts made while the item was
 * held, so that the task's end does not overtake them.
 */
export const holdInScope = <A, E>(
  take: (onDelivered: (delivery: Connection.Delivery) => void) => Effect.Effect<unknown, E>,
  codec: ItemCodec<A>,
  beforeDone: () => void = () => {}
): Effect.Effect<A, E | ItemDecodeError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) => {
    let held: Connection.Delivery | undefined
    return restore(take((delivery) => {
      held = delivery
    })).pipe(
      Effect.onExit((exit) => Effect.sync(() => Exit.isFailure(exit) && held?.back())),
      Effect.flatMap((json) => {
        const delivery = held
        if (delivery === undefined) return Effect.die(new Error("a held take succeeded without handing over its item"))
        return codec.decode(json).pipe(
          Effect.tapError(() => Effect.sync(() => delivery.ack())),
          Effect.tap(() =>
            Effect.addFinalizer((exit) =>
              Effect.sync(() => {
                if (Exit.isFailure(exit)) return delivery.back()
                beforeDone()
                delivery.ack()
              })
            )
          )
        )
      })
    )
  })
