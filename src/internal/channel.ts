/**
 * The wire between a parent and a child: newline-delimited JSON over the extra stdio
 * pipe (fd 3) that `child_process.spawn` creates for us, with optional binary frames.
 *
 * Why not Node's built-in `ipc` channel: a malformed frame on it throws an uncaught
 * exception in the *receiving* process, so one bad child could kill the parent. Here a
 * line that is not JSON is reported to `onMalformed` and the next line is read as usual.
 *
 * A message may carry binary parts (a pool's chunk of numbers): each goes before the
 * message's line as a header line `#<byte length>` followed by that many raw bytes, and
 * the receiver hands them to `onMessage` with the message, in order. Bytes need neither
 * base64 nor JSON text, which for a large chunk of numbers cost more than the rest of its
 * trip.
 *
 * Writes made in one synchronous burst (up to the next microtask checkpoint) are joined
 * into one socket write, so many small messages cost one system call, without waiting a
 * turn of the event loop.
 *
 * One file past the usual size on purpose: the reader is one state machine over the bytes
 * (lines, part headers, parts, oversized input) and the writer is its mirror; apart, each
 * would need the other's framing rules.
 */
import { constants } from "node:buffer"
import type * as Net from "node:net"
import * as Effect from "effect/Effect"
import { endOfTurn } from "./endOfTurn.ts"

/**
 * What a reader accepts: a line or a binary part longer than this is reported as malformed
 * and skipped, before anything is allocated for it. A line's default is the longest a
 * writer can make (the JSON text of a string, which V8 caps at `MAX_STRING_LENGTH` UTF-16
 * units, up to 3 bytes each in UTF-8); a line grows piece by piece as it arrives, so only
 * what was sent is held. A part's default is 1 GiB.
 */
export interface Limits {
  readonly lineBytes: number
  readonly partBytes: number
}

const defaultLimits: Limits = { lineBytes: 3 * constants.MAX_STRING_LENGTH, partBytes: 2 ** 30 }

/**
 * A part up to this size gets its memory when its header is read; a larger one is kept
 * piece by piece as it arrives, and joined at its end, so that a header alone (from a
 * broken or hostile peer) never makes this process allocate more than was sent.
 */
const preallocateBytes = 64 * 1024 * 1024

/**
 * Flush at once, without waiting for the end of the turn, past this many pending bytes: a
 * pool's large chunk then leaves as soon as it is encoded, and its worker starts on it
 * while the next chunk is encoded. Small messages still share a write.
 */
const flushThreshold = 32 * 1024

/** A message's binary parts, in the order they were written. */
export type Binary = ReadonlyArray<Uint8Array>

export const noBinary: Binary = []

const newline = 0x0a
const hash = 0x23
const newlineHash = Buffer.from("\n#")

export interface Handlers {
  readonly onMessage: (message: unknown, binary: Binary) => void
  readonly onMalformed: (line: string, error: unknown) => void
  readonly onClose: () => void
}

export interface Channel {
  /**
   * Queues a JSON value, with its binary parts (written as they are at the flush, not
   * copied: the caller leaves them alone); `false` once the socket is congested or closed.
   */
  readonly write: (message: unknown, binary?: Binary) => boolean
  /** Waits until the socket has room again (returns at once if it has). */
  readonly awaitDrain: Effect.Effect<void>
  /** Writes what is pending now, then calls `onDone` once it reached the kernel. */
  readonly flush: (onDone?: () => void) => void
  /** Whether everything flushed so far reached the kernel (or the channel is closed). */
  readonly allWritten: () => boolean
  readonly isClosed: () => boolean
  /** Flushes, then half-closes the socket. */
  readonly end: (onDone?: () => void) => void
  readonly destroy: () => void
}

/** The text of `bytes`, shortened for a report. */
const excerpt = (bytes: Uint8Array): string => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 200)).toString("utf8")
  return bytes.length > 200 ? text + "…" : text
}

export const make = (socket: Net.Socket, handlers: Handlers, limits: Limits = defaultLimits): Channel => {
  /** Lines (strings) and binary parts waiting for the next flush. */
  let pending: Array<string | Uint8Array> = []
  let pendingBinary = false
  let pendingBytes = 0
  let congested = false
  let closed = false

  const close = () => {
    if (closed) return
    closed = true
    pending = []
    handlers.onClose()
  }

  /** Writes `pending`: one string if it holds only lines, else its pieces in one corked write. */
  const writePending = (onDone: (() => void) | undefined): boolean => {
    const callback = onDone === undefined ? undefined : () => onDone()
    if (!pendingBinary) return socket.write(pending.length === 1 ? pending[0] as string : pending.join(""), callback)
    let text = ""
    socket.cork()
    for (const piece of pending) {
      if (typeof piece === "string") {
        text += piece
        continue
      }
      if (text.length > 0) socket.write(text)
      text = ""
      socket.write(piece)
    }
    // The last piece is always a message's line; its write tells whether the socket is congested.
    const ok = socket.write(text, callback)
    socket.uncork()
    return ok
  }

  const flush = (onDone?: () => void): void => {
    if (closed) {
      onDone?.()
      return
    }
    if (pending.length === 0) {
      if (onDone) socket.write("", () => onDone())
      return
    }
    const ok = writePending(onDone)
    pending = []
    pendingBinary = false
    pendingBytes = 0
    if (!ok) congested = true
  }

  const flushSoon = endOfTurn(() => flush())

  // Reading. The socket gives Buffers: lines are found by their newline byte, which never
  // occurs inside a UTF-8 sequence. The whole lines of a read up to a part's header are
  // decoded in one go, cheaper than a decode per line; a line split across reads is kept
  // as bytes and decoded once whole.

  /** The start of the line being read, if it began in an earlier chunk. */
  let partial: Array<Buffer> = []
  let partialBytes = 0
  let skippingOversized = false
  /** The binary part being read (`partLength` ≥ 0): its memory (or its pieces), unless it is skipped, and how many bytes have come. */
  let partLength = -1
  let part: Buffer | undefined
  let pieces: Array<Buffer> | undefined
  let partFilled = 0
  /** Binary parts read for the next message. */
  let binary: Array<Uint8Array> = []
  /** A part of the next message was skipped: the message is dropped (it was reported). */
  let spoiled = false

  /** Reads from `chunk[start]` into the binary part being read; returns where it stopped. */
  const readPart = (chunk: Buffer, start: number): number => {
    const n = Math.min(partLength - partFilled, chunk.length - start)
    if (part !== undefined) chunk.copy(part, partFilled, start, start + n)
    // A copy: the chunk's memory is the socket's to reuse.
    else if (pieces !== undefined) pieces.push(Buffer.from(chunk.subarray(start, start + n)))
    partFilled += n
    if (partFilled === partLength) endPart()
    return start + n
  }

  const endPart = () => {
    if (part !== undefined) binary.push(part)
    else if (pieces !== undefined) {
      try {
        // Memory of its own, so that a typed array can view it from offset 0 (aligned).
        const whole = Buffer.allocUnsafeSlow(partLength)
        let at = 0
        for (const piece of pieces) at += piece.copy(whole, at)
        binary.push(whole)
      } catch (error) {
        // Out of memory: the part and its message are dropped, and reported.
        handlers.onMalformed(`a binary part of ${partLength} bytes`, error)
        spoiled = true
      }
    }
    part = undefined
    pieces = undefined
    partLength = -1
  }

  /** A binary part's header (`#<byte length>`): the part's bytes follow. */
  const startPart = (line: Buffer) => {
    const text = line.toString("latin1", 1)
    if (!/^\d{1,10}$/.test(text)) return handlers.onMalformed(excerpt(line), new Error("malformed binary part header"))
    partLength = Number(text)
    partFilled = 0
    part = undefined
    pieces = undefined
    if (partLength > limits.partBytes) {
      // Its length is known: its bytes are skipped, and its message dropped.
      handlers.onMalformed(excerpt(line), new Error(`a binary part of ${partLength} bytes: over the limit of ${limits.partBytes}`))
      spoiled = true
    } else if (partLength <= preallocateBytes) {
      // Memory of its own, so that a typed array can view it from offset 0 (aligned).
      part = Buffer.allocUnsafeSlow(partLength)
    } else pieces = []
    if (partLength === 0) endPart()
  }

  /** The binary parts read for the message whose line comes now; `undefined` if it is dropped. */
  const takeParts = (): Binary | undefined => {
    if (spoiled) {
      spoiled = false
      binary = []
      return undefined
    }
    if (binary.length === 0) return noBinary
    const parts = binary
    binary = []
    return parts
  }

  /** A message's line: parsed, and handed on with its binary parts. */
  const receive = (text: string) => {
    const parts = takeParts()
    if (parts === undefined) return
    // A line that came whole in one read is in memory already, but is held to the same
    // limit as one that grows across reads (its length in UTF-16 units: at most its bytes).
    if (text.length > limits.lineBytes) {
      return handlers.onMalformed(text.slice(0, 200) + "…", new Error(`line longer than ${limits.lineBytes} bytes`))
    }
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch (error) {
      handlers.onMalformed(text.length > 200 ? text.slice(0, 200) + "…" : text, error)
      return
    }
    handlers.onMessage(message, parts)
  }

  /** Lines of messages, decoded together (most reads hold many, and no part header). */
  const receiveAll = (text: string) => {
    let start = 0
    while (true) {
      const end = text.indexOf("\n", start)
      const line = end === -1 ? text.slice(start) : text.slice(start, end)
      if (line.length > 0) receive(line)
      if (end === -1) return
      start = end + 1
    }
  }

  /** A line that began in an earlier read: a part's header, or a message's line. */
  const onLine = (line: Buffer) => {
    if (line.length === 0) return
    if (line[0] === hash) return startPart(line)
    let text: string
    try {
      text = line.toString("utf8")
    } catch (error) {
      // Longer than a string can be: no writer made it.
      takeParts()
      return handlers.onMalformed(excerpt(line), error)
    }
    receive(text)
  }

  /** Keeps the start of a line that goes on in the next read (or skips it, once too long). */
  const keepPartial = (piece: Buffer) => {
    if (skippingOversized) return
    partial.push(piece)
    partialBytes += piece.length
    if (partialBytes <= limits.lineBytes) return
    handlers.onMalformed(excerpt(partial[0]!), new Error(`line longer than ${limits.lineBytes} bytes`))
    binary = []
    partial = []
    partialBytes = 0
    skippingOversized = true
  }

  const onData = (chunk: Buffer) => {
    let start = 0
    while (start < chunk.length) {
      if (partLength >= 0) {
        start = readPart(chunk, start)
        continue
      }
      // A line begun in an earlier read, or a part's header: on its own.
      if (partial.length > 0 || skippingOversized || chunk[start] === hash) {
        const end = chunk.indexOf(newline, start)
        if (end === -1) return keepPartial(chunk.subarray(start))
        if (skippingOversized) skippingOversized = false
        else if (partial.length === 0) onLine(chunk.subarray(start, end))
        else {
          partial.push(chunk.subarray(start, end))
          const line = Buffer.concat(partial, partialBytes + end - start)
          partial = []
          partialBytes = 0
          onLine(line)
        }
        start = end + 1
        continue
      }
      // Whole lines up to the next part's header (a line that starts with '#': a message's
      // JSON never holds a raw newline), decoded in one go. Most reads have no '#' at all,
      // and end with a line's end.
      const hashAt = chunk.indexOf(hash, start)
      const header = hashAt === -1 ? -1 : chunk[hashAt - 1] === newline ? hashAt - 1 : chunk.indexOf(newlineHash, hashAt)
      const last = header === -1 && chunk[chunk.length - 1] === newline
        ? chunk.length - 1
        : chunk.lastIndexOf(newline, header === -1 ? chunk.length - 1 : header)
      if (last < start) return keepPartial(chunk.subarray(start))
      receiveAll(chunk.toString("utf8", start, last))
      start = last + 1
    }
  }

  socket.on("data", onData)
  socket.on("drain", () => {
    congested = false
  })
  // EPIPE / ECONNRESET when the other side died: the same as a close for us.
  socket.on("error", close)
  socket.on("close", close)
  // The other side is done writing, and we have read it all: end ours too, so that it knows
  // (a child waits for this before it exits).
  socket.on("end", () => {
    socket.end()
    close()
  })

  return {
    write(message, parts) {
      if (closed) return false
      // First: a message that cannot be written (too long for a string) throws with nothing queued.
      const line = JSON.stringify(message) + "\n"
      if (parts !== undefined && parts.length > 0) {
        for (const bytes of parts) {
          const header = `#${bytes.byteLength}\n`
          pending.push(header, bytes)
          pendingBytes += header.length + bytes.byteLength
        }
        pendingBinary = true
      }
      pending.push(line)
      pendingBytes += line.length
      if (pendingBytes >= flushThreshold) flush()
      else flushSoon()
      return !congested
    },
    awaitDrain: Effect.callback<void>((resume) => {
      if (!congested || closed) return resume(Effect.void)
      // Whichever comes first removes both (a `close` listener left behind per wait leaked).
      const stop = () => {
        socket.off("drain", done)
        socket.off("close", done)
      }
      const done = () => {
        stop()
        resume(Effect.void)
      }
      socket.on("drain", done)
      socket.on("close", done)
      return Effect.sync(stop)
    }),
    flush,
    allWritten: () => closed || socket.writableLength === 0,
    isClosed: () => closed,
    end(onDone) {
      flush(() => {
        socket.end(onDone)
      })
    },
    destroy() {
      socket.destroy()
      close()
    }
  }
}
