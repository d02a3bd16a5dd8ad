import { defineConfig } from 'vitest/config';

// Two projects: `unit` is the pure core (no I/O at all); `integration` runs
// against a real Synapse and a fresh real Postgres database, both prepared once
// per run by the global setup.
export default defineConfig({
  test: {
    reporters: ['default', './test/harness/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Pure and fast, but the first test of a file compiles the word lists and flows: on a
          // machine busy with the integration project that once took more than the 5 s default.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          // Each file gets its own bot users but they share one Synapse; running
          // files one after another keeps timings far from rate limits.
          fileParallelism: false,
        },
      },
    ],
  },
});
