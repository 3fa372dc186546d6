// The toolchain we declare is the one we run: engines.node admits the pinned Node.js 24 LTS (.node-version,
// which CI, the workflows and scripts/use-node.sh use), every installed package accepts both the oldest
// version engines.node admits and the pinned one (so `npm install` warns about no engine), and CI really
// runs on the pinned version.
import * as fs from "fs";
import * as path from "path";
import * as semver from "semver";
import { ROOT } from "../support/mockRuntime";

const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");
const NODE_VERSION = read(".node-version").trim();
const ENGINES = JSON.parse(read("package.json")).engines.node as string;
const OLDEST = semver.minVersion(ENGINES)?.version as string;

/** Installed packages (from the lockfile) whose engines.node refuses the given Node.js version. */
function refusing(version: string, lock = JSON.parse(read("package-lock.json"))): string[] {
  return Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
    .filter(([p, info]) => p !== "" && typeof info.engines?.node === "string")
    .filter(([, info]) => !semver.satisfies(version, info.engines?.node as string))
    .map(([p, info]) => `${p.replace(/^.*node_modules\//, "")} (${info.engines?.node})`);
}

test("the pinned Node.js is 24 LTS and satisfies engines.node, which asks for 22 or later", () => {
  expect(NODE_VERSION).toMatch(/^24\.\d+\.\d+$/);
  expect(semver.satisfies(NODE_VERSION, ENGINES)).toBe(true);
  expect(semver.major(OLDEST)).toBe(22);
});

test.each([
  ["the oldest version engines.node admits", OLDEST],
  ["the pinned version", NODE_VERSION],
])("every installed package accepts %s (%s): npm install warns about no engine", (_what, version) => {
  expect(refusing(version)).toEqual([]);
});

test("the engine check finds a package that needs a newer Node.js than we declare", () => {
  const lock = {
    packages: { "": {}, "node_modules/needs-26": { engines: { node: ">=26" } }, "node_modules/ok": {} },
  };
  expect(refusing(NODE_VERSION, lock)).toEqual(["needs-26 (>=26)"]);
  expect(refusing("22.0.0", JSON.parse(read("package-lock.json"))).length).toBeGreaterThan(0);
});

// .ci/run sources scripts/use-node.sh before anything else, so every CI test runs on the pinned version.
(process.env.CI === "true" ? test : test.skip)("CI runs on the pinned Node.js", () => {
  expect(process.version).toBe(`v${NODE_VERSION}`);
});

test("README and .ci/run name the same toolchain", () => {
  expect(read(".ci/run")).toMatch(/^\. scripts\/use-node\.sh$/m);
  expect(read("README.md")).toContain("Node.js 22.13 or later");
  expect(read("README.md")).toContain(". scripts/use-node.sh");
});
