import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as ProcessEvent from "../ProcessEvent.ts"
import { EventClosedError } from "../ProcessEventError.ts"
import * as Bridge from "./bridge.ts"

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
  readonly owned: boolean
  constructor(backend: Backend, owned: boolean) {
    this.backend = backend
    this.owned = owned
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return `<ProcessEvent ${this.owned ? "owned" : "proxy"}>`
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
  const event = new EventImpl(backend, true)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      Deferred.doneUnsafe(closed, Exit.void)
      Bridge.unregister(event)
    })
  )
  return event
})

// ---------------------------------------------------------------------------
// serving children, and proxies to a parent's event

const encodeError = Schema.encodeSync(Schema.toCodecJson(EventClosedError))
const decodeError = Schema.decodeUnknownOption(Schema.toCodecJson(EventClosedError))
const WaitInput = Schema.decodeUnknownOption(Schema.Struct({ timeout: Schema.NullOr(Schema.Number) }))

const serverOf = (backend: Backend): Bridge.Server => ({
  serve: (op, input) => {
    const served = ((): Effect.Effect<Schema.Json, EventClosedError> => {
      switch (op) {
        case "set":
          return Effect.as(backend.set, null)
        case "clear":
          return Effect.as(backend.clear, null)
        case "isSet":
          return backend.isSet
        case "wait": {
          const timeout = Option.getOrUndefined(WaitInput(input))?.timeout
          return backend.wait(timeout ?? undefined)
        }
        default:
          return Effect.fail(new EventClosedError({ message: `no operation '${op}' on an event` }))
      }
    })()
    return Effect.mapError(served, encodeError)
  }
})

const proxy = (ref: string): EventImpl => {
  const call = (op: string, input: Schema.Json = null) =>
    Effect.flatMap(Bridge.call(ref, op, input), (answer) => {
      if (answer.ok) return Effect.succeed(answer.value)
      const error = Option.getOrElse(
        decodeError(answer.value),
        () => new EventClosedError({ message: "the event is gone: its owner process or scope has ended" })
      )
      return Effect.fail(error)
    })
  return new EventImpl({
    set: Effect.asVoid(call("set")),
    clear: Effect.asVoid(call("clear")),
    isSet: Effect.map(call("isSet"), (value) => value === true),
    wait: (timeout) => Effect.map(call("wait", { timeout: timeout ?? null }), (value) => value === true)
  }, false)
}

export const schema = Bridge.referenceSchema({
  tag: "ProcessEvent",
  is: isProcessEvent,
  toRef: (event) => Bridge.register(event, serverOf(backendOf(event))),
  fromRef: (ref) => Bridge.lookup<ProcessEvent.ProcessEvent>(ref) ?? proxy(ref)
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
