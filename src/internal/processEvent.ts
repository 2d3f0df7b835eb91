import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Option from "effect/Option"
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
  /** What `String(event)` says of the flag: the owner knows it, a proxy says what it last saw. */
  readonly describe: () => string
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
    return `<ProcessEvent ${this.relay === undefined ? "owned" : "proxy"} ${this.backend.describe()}>`
  }
  [NodeInspectSymbol](): string {
    return this.toString()
  }
}

export const isProcessEvent = (u: unknown): u is ProcessEvent.ProcessEvent => Predicate.hasProperty(u, TypeId)

const backendOf = (self: ProcessEvent.ProcessEvent): Backend => (self as EventImpl).backend

// ---------------------------------------------------------------------------
// the owner

/**
 * The owner's flag. While it is unset, each waiter has a `Deferred` that `set` completes:
 * a waiter woken by a `set` returns `true` even if a `clear` came before it ran, as
 * `threading.Event.wait` does (reading the flag after waking would lose that wake-up).
 */
export type State =
  | { readonly _tag: "Unset"; readonly waiters: Set<Deferred.Deferred<void, EventClosedError>> }
  | { readonly _tag: "Set" }
  | { readonly _tag: "Closed" }

export const make: Effect.Effect<ProcessEvent.ProcessEvent, never, Scope.Scope> = Effect.gen(function*() {
  let state: State = { _tag: "Unset", waiters: new Set() }
  const closedError = new EventClosedError({ message: "the event was closed: the scope that owns it has ended" })
  const guard = <A>(f: () => A): Effect.Effect<A, EventClosedError> =>
    Effect.suspend(() => state._tag === "Closed" ? Effect.fail(closedError) : Effect.succeed(f()))
  /** Completes every waiter and leaves the flag `next`. */
  const settle = (next: State, exit: Exit.Exit<void, EventClosedError>) => {
    const waiters = state._tag === "Unset" ? state.waiters : undefined
    state = next
    if (waiters !== undefined) for (const waiter of waiters) Deferred.doneUnsafe(waiter, exit)
  }
  const waitUnset = (waiters: Set<Deferred.Deferred<void, EventClosedError>>, timeout: number | undefined) => {
    const woken = Deferred.makeUnsafe<void, EventClosedError>()
    waiters.add(woken)
    const awaited = Deferred.await(woken)
    return (timeout === undefined
      ? Effect.as(awaited, true)
      // Timed out: `false`, unless a `set` completed the waiter at that very moment.
      : Effect.map(Effect.timeoutOption(awaited, timeout), (woke) => Option.isSome(woke) || Deferred.isDoneUnsafe(woken)))
      .pipe(Effect.ensuring(Effect.sync(() => waiters.delete(woken))))
  }
  const backend: Backend = {
    set: guard(() => {
      if (state._tag === "Unset") settle({ _tag: "Set" }, Exit.void)
    }),
    clear: guard(() => {
      if (state._tag === "Set") state = { _tag: "Unset", waiters: new Set() }
    }),
    isSet: guard(() => state._tag === "Set"),
    wait: (timeout) =>
      Effect.suspend(() => {
        switch (state._tag) {
          case "Closed":
            return Effect.fail(closedError)
          case "Set":
            return Effect.succeed(true)
          case "Unset":
            return waitUnset(state.waiters, timeout)
        }
      }),
    describe: () => state._tag === "Set" ? "set" : state._tag === "Unset" ? "unset" : "closed"
  }
  const event = new EventImpl(backend, undefined)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      settle({ _tag: "Closed" }, Exit.fail(closedError))
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
  /** The flag as this proxy last saw it (its own set/clear, an isSet, a wait that returned). */
  let seen: boolean | undefined
  const saw = (flag: boolean) => Effect.sync(() => seen = flag)
  return new EventImpl({
    set: Effect.tap(Effect.asVoid(remote.call("set", null)), () => saw(true)),
    clear: Effect.tap(Effect.asVoid(remote.call("clear", null)), () => saw(false)),
    isSet: Effect.tap(remote.call("isSet", null), saw),
    wait: (timeout) => Effect.tap(remote.call("wait", { timeout: timeout ?? null }), saw),
    describe: () => seen === undefined ? "not read yet" : `${seen ? "set" : "unset"} when last seen`
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
