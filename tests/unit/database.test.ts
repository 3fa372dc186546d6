// The metadata database across its lifetime: a PostgreSQL major upgrade on a protected stack, storage
// autoscaling and its alarms, and the PostgreSQL log group RDS would otherwise create without a retention.
import { Evaluation, evaluateProgram, readStackFile, stackFile } from "../support/mockRuntime";
import { single } from "../support/inspect";
import {
  MAINTENANCE_WINDOW,
  freeStorageAlarm,
  queuedChanges,
  rdsIdentifier,
} from "../../components/metadataDatabase";
import { DEFAULTS } from "../../stacks/config";

const GIB = 1024 ** 3;
const stackConfig = (stack: string) => readStackFile(stackFile(stack));

/** A shipped stack with some of its database settings changed. */
function withDatabase(stack: string, change: Record<string, unknown>) {
  const { config, secretKeys } = stackConfig(stack);
  const database = JSON.parse(config["mlflow-platform:database"] ?? "{}");
  return {
    stack,
    secretKeys,
    config: { ...config, "mlflow-platform:database": JSON.stringify({ ...database, ...change }) },
  };
}

const evaluations: Record<string, Evaluation> = {};
beforeAll(async () => {
  for (const stack of ["dev", "prod"]) {
    evaluations[stack] = await evaluateProgram({ stack, ...stackConfig(stack) });
  }
});

describe("PostgreSQL major upgrade (engineVersion)", () => {
  test("protected: the parameter group is retained, so deleting the still-attached old one cannot fail the up", async () => {
    // The new family replaces the group; prod defers the instance change to the maintenance window.
    const before = single(evaluations.prod, "aws:rds/parameterGroup:ParameterGroup");
    const after = single(
      await evaluateProgram(withDatabase("prod", { engineVersion: "16" })),
      "aws:rds/parameterGroup:ParameterGroup",
    );
    expect([before.inputs.family, after.inputs.family]).toEqual(["postgres17", "postgres16"]);
    expect(single(evaluations.prod, "aws:rds/instance:Instance").inputs.applyImmediately).toBe(false);
    expect(before.retainOnDelete).toBe(true);
    expect(after.retainOnDelete).toBe(true);
  });

  test("unprotected: the upgrade applies at once, so the old group is detached and deleted", () => {
    const db = single(evaluations.dev, "aws:rds/instance:Instance");
    expect(db.inputs.applyImmediately).toBe(true);
    expect(single(evaluations.dev, "aws:rds/parameterGroup:ParameterGroup").retainOnDelete).toBe(false);
  });
});

describe("storage autoscaling and its alarms", () => {
  test("with autoscaling the free-storage alarm stays below the 10% trigger of any allocation it can grow to", () => {
    for (const allocated of [20, 100, 1000]) {
      const { thresholdBytes } = freeStorageAlarm({
        ...DEFAULTS.database,
        allocatedStorageGb: allocated,
        maxAllocatedStorageGb: allocated * 10,
      });
      // Allocations only grow: the trigger is at least 10% of the initial one.
      expect(thresholdBytes).toBeLessThan(allocated * GIB * 0.1);
      expect(thresholdBytes).toBeGreaterThan(0);
    }
  });

  test("without autoscaling (ceiling = allocation) it alarms at 10% of the fixed allocation", async () => {
    const ev = await evaluateProgram(
      withDatabase("dev", { allocatedStorageGb: 50, maxAllocatedStorageGb: 50 }),
    );
    expect(single(ev, "aws:rds/instance:Instance").inputs.maxAllocatedStorage).toBe(0);
    const alarm = ev.resources.find(
      (r) =>
        r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.metricName === "FreeStorageSpace",
    )!;
    expect(alarm.inputs.threshold).toBe(50 * GIB * 0.1);
    expect(alarm.inputs.alarmDescription).toMatch(/autoscaling is off/);
  });

  test.each(["dev", "prod"])(
    "%s: RDS's low-storage events (nearing the ceiling) reach the alarm topic",
    (stack) => {
      const ev = evaluations[stack];
      const db = single(ev, "aws:rds/instance:Instance");
      const events = single(ev, "aws:rds/eventSubscription:EventSubscription");
      expect(events.inputs).toMatchObject({
        snsTopic: ev.outputs.alarmTopicArn.value,
        sourceType: "db-instance",
        sourceIds: [db.state.identifier],
        eventCategories: ["low storage"],
      });
    },
  );
});

describe("the PostgreSQL log group", () => {
  test.each(["dev", "prod"])(
    "%s: created with a retention before the instance, under the name RDS exports to",
    (stack) => {
      const ev = evaluations[stack];
      const db = single(ev, "aws:rds/instance:Instance");
      expect(db.inputs.enabledCloudwatchLogsExports).toEqual(["postgresql"]);
      // An explicit identifier, so the name is known before the instance exists.
      expect(db.inputs.identifier).toMatch(new RegExp(`^mlflow-${stack}-db-[0-9a-f]{8}$`));
      expect(db.state.identifier).toBe(db.inputs.identifier);
      const group = single(ev, "aws:cloudwatch/logGroup:LogGroup", `mlflow-${stack}-db-postgresql`);
      expect(group.inputs.name).toBe(`/aws/rds/instance/${db.inputs.identifier}/postgresql`);
      expect(group.inputs.retentionInDays).toBe(DEFAULTS.server.logRetentionDays);
      expect(db.dependsOn).toContainEqual({ type: group.type, name: group.name });
      // Kept with a protected stack's database; deleted with a dev stack.
      expect(group.retainOnDelete).toBe(stack === "prod");
    },
  );

  test("databases created with an autonamed identifier keep it: no replacement", () => {
    for (const stack of ["dev", "prod"]) {
      expect(single(evaluations[stack], "aws:rds/instance:Instance").ignoreChanges).toContain("identifier");
    }
  });

  test("server.logRetentionDays sets the retention", async () => {
    const { config, secretKeys } = stackConfig("dev");
    const server = JSON.parse(config["mlflow-platform:server"]);
    const ev = await evaluateProgram({
      stack: "dev",
      secretKeys,
      config: { ...config, "mlflow-platform:server": JSON.stringify({ ...server, logRetentionDays: 7 }) },
    });
    expect(single(ev, "aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays).toBe(7);
  });

  test("identifiers are valid RDS identifiers for any component name", () => {
    expect(rdsIdentifier("mlflow-prod", "0a1b2c3d")).toBe("mlflow-prod-db-0a1b2c3d");
    const long = rdsIdentifier(`mlflow-${"x".repeat(80)}`, "0a1b2c3d");
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$/);
    expect(rdsIdentifier("1_Odd--Name", "ff")).toBe("odd-name-db-ff");
  });
});

describe("changes a protected database queues for the maintenance window", () => {
  const wanted = {
    instanceClass: "db.m7g.xlarge",
    engineVersion: "17",
    allocatedStorageGb: 150,
    maxAllocatedStorageGb: 1000,
    backupRetentionDays: 30,
    multiAz: true,
  };
  const running = {
    instanceClass: "db.m7g.xlarge",
    engineVersionActual: "17.4",
    allocatedStorage: 150,
    backupRetentionPeriod: 30,
    multiAz: true,
  };

  test("protected stacks keep the window; unprotected ones apply at once", () => {
    const prod = single(evaluations.prod, "aws:rds/instance:Instance").inputs;
    expect(prod).toMatchObject({ applyImmediately: false, maintenanceWindow: MAINTENANCE_WINDOW });
    expect(single(evaluations.dev, "aws:rds/instance:Instance").inputs.applyImmediately).toBe(true);
  });

  test("nothing is reported when the instance runs what the config asks for (minor version, grown storage)", () => {
    expect(queuedChanges(wanted, running)).toEqual([]);
    // Storage autoscaling grew the disk past the configured allocation: not a queued change.
    expect(queuedChanges(wanted, { ...running, allocatedStorage: 300 })).toEqual([]);
  });

  test("what the provider read back differs from the config: each queued change, with what runs now", () => {
    const queued = queuedChanges(wanted, {
      instanceClass: "db.m7g.large",
      engineVersionActual: "16.8",
      allocatedStorage: 100,
      backupRetentionPeriod: 7,
      multiAz: false,
    });
    expect(queued).toEqual([
      'database.instanceClass "db.m7g.xlarge" (running: "db.m7g.large")',
      'database.engineVersion "17" (running: "16")',
      "database.allocatedStorageGb 150 (running: 100)",
      "database.backupRetentionDays 30 (running: 7)",
      "database.multiAz true (running: false)",
    ]);
  });
});
