/**
 * The orphan guard. A child in a CPU loop never sees its parent vanish, and Node has
 * no `PR_SET_PDEATHSIG`, so each process that has children keeps one tiny `sh`
 * watchdog, started with the first child. The parent tells it `+ pid` / `- pid` over a
 * pipe; when the parent dies, even by SIGKILL, the pipe reaches end-of-file and the
 * watchdog sends SIGTERM to every child it still knows and, once they have ended or one
 * second has passed, SIGKILL to each child's process group (so grandchildren go too).
 *
 * The watchdog sits in its own session, ignoring SIGINT/SIGTERM/SIGHUP, so that a
 * signal to the parent's process group does not take it down with the parent.
 */
import * as ChildProcess from "node:child_process"
import type * as Net from "node:net"

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
# A zombie is dead for us: where /proc exists, read its state (the field after "(comm)").
running() {
  if [ -r "/proc/$1/stat" ]; then
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$state" ] && [ "$state" != Z ]
  else
    kill -0 "$1" 2>/dev/null
  fi
}
for p; do kill -TERM "$p" 2>/dev/null; done
n=0
while [ $n -lt 10 ]; do
  alive=
  for p; do running "$p" && alive=1; done
  [ -z "$alive" ] && break
  sleep 0.1
  n=$((n + 1))
done
# Always the group: a leader that is gone may leave members (its own raw children).
# An empty group is harmless to signal, and a pid in use as a group id is never reused.
for p; do kill -KILL "-$p" 2>/dev/null || { running "$p" && kill -KILL "$p" 2>/dev/null; }; done
`

let stdin: Net.Socket | undefined
let failed = false

const ensure = (): Net.Socket | undefined => {
  if (stdin !== undefined || failed) return stdin
  try {
    const watchdog = ChildProcess.spawn("/bin/sh", ["-c", script], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true
    })
    watchdog.on("error", () => {
      failed = true
      stdin = undefined
    })
    watchdog.unref()
    const pipe = watchdog.stdin as Net.Socket
    pipe.on("error", () => {
      stdin = undefined
    })
    pipe.unref()
    stdin = pipe
  } catch {
    failed = true
  }
  return stdin
}

/** Puts a child under the guard. */
export const register = (pid: number): void => {
  ensure()?.write(`+ ${pid}\n`)
}

/** Takes a reaped child off the guard, so its pid, once reused, is never signalled. */
export const unregister = (pid: number): void => {
  stdin?.write(`- ${pid}\n`)
}
