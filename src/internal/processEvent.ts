import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Latch from "effect/Latch"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as ProcessEvent from "../ProcessEvent.ts"
import { EventClosedError } from "../ProcessEventError.ts"
import type * as Connection from "./connection.ts"
import * as Current from "./current.ts"
import * as RemoteObject from "./remoteObject.ts"

export const TypeId: ProcessEvent.TypeId = "~effect-multiprocessing/ProcessEvent"

/** What an event does, whether it is the real one (its owner) or a proxy to it. */
interface Backend {
  readonly set: Effect.Effect<void, EventClosedError>
  readonly clear: Effect.Effect<void, EventClosedError>
  readonly isSet: Effect.Effect<boolean, EventClosedError>
  readonly wait: (timeout: number | undefined) => Effect.Effect<boolean, EventClosedError>
}

class EventImpl implements ProcessEvent.ProcessEvent {
  readonly [TypeId]: ProcessEvent.TypeId = TypeId
  readonly backend: Backend
  /** A proxy's: serves a grandchild by relaying to the owner. `undefined` for the owner. */
  readonly relay: Connection.Server | undefined
  constructor(backend: Backend, relay: Connection.Server | undefined) {
    this.backend = backend
    this.relay = relay
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return `<ProcessEvent ${this.relay === undefined ? "owned" : "proxy"}>`
  }
  [NodeInspectSymbol](): string {
    return this.toString()
  }
}

export const isProcessEvent = (u: unknown): u is ProcessEvent.ProcessEvent => Predicate.hasProperty(u, TypeId)

const backendOf = (self: ProcessEvent.ProcessEvent): Backend => (self as EventImpl).backend

// ---------------------------------------------------------------------------
// the owner

export const make: Effect.Effect<ProcessEvent.ProcessEvent, never, Scope.Scope> = Effect.gen(function*() {
  const latch = Latch.makeUnsafe(false)
  const closed = Deferred.makeUnsafe<void>()
  const closedError = new EventClosedError({ message: "the event was closed: the scope that owns it has ended" })
  const guard = <A>(effect: Effect.Effect<A>): Effect.Effect<A, EventClosedError> =>
    Effect.suspend(() => Deferred.isDoneUnsafe(closed) ? Effect.fail(closedError) : effect)
  const backend: Backend = {
    set: guard(Effect.asVoid(latch.open)),
    clear: guard(Effect.asVoid(latch.close)),
    isSet: guard(Effect.sync(() => latch.isOpen())),
    wait: (timeout) =>
      Effect.suspend(() =>
        Deferred.isDoneUnsafe(closed) ? Effect.fail(closedError) : Effect.raceFirst(
          timeout === undefined
            ? Effect.as(latch.await, true)
            : Effect.map(Effect.timeoutOption(latch.await, timeout), () => latch.isOpen()),
          Effect.andThen(Deferred.await(closed), Effect.fail(closedError))
        )
      )
  }
  const event = new EventImpl(backend, undefined)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      Deferred.doneUnsafe(closed, Exit.void)
      Current.state.objects.unregister(event)
    })
  )
  return event
})

// ---------------------------------------------------------------------------
// across processes

/** An event's operations, as they cross processes. */
const operations = {
  set: { input: Schema.Null, success: Schema.Null, error: EventClosedError },
  clear: { input: Schema.Null, success: Schema.Null, error: EventClosedError },
  isSet: { input: Schema.Null, success: Schema.Boolean, error: EventClosedError },
  wait: { input: Schema.Struct({ timeout: Schema.NullOr(Schema.Number) }), success: Schema.Boolean, error: EventClosedError }
} satisfies RemoteObject.Table

/** The owner serves its backend; a proxy relays to its own parent. */
const serverOf = (event: EventImpl): Connection.Server =>
  event.relay ?? RemoteObject.serve(operations, {
    set: () => Effect.as(event.backend.set, null),
    clear: () => Effect.as(event.backend.clear, null),
    isSet: () => event.backend.isSet,
    wait: ({ timeout }) => event.backend.wait(timeout ?? undefined)
  })

const gone = () => new EventClosedError({ message: "the event is gone: its owner process or scope has ended" })

const proxy = (ref: string): EventImpl => {
  const remote = RemoteObject.client(operations, ref, gone)
  return new EventImpl({
    set: Effect.asVoid(remote.call("set", null)),
    clear: Effect.asVoid(remote.call("clear", null)),
    isSet: remote.call("isSet", null),
    wait: (timeout) => remote.call("wait", { timeout: timeout ?? null })
  }, remote.relay)
}

export const schema = RemoteObject.referenceSchema({
  tag: "ProcessEvent",
  is: (u): u is EventImpl => isProcessEvent(u),
  serverOf,
  proxy
})

// ---------------------------------------------------------------------------
// operations

export const set = (self: ProcessEvent.ProcessEvent) => backendOf(self).set
export const clear = (self: ProcessEvent.ProcessEvent) => backendOf(self).clear
export const isSet = (self: ProcessEvent.ProcessEvent) => backendOf(self).isSet

export const wait: {
  (options: { readonly timeout: Duration.Input }): (self: ProcessEvent.ProcessEvent) => Effect.Effect<boolean, EventClosedError>
  (self: ProcessEvent.ProcessEvent, options?: { readonly timeout?: Duration.Input | undefined }): Effect.Effect<boolean, EventClosedError>
} = dual(
  (args) => isProcessEvent(args[0]),
  (self: ProcessEvent.ProcessEvent, options?: { readonly timeout?: Duration.Input | undefined }) =>
    backendOf(self).wait(options?.timeout === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(options.timeout)))
)
