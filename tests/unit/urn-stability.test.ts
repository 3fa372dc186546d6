// URN stability: a URN is a resource's identity in a stack's state. A refactoring that moves a resource under
// another parent, renames it or changes its type gives it a new URN, and without an alias that old URN `pulumi
// up` deletes the old resource and creates a new one: a new, empty database, a new bucket (or a failed create,
// its name taken), regenerated passwords, a new admin secret. Every resource of every shipped stack file
// (Pulumi.dev.yaml, Pulumi.prod.yaml, examples/Pulumi.*.yaml) must therefore be found now under its baseline
// URN, or carry an alias (`aliases: [...]` resource option, resolved as the engine does) that equals it.
//
// The baseline: tests/unit/fixtures/urn-baseline.json, the engine URNs the offline runtime computes
// (scripts/offline/urns.ts). Regenerating it is a deliberate act, never a way to make this test pass: run
//   node -r ./scripts/ts-register.js scripts/urn-baseline.ts              (every stack, from the working tree)
//   node -r ./scripts/ts-register.js scripts/urn-baseline.ts --only-new   (adds new stack files only)
// at a commit whose URNs are the ones deployed stacks have (e.g. right after a release), and commit it alone,
// saying why. Never regenerate it in the commit that changes URNs.
import * as path from "path";
import { readUrnBaseline } from "../../scripts/urn-baseline";
import { type Registration, matchesOldUrn, qualifiedTypeOf } from "../../scripts/offline/urns";
import { EVALUATION_NOW, Evaluation, ROOT, evaluateProgram } from "../support/mockRuntime";
import { fileVariants } from "../support/variants";

/**
 * Resources whose loss loses data or an identity others hold: a replacement is never harmless. Matched on the
 * resource's own type (the last part of the URN's type chain).
 */
const STATEFUL_TYPES: RegExp[] = [
  /^aws:rds\/(instance|parameterGroup|subnetGroup):/,
  /^aws:s3\/bucket/, // the bucket and its settings and objects
  /^azure-native:resources:ResourceGroup$/, // deleting it deletes the storage account in it
  /^azure-native:storage:/,
  /^gcp:storage\/bucket/,
  /^gcp:serviceaccount\/account:/, // a deleted account's id stays taken for 30 days
  /^gcp:iam\/workloadIdentityPool/, // same: soft-deleted for 30 days, its id taken
  /^aws:secretsmanager\/(secret|secretVersion):/,
  /^random:/, // passwords, keys and ids: a new one is a new password
  /^aws:ecr\/repository:/, // the images
  /^aws:ec2\/eip:/, // the address clients and the ACME certificate know
  /^aws:cloudwatch\/logGroup:/, // the logs
  /^aws:sns\/topic(Subscription)?:/, // e-mail subscriptions must be confirmed again
  /^aws:kms\//,
];

/**
 * Other resources whose URN may change without an alias (their replacement is harmless), by baseline URN,
 * each with the reason. Keep it empty: an alias costs one line.
 */
const ALLOWED_URN_CHANGES: Record<string, string> = {};

const ownType = (urn: string) => qualifiedTypeOf(urn).split("$").pop() ?? "";
const isStateful = (urn: string) => STATEFUL_TYPES.some((pattern) => pattern.test(ownType(urn)));

/** The baseline URNs no resource of `evaluation` would be matched to by the engine. */
function lostUrns(baseline: string[], evaluation: Evaluation): string[] {
  const entries: Registration[] = evaluation.resources.map(({ urn, parentUrn, aliases }) => ({
    urn,
    parentUrn,
    aliases,
  }));
  const byUrn = new Map(entries.map((e) => [e.urn, e]));
  const old = new Set(baseline);
  const matched = new Set(entries.map((e) => matchesOldUrn(e, old, byUrn)));
  return baseline.filter((urn) => !matched.has(urn));
}

const BASELINE = readUrnBaseline().stacks;

test("the baseline has every shipped stack file, and no other", () => {
  const missing = fileVariants()
    .map((v) => v.id)
    .filter((id) => !(id in BASELINE));
  // A new stack file: add its URNs with `scripts/urn-baseline.ts --only-new` (see this file's header).
  expect(missing).toEqual([]);
  expect(Object.keys(BASELINE).sort()).toEqual(
    fileVariants()
      .map((v) => v.id)
      .sort(),
  );
});

test("the allowlist names only baseline URNs that are not stateful, each with a reason", () => {
  const all = new Set(Object.values(BASELINE).flat());
  for (const [urn, reason] of Object.entries(ALLOWED_URN_CHANGES)) {
    expect({ urn, known: all.has(urn), stateful: isStateful(urn) }).toEqual({
      urn,
      known: true,
      stateful: false,
    });
    expect(reason.length).toBeGreaterThan(10);
  }
});

describe.each(fileVariants().map((v) => [v.id, v] as const))("%s", (id, variant) => {
  let evaluation: Evaluation;
  const baseline = BASELINE[id] ?? [];
  beforeAll(async () => {
    evaluation = await evaluateProgram(variant);
  });

  test("the baseline holds the stateful resources this test is for", () => {
    const types = new Set(baseline.filter(isStateful).map(ownType));
    expect([...types]).toEqual(
      expect.arrayContaining([
        "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "random:index/randomPassword:RandomPassword",
      ]),
    );
  });

  test("every stateful resource keeps its URN, or carries an alias of it", () => {
    expect(lostUrns(baseline.filter(isStateful), evaluation)).toEqual([]);
  });

  test("every other resource too, unless allowlisted (ALLOWED_URN_CHANGES)", () => {
    const lost = lostUrns(
      baseline.filter((urn) => !isStateful(urn)),
      evaluation,
    );
    expect(lost.filter((urn) => !(urn in ALLOWED_URN_CHANGES))).toEqual([]);
  });
});

describe("the offline runtime records URNs and aliases as the engine makes them", () => {
  const program = path.join(ROOT, "tests", "unit", "fixtures", "moved-resource-program.ts");
  const run = (moved?: string) =>
    evaluateProgram({
      stack: "lib",
      config: moved ? { "test:moved": moved } : {},
      program,
      now: EVALUATION_NOW,
    });
  const P = "urn:pulumi:lib::mlflow-platform::";
  const SECRET = "aws:secretsmanager/secret:Secret";
  const urnOf = (ev: Evaluation, name: string) => ev.resources.find((r) => r.name === name);

  test("every ancestor's type in the chain, the stack's left out (the mock monitor keeps only the parent's)", async () => {
    const ev = await run("aliased");
    expect(urnOf(ev, "app-secret")?.urn).toBe(`${P}test:index:App$test:index:Inner$${SECRET}::app-secret`);
    expect(urnOf(ev, "app")?.urn).toBe(`${P}test:index:App::app`);
    expect(urnOf(ev, "app")?.parentUrn).toBe(`${P}pulumi:pulumi:Stack::mlflow-platform-lib`);
  });

  test("alias specs resolved: { parent }, a whole URN, { name, parent: undefined }", async () => {
    const ev = await run("aliased");
    expect(urnOf(ev, "app-secret")?.aliases).toEqual([`${P}test:index:App$${SECRET}::app-secret`]);
    expect(urnOf(ev, "app-topic")?.aliases).toEqual([`${P}test:index:Old$aws:sns/topic:Topic::t`]);
    expect(urnOf(ev, "app-topic-2")?.aliases).toEqual([`${P}aws:sns/topic:Topic::old-topic`]);
  });

  test("a moved resource is lost without its alias, kept with it", async () => {
    const before = (await run()).resources.map((r) => r.urn);
    expect(before).toContain(`${P}test:index:App$${SECRET}::app-secret`);
    const lost = (ev: Evaluation) => lostUrns(before, ev).map((urn) => urn.split("::").pop());
    expect(lost(await run("unaliased"))).toEqual(["app-secret"]);
    expect(lost(await run("aliased"))).toEqual([]);
  });

  test("a child of a parent that matched through an alias matches under the parent's old URN", () => {
    const old = `${P}test:index:Old::old`;
    const parent = { urn: `${P}test:index:New::new`, aliases: [old] };
    const child = { urn: `${P}test:index:New$${SECRET}::new-key`, parentUrn: parent.urn, aliases: [] };
    const byUrn = new Map([parent, child].map((e) => [e.urn, e]));
    const oldChild = `${P}test:index:Old$${SECRET}::old-key`;
    expect(matchesOldUrn(child, new Set([old, oldChild]), byUrn)).toBe(oldChild);
    expect(matchesOldUrn(child, new Set([oldChild]), byUrn)).toBeUndefined();
  });
});
