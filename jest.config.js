// Two projects: fast pure unit tests, and integration, fault and e2e tests that share
// one real local control plane (kwok nodes and a real node) started by the global setup.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
};

export default {
  // Per test; integration tests wait on a real cluster with generous time-outs of their own.
  testTimeout: 180_000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/fault/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      // Kills what a test file's processes left behind, even when a test timed out.
      setupFilesAfterEnv: ['<rootDir>/test/integration/kill-leftovers.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.js',
      globalTeardown: '<rootDir>/test/integration/global-teardown.js',
    },
  ],
};
