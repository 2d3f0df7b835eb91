// First, and alone: on an unsupported Node.js, importing the library throws here, before
// any other module of it is evaluated.
import "./internal/nodeVersion.ts"

/**
 * @since 0.1.0
 */
export * as JoinableQueue from "./JoinableQueue.ts"
/**
 * @since 0.1.0
 */
export * as Process from "./Process.ts"
/**
 * @since 0.1.0
 */
export * as ProcessError from "./ProcessError.ts"
/**
 * @since 0.1.0
 */
export * as ProcessEvent from "./ProcessEvent.ts"
/**
 * @since 0.1.0
 */
export * as ProcessLogger from "./ProcessLogger.ts"
/**
 * @since 0.1.0
 */
export * as ProcessPool from "./ProcessPool.ts"
/**
 * @since 0.1.0
 */
export * as ProcessPoolError from "./ProcessPoolError.ts"
/**
 * @since 0.1.0
 */
export * as ProcessQueue from "./ProcessQueue.ts"
/**
 * @since 0.1.0
 */
export * as ProcessQueueError from "./ProcessQueueError.ts"
/**
 * @since 0.1.0
 */
export * as Target from "./Target.ts"
