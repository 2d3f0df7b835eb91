/**
 * Refuses to load on a Node.js this library does not run on. It is the first module
 * `index.ts` imports and imports nothing itself, so it is evaluated before any other
 * module of the package: on an old Node the import throws at once, with what is needed,
 * instead of a program that does nothing (`import.meta.main` is `undefined` before Node
 * 22.18, so a guarded program skips its own body) or children that fail to load `.ts`.
 */

/** The oldest Node.js supported, as `package.json`'s `engines` says (`>=22.19`). */
export const minimum = { major: 22, minor: 19 } as const

/** Why Node.js `version` (`process.versions.node`, `"20.20.2"`) cannot run this library, or `undefined` if it can. */
export const unsupported = (version: string, execPath: string): string | undefined => {
  const [major = 0, minor = 0] = version.split(".").map(Number)
  if (major > minimum.major || (major === minimum.major && minor >= minimum.minor)) return undefined
  return `effect-multiprocessing needs Node.js ${minimum.major}.${minimum.minor} or later (22 LTS or 24 LTS); ` +
    `this is Node.js ${version} (${execPath}). Install a newer Node.js (https://nodejs.org, or \`nvm install 24\`), ` +
    `or run with one without installing it: \`npx -y -p node@24 -- node <your program>\`.`
}

const reason = unsupported(process.versions.node, process.execPath)
if (reason !== undefined) throw new Error(reason)
