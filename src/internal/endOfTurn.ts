/**
 * Coalescing to the end of the turn: the writes, settlements, dispatches and answers made
 * in one synchronous burst go out together, in one message or one system call, without
 * waiting for the next turn of the event loop.
 */

/**
 * A function that schedules `run` once, in a microtask after the synchronous code that
 * called it (so before any I/O), however many times it is called until then.
 */
export const endOfTurn = (run: () => void): (() => void) => {
  let due = false
  const fire = () => {
    due = false
    run()
  }
  return () => {
    if (due) return
    due = true
    queueMicrotask(fire)
  }
}
