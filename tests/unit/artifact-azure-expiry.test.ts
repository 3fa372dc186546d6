/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read untyped mocked inputs. */
// The Azure SAS expiry is never a surprise: config keeps it after today and at most two years ahead, warns
// (and lets the deploy run) within 30 days of it, and a one-time schedule reminds the alarm topic 30 days
// before it. Tag names Azure rejects are config errors. Every date here is relative to a fixed clock.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadSettings } from "../../stacks/config";
import { EVALUATION_NOW, Evaluation, evaluateProgram } from "../support/mockRuntime";
import { ofType, single } from "../support/inspect";
import { StackVariant, fileVariants, matrixVariants } from "../support/variants";
import { sasReminderTime } from "../../components/artifact-backends/azureBlob";

const NS = "mlflow-platform";
const DAY = 86_400_000;
const NOW = new Date(EVALUATION_NOW);
const isoDate = (t: number) => new Date(t).toISOString().slice(0, 10);
const inDays = (days: number) => isoDate(NOW.getTime() + days * DAY);

function azureConfig(azureBlob: Record<string, unknown>, extra: Record<string, string> = {}) {
  return {
    [`${NS}:artifactStore`]: JSON.stringify({
      backend: "azureBlob",
      azureBlob: { location: "westeurope", ...azureBlob },
    }),
    ...extra,
  };
}
const load = (config: Record<string, string>) => loadSettings(config, NS, "dev", NOW);

describe("sasExpiresOn", () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
  });
  afterEach(() => warn.mockRestore());

  test.each([
    ["yesterday (expired)", inDays(-1)],
    ["today (expired since midnight)", inDays(0)],
    ["two years and a day ahead", `${NOW.getUTCFullYear() + 2}-12-02`],
    ["in ten years", inDays(3650)],
    ["2099-12-31", "2099-12-31"],
  ])("%s is refused, naming the key, the value and what is allowed", (_name, date) => {
    const error = (() => {
      try {
        load(azureConfig({ sasExpiresOn: date }));
      } catch (e) {
        return e as Error;
      }
      throw new Error("accepted");
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${NS}:artifactStore.azureBlob.sasExpiresOn: got "${date}"`);
    expect(error.message).toMatch(/after today and at most 2 years from today/);
  });

  test.each([
    ["tomorrow", inDays(1), 1],
    ["in 30 days", inDays(30), 30],
  ])(
    "%s is accepted with a warning: an emergency deploy is not blocked by a due rotation",
    (_n, date, days) => {
      expect(load(azureConfig({ sasExpiresOn: date })).artifactStore.azureBlob?.sasExpiresOn).toBe(date);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toContain(
        `${NS}:artifactStore.azureBlob.sasExpiresOn: the server's Azure SAS expires on ${date} (in ${days} days)`,
      );
    },
  );

  test.each([
    ["in 32 days", inDays(32)],
    ["in 700 days", inDays(700)],
    ["exactly two years ahead", `${NOW.getUTCFullYear() + 2}-12-01`],
  ])("%s is accepted without a warning", (_name, date) => {
    expect(load(azureConfig({ sasExpiresOn: date })).artifactStore.azureBlob?.sasExpiresOn).toBe(date);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe("tags on an Azure stack", () => {
  test.each(["cost/center", "a&b", "50%", "why?", "x<y", "back\\slash"])("tag name %s is refused", (tag) => {
    expect(() => load(azureConfig({}, { [`${NS}:tags`]: JSON.stringify({ [tag]: "v" }) }))).toThrow(
      new RegExp(`${NS}:tags\\.${tag.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}: got a tag name Azure rejects`),
    );
  });
  test("the same names stay allowed on S3 stacks (AWS allows /)", () => {
    expect(load({ [`${NS}:tags`]: JSON.stringify({ "cost/center": "v" }) }).tags).toEqual({
      "cost/center": "v",
    });
  });
});

test("the reminder is due 30 days before the expiry, in Scheduler's at() format", () => {
  expect(sasReminderTime("2028-06-30T00:00:00Z")).toBe("2028-05-31T00:00:00");
});

const variants: StackVariant[] = [
  ...matrixVariants({ backend: "azureBlob" }),
  ...fileVariants().filter((v) => v.id === "examples/Pulumi.azure-dev.yaml"),
];

describe.each(variants.map((v) => [v.id, v] as const))("%s", (_id, variant) => {
  let e: Evaluation;
  beforeAll(async () => {
    e = await evaluateProgram(variant);
  }, 120_000);

  test("the account's SAS policy logs any SAS valid longer than the server's (start to expiry)", () => {
    const account = single(e, "azure-native:storage:StorageAccount").inputs as Record<string, any>;
    expect(account.sasPolicy.expirationAction).toBe("Log");
    const sas = e.calls.find((c) => c.token === "azure-native:storage:listStorageAccountServiceSAS")!;
    const lifetimeDays =
      (Date.parse(String(sas.inputs.sharedAccessExpiryTime)) -
        Date.parse(String(sas.inputs.sharedAccessStartTime))) /
      DAY;
    const [days, time] = String(account.sasPolicy.sasExpirationPeriod).split(".");
    expect(time).toBe("00:00:00");
    expect(Number(days)).toBeGreaterThanOrEqual(lifetimeDays);
  });

  test("a one-time schedule publishes to the alarm topic 30 days before the SAS expires", () => {
    const sas = e.calls.find((c) => c.token === "azure-native:storage:listStorageAccountServiceSAS")!;
    const expiry = String(sas.inputs.sharedAccessExpiryTime);
    const reminders = ofType(e, "aws:scheduler/schedule:Schedule").filter((s) =>
      s.name.endsWith("-sas-reminder"),
    );
    expect(reminders).toHaveLength(1);
    const schedule = reminders[0];
    expect(schedule.inputs.scheduleExpression).toBe(`at(${sasReminderTime(expiry)})`);
    expect(Date.parse(`${sasReminderTime(expiry)}Z`)).toBeGreaterThan(Date.parse(variant.now));
    const target = schedule.inputs.target as Record<string, string>;
    const topic = single(e, "aws:sns/topic:Topic");
    expect(target.arn).toBe(topic.state.arn);
    expect(target.input).toContain(expiry.slice(0, 10));
    const role = ofType(e, "aws:iam/role:Role").find((r) => r.state.arn === target.roleArn)!;
    expect(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Principal).toEqual({
      Service: "scheduler.amazonaws.com",
    });
    const policy = ofType(e, "aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.state.name)!;
    expect(JSON.parse(String(policy.inputs.policy)).Statement).toEqual([
      { Effect: "Allow", Action: "sns:Publish", Resource: topic.state.arn },
    ]);
  });
});

describe("examples/Pulumi.azure-dev.yaml near and after its sasExpiresOn", () => {
  const example = fileVariants().find((v) => v.id === "examples/Pulumi.azure-dev.yaml")!;
  const expiresOn = JSON.parse(example.config[`${NS}:artifactStore`]).azureBlob.sasExpiresOn as string;
  const at = (days: number) => ({
    ...example,
    now: new Date(Date.parse(expiresOn) + days * DAY).toISOString(),
  });

  test("15 days before: the program runs; the reminder, already due, is not scheduled in the past", async () => {
    const e = await evaluateProgram(at(-15));
    expect(
      ofType(e, "aws:scheduler/schedule:Schedule").filter((s) => s.name.endsWith("-sas-reminder")),
    ).toEqual([]);
    expect(e.calls.some((c) => c.token === "azure-native:storage:listStorageAccountServiceSAS")).toBe(true);
  }, 120_000);

  test("on the day: refused", async () => {
    await expect(evaluateProgram(at(0))).rejects.toThrow(
      `${NS}:artifactStore.azureBlob.sasExpiresOn: got "${expiresOn}"`,
    );
  }, 120_000);
});
