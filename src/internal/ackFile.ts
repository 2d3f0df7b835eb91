/**
 * A child's acknowledgements of delivered queue items, written to a file instead of the
 * channel.
 *
 * A consumer must acknowledge each item before its caller gets it (were it killed right
 * after, the owner would otherwise give the item to someone else too). On the channel, that
 * is one message per item, and each one wakes the parent: it halved get throughput. Here
 * it is one small write to a file the parent does not watch; the parent reads the file
 * when it needs to: when the child calls again, every few milliseconds while items are
 * out, and, before it takes back what was not acknowledged, when the child is gone. What a
 * write put in the file survives the writer's SIGKILL.
 *
 * The parent creates the file, opens it twice (append for the child, read for itself) and
 * unlinks it at once: nothing is left behind, whatever happens to either process. The child
 * gets the append end as its fd 4. Each id is written as `<id>;` on a line of its own.
 *
 * So that a long-lived consumer's file does not grow forever, the parent has the child
 * switch to a new file once it has read `limit` bytes: it creates the file and sends its
 * path (an `AckFile` message); the child opens it, unlinks it, writes `end` as the last
 * line of the old file and appends to the new one from then on. The parent, reading the
 * old file, moves to the new one at `end`.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The child's fd of its first acknowledgements file. */
export const childFd = 4

/** The line that closes a file the child has left for a new one. */
const endLine = "end"

// ---------------------------------------------------------------------------
// parent side

export interface Reader {
  /** The ids written since the last call. */
  readonly drain: () => Array<number>
  /** Past `limit` bytes read: the path of a new file for the child to switch to (send it). Once per switch. */
  readonly nextFile: () => string | undefined
  readonly close: () => void
}

let limit = 1024 * 1024

/** The size at which the child is given a new file (lowered by tests to switch often). */
export const setLimit = (bytes: number): void => {
  limit = bytes
}

let created = 0

const newPath = () =>
  Path.join(Os.tmpdir(), `effect-multiprocessing-acks-${process.pid}-${++created}-${Math.random().toString(36).slice(2)}`)

/** A new file: the fd to give the child (close it here once the child is spawned), and our reader. */
export const create = (): { readonly childEnd: number; readonly reader: Reader } | undefined => {
  const path = newPath()
  try {
    const childEnd = Fs.openSync(path, "a", 0o600)
    const fd = Fs.openSync(path, "r")
    Fs.unlinkSync(path)
    return { childEnd, reader: makeReader(fd) }
  } catch {
    // No usable temporary directory: acknowledgements go over the channel.
    Fs.rmSync(path, { force: true })
    return undefined
  }
}

interface File {
  readonly fd: number
  offset: number
  /** A line not complete yet (a write seen half done). */
  rest: string
}

const makeReader = (fd: number): Reader => {
  const buffer = Buffer.allocUnsafe(64 * 1024)
  let current: File = { fd, offset: 0, rest: "" }
  /** The file the child was told to switch to; its path until the child has unlinked it. */
  let next: { readonly file: File; readonly path: string } | undefined
  let closed = false
  return {
    drain: () => {
      const ids: Array<number> = []
      if (closed) return ids
      while (true) {
        let n: number
        try {
          n = Fs.readSync(current.fd, buffer, 0, buffer.length, current.offset)
        } catch {
          // Unreadable (it should not happen): what is not read counts as not acknowledged.
          break
        }
        if (n === 0) break
        current.offset += n
        const lines = (current.rest + buffer.toString("latin1", 0, n)).split("\n")
        current.rest = lines.pop()!
        let ended = false
        for (const line of lines) {
          // Only whole entries count: a write cut short leaves a line without its ';'.
          if (line.endsWith(";")) ids.push(Number(line.slice(0, -1)))
          else if (line === endLine) ended = true
        }
        if (ended && next !== undefined) {
          Fs.closeSync(current.fd)
          current = next.file
          next = undefined
        }
      }
      return ids
    },
    nextFile: () => {
      if (closed || next !== undefined || current.offset < limit) return undefined
      const path = newPath()
      try {
        Fs.closeSync(Fs.openSync(path, "wx", 0o600))
        next = { file: { fd: Fs.openSync(path, "r"), offset: 0, rest: "" }, path }
        return path
      } catch {
        Fs.rmSync(path, { force: true })
        return undefined
      }
    },
    close: () => {
      if (closed) return
      closed = true
      Fs.closeSync(current.fd)
      if (next !== undefined) {
        Fs.closeSync(next.file.fd)
        // The child may not have got to it: do not leave it behind.
        Fs.rmSync(next.path, { force: true })
      }
    }
  }
}

// ---------------------------------------------------------------------------
// child side

let usable: boolean | undefined
let fd = childFd

/** Appends `ids` to this child's file; `false` if there is none (or it failed): send them over the channel. */
export const write = (ids: ReadonlyArray<number>): boolean => {
  usable ??= isFile(fd)
  if (!usable) return false
  const line = ids.map((id) => `${id};\n`).join("")
  if (append(line)) return true
  // A failed or partial write: stop using the file. Its last entry may lack its ';' and
  // newline: end the line, so that the parent drops it rather than join it to the next.
  usable = false
  append("\n")
  return false
}

/** The parent's `AckFile`: from now on, acknowledgements go to the file at `path`. */
export const switchTo = (path: string): void => {
  usable ??= isFile(fd)
  let opened: number
  try {
    opened = Fs.openSync(path, "a")
  } catch {
    return
  }
  Fs.rmSync(path, { force: true })
  // The parent moves to the new file when it reads `end` in the old one. If that cannot be
  // written whole, stay: a new file the parent would never read would lose acknowledgements.
  if (usable === false || !append(`${endLine}\n`)) {
    Fs.closeSync(opened)
    return
  }
  const old = fd
  fd = opened
  usable = true
  Fs.closeSync(old)
}

const append = (text: string): boolean => {
  try {
    return Fs.writeSync(fd, text) === text.length
  } catch {
    return false
  }
}

const isFile = (n: number): boolean => {
  try {
    return Fs.fstatSync(n).isFile()
  } catch {
    return false
  }
}
