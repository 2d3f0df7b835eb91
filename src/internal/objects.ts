/**
 * The objects this process serves to other processes (queues, events...), by reference.
 * An object is registered the first time its handle is sent to another process, and
 * unregistered when its owner's scope closes: calls that reach it from then on are told it
 * is gone.
 */
import type * as Connection from "./connection.ts"

export interface Registry extends Connection.Objects {
  /** The reference of `object`, registering `server` for it the first time. */
  readonly register: (object: object, server: Connection.Server) => string
  readonly unregister: (object: object) => void
  /** The object behind a reference this process handed out, if it is still served. */
  readonly objectOf: (ref: string) => object | undefined
}

export const make = (): Registry => {
  const servers = new Map<string, { readonly object: object; readonly server: Connection.Server }>()
  const refs = new WeakMap<object, string>()
  let counter = 0
  return {
    register: (object, server) => {
      let ref = refs.get(object)
      if (ref === undefined) {
        ref = `${process.pid}.${++counter}`
        refs.set(object, ref)
        servers.set(ref, { object, server })
      }
      return ref
    },
    unregister: (object) => {
      const ref = refs.get(object)
      if (ref !== undefined) servers.delete(ref)
    },
    lookup: (ref) => servers.get(ref)?.server,
    objectOf: (ref) => servers.get(ref)?.object
  }
}
