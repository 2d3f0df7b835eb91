import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests spawn real processes and send real signals: run test files in forked
    // workers, a few at a time, with time bounds that a loaded 2-core machine meets.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
