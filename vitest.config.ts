import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // forks: the suites start Piscina worker threads and child processes of their own
    pool: 'forks',
    // two cores: more parallel files only fight over them
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
