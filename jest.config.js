// Transpile-only (@swc/jest): types are checked once by `tsc --noEmit` in `npm test`.
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] };

/** @type {import('jest').Config} */
module.exports = {
  // Jest reads testTimeout from the global config only: the projects' own values below were never applied, so
  // under load (a mock evaluation takes several seconds on a busy machine) tests failed at Jest's default 5 s.
  testTimeout: 60000,
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/tests/unit/**/*.test.ts", "<rootDir>/tests/policy/**/*.test.ts"],
      testTimeout: 60000,
    },
    {
      displayName: "runtime",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/tests/runtime/**/*.test.ts"],
      testTimeout: 600000,
    },
  ],
};
