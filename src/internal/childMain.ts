/**
 * Entry point of every child process. The compile cache is turned on before anything
 * heavy is imported, so a child after the first loads Effect from cached bytecode.
 */
import * as Module from "node:module"

Module.enableCompileCache?.()
const child = await import("./child.ts")
child.main()
