// A no-op `pulumi up` is a no-op: the program's inputs must not depend on where the checkout is or on the
// file modes it was made with (umask 002 gives group-writable files), so an `up` from a colleague's laptop or
// from CI after one from another machine changes nothing. Every shipped stack and example is evaluated from two
// checkouts at different paths with different modes, and every resource's inputs and every output must be the
// same byte for byte; no input may hold either checkout's path.
import * as path from "path";
import { checkoutCopy, groupWritable } from "../support/checkouts";
import { Evaluation, ROOT, evaluateProgram } from "../support/mockRuntime";
import { fileVariants } from "../support/variants";

const FIRST = checkoutCopy("stability-a");
const SECOND = checkoutCopy("stability-b-elsewhere", groupWritable);

/** Each resource's inputs and each output, as the JSON text the engine would compare. */
function fingerprint(ev: Evaluation): Record<string, string> {
  const entries = ev.resources.map((r) => [`${r.type} ${r.name}`, JSON.stringify(r.wrappedInputs)] as const);
  const outputs = Object.entries(ev.outputs).map(([k, o]) => [`output ${k}`, JSON.stringify(o)] as const);
  return Object.fromEntries([...entries, ...outputs]);
}

describe.each(fileVariants().map((v) => [v.id, v] as const))("%s", (_id, variant) => {
  let first: Evaluation;
  let second: Evaluation;
  beforeAll(async () => {
    first = await evaluateProgram({ ...variant, program: path.join(FIRST, "index.ts") });
    second = await evaluateProgram({ ...variant, program: path.join(SECOND, "index.ts") });
  });

  test("both checkouts give the same inputs and outputs, byte for byte", () => {
    const [a, b] = [fingerprint(first), fingerprint(second)];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const differing = Object.keys(a).filter((k) => a[k] !== b[k]);
    expect(differing).toEqual([]);
  });

  test("no input holds a checkout's path", () => {
    const paths = [FIRST, SECOND, ROOT, path.dirname(FIRST), path.dirname(SECOND)];
    const holding = first.resources
      .concat(second.resources)
      .filter((r) => paths.some((p) => JSON.stringify(r.wrappedInputs).includes(p)))
      .map((r) => `${r.type} ${r.name}`);
    expect([...new Set(holding)]).toEqual([]);
  });
});
