/**
 * The orphan guard. A child in a CPU loop never sees its parent vanish, and Node has
 * no `PR_SET_PDEATHSIG`, so each process that has children keeps one tiny `sh`
 * watchdog, started with the first child. The parent tells it `+ pid` / `- pid` over a
 * pipe; when the parent dies, even by SIGKILL, the pipe reaches end-of-file and the
 * watchdog sends SIGTERM to every child it still knows and, once they have ended or its
 * grace (150 ms, see `graceChecks`) has passed, SIGKILL to each child's process group (so
 * grandchildren go too).
 *
 * The watchdog sits in its own session, ignoring SIGINT/SIGTERM/SIGHUP, so that a
 * signal to the parent's process group does not take it down with the parent.
 */
import * as ChildProcess from "node:child_process"
import type * as Net from "node:net"

/**
 * How long the watchdog waits, after its SIGTERM, for the children to end before SIGKILL:
 * 150 ms on the clock, checked every 25 ms (at most 6 checks where there is no clock to
 * read). An orphan must be gone within 500 ms of its parent's death. A child that can run
 * JavaScript hears of the death at once (its channel closes, and the SIGTERM comes), and
 * exits in a few milliseconds; only a child that cannot (a synchronous loop) or that keeps
 * running on purpose (a SIGTERM handler of its own, or finalizers that outlast the grace)
 * waits for the SIGKILL. On a loaded machine every step (the watchdog waking, each of its
 * forks, the child's exit, its reaping) is late by tens of milliseconds or more: 150 ms
 * leaves most of the 500 to them, and still lets short finalizers (a file written, a
 * socket closed) finish.
 */
const graceChecks = 6
const checkInterval = "0.025"
const graceCentis = 15

const script = `
trap '' INT TERM HUP PIPE
pids=' '
while read -r op pid; do
  case "$op" in
    +) pids="$pids$pid " ;;
    -) case "$pids" in *" $pid "*) pids="\${pids%%" $pid "*} \${pids#*" $pid "}" ;; esac ;;
  esac
done
set -- $pids
[ $# -eq 0 ] && exit 0
# A zombie is dead for us: where /proc exists, read its state (the field after "(comm)"),
# with builtins only, so a check costs no fork.
running() {
  if [ -r "/proc/$1/stat" ]; then
    stat=
    read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
    state=\${stat##*) }
    state=\${state%% *}
    [ -n "$state" ] && [ "$state" != Z ]
  else
    kill -0 "$1" 2>/dev/null
  fi
}
# Centiseconds since boot into $now, from /proc/uptime, with builtins only (no fork);
# empty where there is no /proc.
clock() {
  now=
  up=
  read -r up _ < /proc/uptime 2>/dev/null || return 0
  now=\${up%.*}\${up#*.}
}
for p; do kill -TERM "$p" 2>/dev/null; done
# The grace is measured on the clock where there is one: a loaded machine makes each
# check's fork slow, and a count of checks alone would stretch the grace with it.
clock
start=$now
n=0
while [ $n -lt ${graceChecks} ]; do
  alive=
  for p; do running "$p" && alive=1; done
  [ -z "$alive" ] && break
  if [ -n "$start" ]; then
    clock
    [ -n "$now" ] && [ $((now - start)) -ge ${graceCentis} ] && break
  fi
  sleep ${checkInterval}
  n=$((n + 1))
done
# Always the group: a leader that is gone may leave members (its own raw children).
# An empty group is harmless to signal, and a pid in use as a group id is never reused.
for p; do kill -KILL "-$p" 2>/dev/null || { running "$p" && kill -KILL "$p" 2>/dev/null; }; done
`

export interface Watchdog {
  /** Puts a child under the guard (starting the watchdog with the first one). */
  readonly register: (pid: number) => void
  /** Takes a reaped child off the guard, so its pid, once reused, is never signalled. */
  readonly unregister: (pid: number) => void
}

type State =
  | { readonly _tag: "NotStarted" }
  | { readonly _tag: "Running"; readonly stdin: Net.Socket }
  /** It could not be started: children are not guarded. */
  | { readonly _tag: "Unavailable" }

export const make = (): Watchdog => {
  let state: State = { _tag: "NotStarted" }
  const start = (): State => {
    try {
      const watchdog = ChildProcess.spawn("/bin/sh", ["-c", script], {
        stdio: ["pipe", "ignore", "ignore"],
        detached: true
      })
      watchdog.on("error", () => {
        state = { _tag: "Unavailable" }
      })
      watchdog.unref()
      const stdin = watchdog.stdin as Net.Socket
      // The watchdog is gone: the next child starts a new one.
      stdin.on("error", () => {
        state = { _tag: "NotStarted" }
      })
      stdin.unref()
      return { _tag: "Running", stdin }
    } catch {
      return { _tag: "Unavailable" }
    }
  }
  return {
    register: (pid) => {
      if (state._tag === "NotStarted") state = start()
      if (state._tag === "Running") state.stdin.write(`+ ${pid}\n`)
    },
    unregister: (pid) => {
      if (state._tag === "Running") state.stdin.write(`- ${pid}\n`)
    }
  }
}
