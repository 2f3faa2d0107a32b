import { defineConfig } from 'vitest/config';

// Two projects (style.md 2.10): `unit` has no sockets and no real timers; `integration`
// starts real loopback servers and child processes, so it gets longer timeouts and runs
// its files one at a time on this 2-core machine to keep timing-sensitive tests honest.
export default defineConfig({
  test: {
    allowOnly: !process.env.CI,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // A real kube-apiserver + etcd on loopback, started once per run by the global setup
        // (test/support/kube/build.sh builds or finds the cached binaries).
        test: {
          name: 'kube',
          include: ['test/kube/**/*.test.ts'],
          globalSetup: ['test/support/kube/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
