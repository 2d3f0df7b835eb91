/**
 * A pool's settings: its options, checked and with their defaults.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import type * as ProcessPool from "../ProcessPool.ts"
import { InvalidOptionsError, ProcessPoolError } from "../ProcessPoolError.ts"
import { errorMessage } from "./errors.ts"
import * as PayloadSize from "./payloadSize.ts"
import type * as PoolProtocol from "./poolProtocol.ts"
import * as internalTarget from "./target.ts"

export interface Settings {
  readonly size: number
  readonly initializer: PoolProtocol.WorkerArgs["initializer"]
  readonly maxTasksPerChild: number
  readonly maxQueued: number
  /** `undefined`: adaptive (see `capacity` in poolScheduler.ts). */
  readonly inFlightPerWorker: number | undefined
  readonly gracePeriod: Duration.Duration
  readonly crashLoopLimit: number
  readonly onWorkerCrash: "replace" | "break"
  readonly env: Record<string, string | undefined> | undefined
  readonly execArgv: ReadonlyArray<string> | undefined
  readonly inheritEnv: boolean | ReadonlyArray<string> | undefined
  readonly maxMessageBytes: number
}

/** Why an option is not a positive integer (or Infinity, where allowed), if it is not. */
const positive = (name: string, value: number, allowInfinity = false) =>
  (Number.isInteger(value) && value > 0) || (allowInfinity && value === Infinity)
    ? undefined
    : `${name} must be a positive integer${allowInfinity ? " (or Infinity)" : ""}, got ${value}`

/** An option of a call (`chunkSize`, `concurrency`) that is not a positive integer: the call fails with this. */
export const invalidOption = (name: string, value: number): ProcessPoolError | undefined => {
  const problem = positive(name, value)
  return problem === undefined ? undefined : new ProcessPoolError({ reason: new InvalidOptionsError({ message: problem }) })
}

/** The settings of a pool made with `options` on a machine of `cpus` CPUs, or why they are invalid. */
export const validate = (options: ProcessPool.Options | undefined, cpus: number): Settings | InvalidOptionsError => {
  const size = options?.size ?? cpus
  const problem = positive("size", size) ??
    positive("maxTasksPerChild", options?.maxTasksPerChild ?? Infinity, true) ??
    positive("maxQueued", options?.maxQueued ?? Infinity, true) ??
    positive("inFlightPerWorker", options?.inFlightPerWorker ?? 1) ??
    positive("crashLoopLimit", options?.crashLoopLimit ?? 5)
  if (problem !== undefined) return new InvalidOptionsError({ message: problem })
  const onWorkerCrash = options?.onWorkerCrash ?? "replace"
  if (onWorkerCrash !== "replace" && onWorkerCrash !== "break") {
    return new InvalidOptionsError({ message: `onWorkerCrash must be "replace" or "break", got ${String(onWorkerCrash)}` })
  }
  const maxMessageBytes = options?.maxMessageBytes ?? PayloadSize.defaultMaxMessageBytes
  if (!(maxMessageBytes > 0)) {
    return new InvalidOptionsError({ message: `maxMessageBytes must be a positive number (or Infinity), got ${maxMessageBytes}` })
  }
  let initializer: Settings["initializer"] = null
  if (options?.initializer !== undefined) {
    const encoded = internalTarget.codecs(options.initializer.target).encodeArgs(options.initializer.args)
    if (Exit.isFailure(encoded)) {
      return new InvalidOptionsError({ message: `the initializer's arguments: ${errorMessage(Cause.squash(encoded.cause))}` })
    }
    initializer = { module: options.initializer.target.module, target: options.initializer.target.name, args: encoded.value }
  }
  return {
    size,
    initializer,
    maxTasksPerChild: options?.maxTasksPerChild ?? Infinity,
    maxQueued: options?.maxQueued ?? Infinity,
    inFlightPerWorker: options?.inFlightPerWorker,
    gracePeriod: Duration.fromInputUnsafe(options?.gracePeriod ?? "2 seconds"),
    crashLoopLimit: options?.crashLoopLimit ?? 5,
    onWorkerCrash,
    env: options?.env,
    execArgv: options?.execArgv,
    inheritEnv: options?.inheritEnv,
    maxMessageBytes
  }
}
