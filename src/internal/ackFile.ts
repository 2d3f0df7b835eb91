/**
 * A child's acknowledgements of delivered queue items, written to a file instead of the
 * channel.
 *
 * A consumer must acknowledge each item before its caller gets it (were it killed right
 * after, the owner would otherwise give the item to someone else too). On the channel, that
 * is one message per item, and each one wakes the parent: it halved get throughput. Here
 * it is one small write to a file the parent does not watch; the parent reads the file
 * when it needs to know: when the child calls again, every few milliseconds while items are
 * out, and, before it takes back what was not acknowledged, when the child is gone. What a
 * write put in the file survives the writer's SIGKILL.
 *
 * The parent creates the file, opens it twice (append for the child, read for itself) and
 * unlinks it at once: nothing is left behind, whatever happens to either process. The child
 * gets the append end as its fd 4. Each id is written as `<id>;` on a line of its own.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The child's fd of its acknowledgements file. */
export const childFd = 4

// ---------------------------------------------------------------------------
// parent side

export interface Reader {
  /** The ids written since the last call. */
  readonly drain: () => Array<number>
  readonly close: () => void
}

let created = 0

/** A new file: the fd to give the child (close it here once the child is spawned), and our reader. */
export const create = (): { readonly childEnd: number; readonly reader: Reader } | undefined => {
  let path: string | undefined
  try {
    path = Path.join(Os.tmpdir(), `effect-multiprocessing-acks-${process.pid}-${++created}-${Math.random().toString(36).slice(2)}`)
    const childEnd = Fs.openSync(path, "a", 0o600)
    const fd = Fs.openSync(path, "r")
    Fs.unlinkSync(path)
    return { childEnd, reader: makeReader(fd) }
  } catch {
    // No usable temporary directory: acknowledgements go over the channel.
    if (path !== undefined) Fs.rmSync(path, { force: true })
    return undefined
  }
}

const makeReader = (fd: number): Reader => {
  const buffer = Buffer.allocUnsafe(64 * 1024)
  let offset = 0
  /** A line not complete yet (a write seen half done). */
  let rest = ""
  let closed = false
  return {
    drain: () => {
      const ids: Array<number> = []
      if (closed) return ids
      while (true) {
        const n = Fs.readSync(fd, buffer, 0, buffer.length, offset)
        if (n === 0) break
        offset += n
        const lines = (rest + buffer.toString("latin1", 0, n)).split("\n")
        rest = lines.pop()!
        for (const line of lines) {
          // Only whole entries count: a write cut short leaves a line without its ';'.
          if (line.endsWith(";")) ids.push(Number(line.slice(0, -1)))
        }
      }
      return ids
    },
    close: () => {
      if (closed) return
      closed = true
      Fs.closeSync(fd)
    }
  }
}

// ---------------------------------------------------------------------------
// child side

let usable: boolean | undefined

/** Appends `ids` to this child's file; `false` if there is none (or it failed): send them over the channel. */
export const write = (ids: ReadonlyArray<number>): boolean => {
  usable ??= isFile(childFd)
  if (!usable) return false
  const line = ids.map((id) => `${id};\n`).join("")
  try {
    if (Fs.writeSync(childFd, line) === line.length) return true
  } catch {
    // below
  }
  // A failed or partial write: stop using the file. Its last entry may lack its ';' and
  // newline: end the line, so that the parent drops it rather than join it to the next.
  usable = false
  try {
    Fs.writeSync(childFd, "\n")
  } catch {
    // nothing more to do
  }
  return false
}

const isFile = (fd: number): boolean => {
  try {
    return Fs.fstatSync(fd).isFile()
  } catch {
    return false
  }
}
