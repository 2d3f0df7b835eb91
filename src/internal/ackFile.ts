/**
 * Acknowledgements of delivered values (queue items), written by their receiver to a file
 * instead of the channel.
 *
 * A consumer must acknowledge each item before its caller gets it (were it killed right
 * after, the owner would otherwise give the item to someone else too). On the channel, that
 * is one message per item, and each one wakes the owner. Here it is one small write to a
 * file the owner does not watch; the owner reads the file when it needs to: when the
 * receiver calls again, every few milliseconds while items are out, and, before it takes
 * back what was not acknowledged, when the receiver is gone. What a write put in the file
 * survives the writer's SIGKILL.
 *
 * A file is made only for a peer that is handed values: the owner's `Reader` creates it on
 * its first delivery, opens it for reading and sends its path (an `AckFile` message, ahead
 * of the reply that delivers); the receiver's `Writer` opens it for appending and unlinks
 * it. Each id is written as `<id>;` on a line of its own. So that a long-lived consumer's
 * file does not grow forever, the owner sends a new path once it has read `limit` bytes;
 * the receiver writes `end` as the last line of the old file and appends to the new one;
 * the owner, reading the old file, moves to the new one at `end`. A path the receiver never
 * got to is removed when the reader closes: nothing is left behind.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Context from "effect/Context"

/** The line that closes a file the writer has left for a new one. */
const endLine = "end"

/** A reader asks for a new file past this many bytes read, by default. */
const defaultLimit = 1024 * 1024

/** The size at which the children spawned in its scope are given a new file (tests lower it, to switch often). */
export const Limit: Context.Reference<number> = Context.Reference<number>(
  "effect-multiprocessing/internal/AckFile/Limit",
  { defaultValue: () => defaultLimit }
)

// ---------------------------------------------------------------------------
// the owner's side

export interface Reader {
  /** The ids written since the last call. */
  readonly drain: () => Array<number>
  /**
   * The path of a file for the receiver to use (send it): the first one, or a new one once
   * `limit` bytes were read. `undefined` when none is needed now, or none can be made.
   */
  readonly nextFile: () => string | undefined
  readonly close: () => void
}

interface File {
  readonly fd: number
  offset: number
  /** A line not complete yet (a write seen half done). */
  rest: string
}

let created = 0

const newPath = () =>
  Path.join(Os.tmpdir(), `effect-multiprocessing-acks-${process.pid}-${++created}-${Math.random().toString(36).slice(2)}`)

/** A new, empty file opened for reading, with its path (the receiver unlinks it once it has it open). */
const createFile = (): { readonly file: File; readonly path: string } | undefined => {
  const path = newPath()
  try {
    Fs.closeSync(Fs.openSync(path, "wx", 0o600))
    return { file: { fd: Fs.openSync(path, "r"), offset: 0, rest: "" }, path }
  } catch {
    // No usable temporary directory: acknowledgements go over the channel.
    Fs.rmSync(path, { force: true })
    return undefined
  }
}

export const makeReader = (limit: number = defaultLimit): Reader => {
  const buffer = Buffer.allocUnsafe(64 * 1024)
  let current: File | undefined
  /** The file the receiver was told to use; its path until the reader is closed. */
  let next: { readonly file: File; readonly path: string } | undefined
  /** Paths handed out, removed at close in case the receiver never unlinked them. */
  const paths: Array<string> = []
  let closed = false
  const readFrom = (file: File, ids: Array<number>): boolean => {
    let ended = false
    while (true) {
      let n: number
      try {
        n = Fs.readSync(file.fd, buffer, 0, buffer.length, file.offset)
      } catch {
        // Unreadable (it should not happen): what is not read counts as not acknowledged.
        return false
      }
      if (n === 0) return ended
      file.offset += n
      const lines = (file.rest + buffer.toString("latin1", 0, n)).split("\n")
      file.rest = lines.pop()!
      for (const line of lines) {
        // Only whole entries count: a write cut short leaves a line without its ';'.
        if (line.endsWith(";")) ids.push(Number(line.slice(0, -1)))
        else if (line === endLine) ended = true
      }
    }
  }
  return {
    drain: () => {
      const ids: Array<number> = []
      if (closed) return ids
      if (current === undefined && next !== undefined) {
        // The first file: nothing to end before it.
        current = next.file
        next = undefined
      }
      while (current !== undefined && readFrom(current, ids) && next !== undefined) {
        Fs.closeSync(current.fd)
        current = next.file
        next = undefined
      }
      return ids
    },
    nextFile: () => {
      if (closed || next !== undefined || (current !== undefined && current.offset < limit)) return undefined
      next = createFile()
      if (next === undefined) return undefined
      paths.push(next.path)
      return next.path
    },
    close: () => {
      if (closed) return
      closed = true
      if (current !== undefined) Fs.closeSync(current.fd)
      if (next !== undefined) Fs.closeSync(next.file.fd)
      for (const path of paths) Fs.rmSync(path, { force: true })
    }
  }
}

// ---------------------------------------------------------------------------
// the receiver's side

export interface Writer {
  /** Appends `ids`; `false` if there is no file (or writing failed): send them over the channel. */
  readonly write: (ids: ReadonlyArray<number>) => boolean
  /** The owner's `AckFile`: from now on, acknowledgements go to the file at `path`. */
  readonly switchTo: (path: string) => void
  readonly close: () => void
}

export const makeWriter = (): Writer => {
  let fd: number | undefined
  /** A write failed: files are not used again (the owner would wait for an `end` that never comes). */
  let broken = false
  const append = (text: string): boolean => {
    if (fd === undefined) return false
    try {
      return Fs.writeSync(fd, text) === text.length
    } catch {
      return false
    }
  }
  const stop = () => {
    if (fd !== undefined) Fs.closeSync(fd)
    fd = undefined
  }
  return {
    write: (ids) => {
      if (fd === undefined) return false
      if (append(ids.map((id) => `${id};\n`).join(""))) return true
      // A failed or partial write: stop using the file. Its last entry may lack its ';' and
      // newline: end the line, so that the owner drops it rather than join it to the next.
      append("\n")
      stop()
      broken = true
      return false
    },
    switchTo: (path) => {
      if (broken) return
      let opened: number
      try {
        opened = Fs.openSync(path, "a")
      } catch {
        return
      }
      Fs.rmSync(path, { force: true })
      // The owner moves to the new file when it reads `end` in the old one. If that cannot be
      // written whole, stay: a new file the owner would never read would lose acknowledgements.
      if (fd !== undefined && !append(`${endLine}\n`)) {
        Fs.closeSync(opened)
        return
      }
      stop()
      fd = opened
    },
    close: stop
  }
}
