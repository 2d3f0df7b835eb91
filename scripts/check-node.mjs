// Run by `npm test` before anything else, on whatever Node.js `npm` found: written so that
// an old Node can run it (plain JavaScript, no TypeScript, no dependencies), so that an
// unsupported Node stops the suite at once with what to do, not after minutes of failures.
import * as Fs from "node:fs"

const engines = JSON.parse(Fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")).engines.node
const [needMajor, needMinor = 0] = /^>=\s*(\d+)(?:\.(\d+))?/.exec(engines).slice(1).map((n) => Number(n ?? 0))
const [major, minor] = process.versions.node.split(".").map(Number)
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  process.stderr.write(
    `effect-multiprocessing needs Node.js ${needMajor}.${needMinor} or later (22 LTS or 24 LTS) to build and test; ` +
      `this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      `Install a newer Node.js (https://nodejs.org, or \`nvm install 24\`), or run the suite with one without ` +
      `installing it: \`npx -y -p node@24 -- npm test\`.\n`
  )
  process.exit(1)
}
