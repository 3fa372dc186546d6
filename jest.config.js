// Transpile-only (@swc/jest): types are checked once by `tsc --noEmit` in `npm test`.
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/tests/unit/**/*.test.ts", "<rootDir>/tests/policy/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/tests/support/timeouts-unit.js"],
    },
    {
      displayName: "runtime",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/tests/runtime/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/tests/support/timeouts-runtime.js"],
    },
  ],
};
