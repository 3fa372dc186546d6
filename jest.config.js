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
