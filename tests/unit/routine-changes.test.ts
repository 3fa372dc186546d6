// Routine changes can be carried out: each shipped stack is evaluated before and after each routine change
// (MLflow version, PostgreSQL major, instance sizes, allowed CIDRs, container size, storage and artifact
// settings) and every resource is classified as unchanged, updated or replaced from the provider's
// replace-triggering inputs (scripts/replacements.ts). Nothing stateful may be replaced or deleted, every
// resource that is replaced or deleted must be deletable, and no delete may wait on something that stays
// attached to it.
import * as fs from "fs";
import * as path from "path";
import { checkoutCopy } from "../support/checkouts";
import { CapturedResource, EVALUATION_NOW, Evaluation, evaluateProgram } from "../support/mockRuntime";
import { StackVariant, fileVariants } from "../support/variants";
import { STATEFUL_TYPES, classify, isClassified } from "../../scripts/replacements";

type Config = Record<string, string>;
const NS = "mlflow-platform";

const getObject = (c: Config, key: string): Record<string, unknown> => JSON.parse(c[`${NS}:${key}`] ?? "{}");
const setObject = (c: Config, key: string, edit: (o: Record<string, unknown>) => void): Config => {
  const o = getObject(c, key);
  edit(o);
  return { ...c, [`${NS}:${key}`]: JSON.stringify(o) };
};
const computeOf = (c: Config) => String(getObject(c, "server").compute ?? "ec2");
const backendOf = (c: Config) => String(getObject(c, "artifactStore").backend ?? "s3");
const child = (o: Record<string, unknown>, key: string) => (o[key] ??= {}) as Record<string, unknown>;

/** The next size up of an EC2 or RDS instance type: t3.small -> t3.medium, m7i.large -> m7i.xlarge. */
function nextSize(type: string): string {
  const sizes = ["micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge"];
  const [, family, size] = /^(.*\.)([a-z0-9]+)$/.exec(type) ?? [];
  const i = sizes.indexOf(size);
  if (i < 0 || i === sizes.length - 1) throw new Error(`no next size for ${type}`);
  return `${family}${sizes[i + 1]}`;
}

interface RoutineChange {
  what: string;
  applies?: (c: Config) => boolean;
  /** The stack as it is before the change (default: the shipped file). */
  before?: (c: Config) => Config;
  after: (c: Config) => Config;
  /** Edits a copy of the checkout instead of the config (changes that live in server/). */
  checkout?: (dir: string) => void;
}

const ROUTINE_CHANGES: RoutineChange[] = [
  {
    what: "MLflow version (server/requirements.in and its lock)",
    after: (c) =>
      setObject(c, "server", (s) => {
        if (s.mlflowVersion !== undefined) s.mlflowVersion = String(s.mlflowVersion).replace(/\d+$/, "99");
      }),
    checkout: (dir) =>
      ["requirements.in", "requirements.txt"].forEach((f) => {
        const file = path.join(dir, "server", f);
        const text = fs.readFileSync(file, "utf8");
        const bumped = text.replace(
          /^(mlflow(?:-skinny|-tracing)?(?:\[[^\]]*\])?==)(\d+)\.(\d+)\.(\d+)/gm,
          "$1$2.$3.99",
        );
        if (bumped === text) throw new Error(`no mlflow pin in ${file}`);
        fs.writeFileSync(file, bumped);
      }),
  },
  {
    what: "PostgreSQL major version 16 -> 17",
    before: (c) => setObject(c, "database", (d) => (d.engineVersion = "16")),
    after: (c) => setObject(c, "database", (d) => (d.engineVersion = "17")),
  },
  {
    what: "database instance class",
    after: (c) =>
      setObject(
        c,
        "database",
        (d) => (d.instanceClass = nextSize(String(d.instanceClass ?? "db.t4g.micro"))),
      ),
  },
  {
    what: "database storage (allocation and autoscaling ceiling)",
    after: (c) =>
      setObject(c, "database", (d) => {
        d.allocatedStorageGb = Number(d.allocatedStorageGb ?? 20) + 10;
        if (d.maxAllocatedStorageGb !== undefined)
          d.maxAllocatedStorageGb = Number(d.maxAllocatedStorageGb) * 2;
      }),
  },
  {
    what: "EC2 instance type",
    applies: (c) => computeOf(c) === "ec2",
    after: (c) =>
      setObject(c, "server", (s) => (s.instanceType = nextSize(String(s.instanceType ?? "t3.small")))),
  },
  {
    what: "allowed CIDRs",
    after: (c) =>
      setObject(
        c,
        "server",
        (s) => (s.allowedCidrs = [...((s.allowedCidrs as string[]) ?? []), "192.0.2.0/24"]),
      ),
  },
  {
    what: "container size",
    applies: (c) => computeOf(c) === "container",
    after: (c) =>
      setObject(c, "server", (s) => {
        const container = child(s, "container");
        container.cpu = 2048;
        container.memoryMb = 8192;
      }),
  },
  {
    what: "artifact version retention",
    after: (c) =>
      setObject(c, "artifactStore", (a) => {
        a.noncurrentVersionExpirationDays = Number(a.noncurrentVersionExpirationDays ?? 30) + 7;
      }),
  },
  {
    what: "Azure SAS expiry moved",
    applies: (c) => backendOf(c) === "azureBlob",
    after: (c) =>
      setObject(c, "artifactStore", (a) => {
        const azure = child(a, "azureBlob");
        // Relative to the variants' clock, not today's: a date a year ahead of the evaluation.
        azure.sasExpiresOn = `${new Date(EVALUATION_NOW).getUTCFullYear() + 1}-06-30`;
      }),
  },
];

interface Outcome {
  resource: CapturedResource;
  change: "unchanged" | "updated" | "replaced" | "deleted";
  triggers: string[];
}

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

function outcomes(before: Evaluation, after: Evaluation): Outcome[] {
  const next = new Map(after.resources.map((r) => [key(r), r]));
  return before.resources.map((resource) => {
    const now = next.get(key(resource));
    if (!now) return { resource, change: "deleted", triggers: [] };
    // Pulumi keeps the old value of an ignored input, so it changes nothing.
    const ignored = (inputs: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(inputs).filter(([k]) => !now.ignoreChanges.includes(k)));
    const { change, triggers } = classify(resource.type, ignored(resource.inputs), ignored(now.inputs));
    return { resource, change, triggers };
  });
}

/** Why a resource that is replaced or deleted could not be deleted; empty when it can. */
function undeletable(r: CapturedResource): string[] {
  const i = r.inputs;
  const why: string[] = [];
  if (r.protect) why.push("protect: Pulumi refuses to delete it");
  if (r.type === "aws:ec2/instance:Instance" && i.disableApiTermination === true && i.forceDestroy !== true)
    why.push("disableApiTermination without forceDestroy");
  if (r.type === "aws:lb/loadBalancer:LoadBalancer" && i.enableDeletionProtection === true)
    why.push("enableDeletionProtection");
  if (r.type === "aws:rds/instance:Instance" && i.deletionProtection === true) why.push("deletionProtection");
  if (r.type === "aws:ecr/repository:Repository" && i.forceDelete !== true)
    why.push("an ECR repository with images");
  return why;
}

/**
 * Deletes that would wait on something still attached: a replaced RDS parameter group stays attached to the
 * instance until the instance's modification is applied, which without applyImmediately waits for the
 * maintenance window, so deleting the old group fails (unless it is retained instead of deleted).
 */
function blockedDeletes(outcome: Outcome[], after: Evaluation): string[] {
  return outcome
    .filter((o) => o.resource.type === "aws:rds/parameterGroup:ParameterGroup" && o.change !== "unchanged")
    .filter((o) => o.change === "replaced" || o.change === "deleted")
    .filter((o) => !o.resource.retainOnDelete)
    .flatMap((o) => {
      const users = after.resources.filter(
        (r) =>
          r.type === "aws:rds/instance:Instance" && r.inputs.parameterGroupName === o.resource.state.name,
      );
      return users
        .filter((u) => u.inputs.applyImmediately !== true)
        .map(
          (u) =>
            `${o.resource.name} is deleted while still attached to ${u.name} (applyImmediately is not set)`,
        );
    });
}

/** Each stack's "before" is shared by all its changes: evaluated once per distinct config, not per change. */
const baselines = new Map<string, Promise<Evaluation>>();
function baselineOf(variant: StackVariant): Promise<Evaluation> {
  const key = JSON.stringify([variant.stack, variant.config]);
  if (!baselines.has(key)) baselines.set(key, evaluateProgram(variant));
  return baselines.get(key) as Promise<Evaluation>;
}

const cases = fileVariants().flatMap((variant) =>
  ROUTINE_CHANGES.filter((c) => c.applies?.(variant.config) ?? true).map((change) => ({ variant, change })),
);

describe.each(cases.map((c) => [c.variant.id, c.change.what, c] as const))("%s: %s", (_id, _what, c) => {
  let before: Evaluation;
  let after: Evaluation;
  let result: Outcome[];
  beforeAll(async () => {
    const baseline: StackVariant = {
      ...c.variant,
      config: c.change.before?.(c.variant.config) ?? c.variant.config,
    };
    const program = c.change.checkout
      ? path.join(checkoutCopy("routine", c.change.checkout), "index.ts")
      : undefined;
    before = await baselineOf(baseline);
    after = await evaluateProgram({ ...baseline, config: c.change.after(baseline.config), program });
    result = outcomes(before, after);
  });

  test("the change changes something, and every resource type is classified", () => {
    expect(result.some((o) => o.change !== "unchanged")).toBe(true);
    expect([...new Set(after.resources.map((r) => r.type))].filter((t) => !isClassified(t))).toEqual([]);
  });

  test("nothing stateful is replaced or deleted (database, buckets, storage account, secrets)", () => {
    const lost = result
      .filter(
        (o) => STATEFUL_TYPES.has(o.resource.type) && (o.change === "replaced" || o.change === "deleted"),
      )
      .map((o) => `${o.resource.type} ${o.resource.name}: ${o.change} (${o.triggers.join(", ")})`);
    expect(lost).toEqual([]);
  });

  test("every replaced or deleted resource can be deleted", () => {
    const stuck = result
      .filter((o) => o.change === "replaced" || o.change === "deleted")
      .flatMap((o) => undeletable(o.resource).map((why) => `${o.resource.type} ${o.resource.name}: ${why}`));
    expect(stuck).toEqual([]);
  });

  test("no delete waits on something still attached", () => {
    expect(blockedDeletes(result, after)).toEqual([]);
  });
});

/**
 * Inputs that name a resource uniquely in the account and region. Set explicitly, the same name survives a
 * replacement (`pulumi up --replace`, or a replace-triggering input), so the replacement, created before
 * the old one is deleted, collides with it unless the old one is deleted first.
 */
const UNIQUE_NAME_INPUTS: Record<string, string> = { "aws:rds/instance:Instance": "identifier" };

describe.each(fileVariants().map((v) => [v.id, v] as const))("%s: forced replacements", (_id, variant) => {
  test("a resource with an explicit unique name is deleted before its replacement is created", async () => {
    const ev = await baselineOf(variant);
    const colliding = ev.resources
      .filter((r) => r.type in UNIQUE_NAME_INPUTS && r.inputs[UNIQUE_NAME_INPUTS[r.type]] !== undefined)
      .filter((r) => !r.deleteBeforeReplace)
      .map((r) => `${r.type} ${r.name}: ${UNIQUE_NAME_INPUTS[r.type]} is explicit, replaced create-first`);
    expect(colliding).toEqual([]);
  });
});

describe("the classification", () => {
  const instance = (inputs: Record<string, unknown>): CapturedResource =>
    ({ type: "aws:ec2/instance:Instance", name: "s", inputs, protect: false }) as unknown as CapturedResource;

  test("replace-triggering inputs replace, others update, nothing changed is unchanged", () => {
    const t = "aws:rds/instance:Instance";
    expect(
      classify(t, { engine: "postgres", instanceClass: "a" }, { engine: "postgres", instanceClass: "b" })
        .change,
    ).toBe("updated");
    expect(classify(t, { dbName: "a" }, { dbName: "b" })).toMatchObject({
      change: "replaced",
      triggers: ["dbName"],
    });
    expect(classify(t, { dbName: "a" }, { dbName: "a" }).change).toBe("unchanged");
    expect(() => classify("aws:new/thing:Thing", { a: 1 }, { a: 2 })).toThrow(/no replace-triggering inputs/);
  });

  test("EC2 user data replaces only with userDataReplaceOnChange", () => {
    const t = "aws:ec2/instance:Instance";
    expect(classify(t, { userDataBase64: "a" }, { userDataBase64: "b" }).change).toBe("updated");
    expect(
      classify(t, { userDataBase64: "a" }, { userDataBase64: "b", userDataReplaceOnChange: true }).change,
    ).toBe("replaced");
  });

  test("termination protection without forceDestroy, and protect, make a resource undeletable", () => {
    expect(undeletable(instance({ disableApiTermination: true }))).toEqual([
      "disableApiTermination without forceDestroy",
    ]);
    expect(undeletable(instance({ disableApiTermination: true, forceDestroy: true }))).toEqual([]);
    expect(undeletable({ ...instance({}), protect: true })).toEqual(["protect: Pulumi refuses to delete it"]);
  });
});
