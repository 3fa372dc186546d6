// components/region.ts at preview: the check that awsRegion is the AWS provider's region runs even while the
// value it guards is unknown (a new bucket's name, a new database's address), so a wrong region fails the
// preview instead of the update, after resources exist in the provider's region. The preview runs in a child
// process, where a failed check is also an unhandled rejection, as in a Pulumi program.
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "../support/mockRuntime";

function preview(region: string): { value: string; errors: string[] } {
  const fixture = path.join(ROOT, "tests", "unit", "fixtures", "region-preview.ts");
  const run = spawnSync(process.execPath, ["-r", "./scripts/ts-register.js", fixture, region], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`region-preview exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as { value: string; errors: string[] };
}

const WRONG =
  /^ArtifactStore: awsRegion: got "ap-south-1"; allowed: "eu-west-1", the region of the AWS provider/;

test("another region fails the preview although the guarded value is still unknown", () => {
  const { value, errors } = preview("ap-south-1");
  expect(value).toMatch(/^rejected: /);
  expect(value.replace(/^rejected: /, "")).toMatch(WRONG);
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) expect(error).toMatch(WRONG);
});

test("the provider's region lets the value through as it is (unknown at preview), with nothing unhandled", () => {
  expect(preview("eu-west-1")).toEqual({ value: "unknown", errors: [] });
});
