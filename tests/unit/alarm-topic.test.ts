// `alarmTopicArn`: an existing SNS topic (a team's pager) instead of one the platform creates.
import { evaluateProgram, readStackFile, stackFile } from "../support/mockRuntime";
import { matrixVariant } from "../support/variants";
import { ofType, single } from "../support/inspect";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:ml-platform-pager";

test.each(["ec2", "container"] as const)(
  "%s: every alarm and database event notifies the given topic; none is created",
  async (compute) => {
    const base = matrixVariant("prod", "s3", compute);
    const { "mlflow-platform:alarmEmails": _emails, ...config } = base.config;
    const ev = await evaluateProgram({
      ...base,
      config: { ...config, "mlflow-platform:alarmTopicArn": TOPIC },
    });
    expect(ofType(ev, "aws:sns/topic:Topic")).toHaveLength(0);
    expect(ofType(ev, "aws:sns/topicSubscription:TopicSubscription")).toHaveLength(0);
    const alarms = ofType(ev, "aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(alarms.length).toBeGreaterThanOrEqual(4);
    for (const alarm of alarms) expect(alarm.inputs.alarmActions).toContain(TOPIC);
    expect(single(ev, "aws:rds/eventSubscription:EventSubscription").inputs.snsTopic).toBe(TOPIC);
    expect(ev.outputs.alarmTopicArn.value).toBe(TOPIC);
  },
);

test("alarm emails subscribe to the given topic too", async () => {
  const { config, secretKeys } = readStackFile(stackFile("dev"));
  const ev = await evaluateProgram({
    stack: "dev",
    secretKeys,
    config: {
      ...config,
      "mlflow-platform:alarmTopicArn": TOPIC,
      "mlflow-platform:alarmEmails": JSON.stringify(["oncall@example.com"]),
    },
  });
  expect(ofType(ev, "aws:sns/topic:Topic")).toHaveLength(0);
  expect(single(ev, "aws:sns/topicSubscription:TopicSubscription").inputs).toEqual({
    topic: TOPIC,
    protocol: "email",
    endpoint: "oncall@example.com",
  });
});

test("the shipped protected stacks name recipients (placeholders to replace)", () => {
  for (const file of [
    stackFile("prod"),
    stackFile("container-prod").replace(/Pulumi\.container-prod/, "examples/Pulumi.container-prod"),
    stackFile("gcs-prod").replace(/Pulumi\.gcs-prod/, "examples/Pulumi.gcs-prod"),
  ]) {
    const { config } = readStackFile(file);
    expect([file, config["mlflow-platform:protect"]]).toEqual([file, "true"]);
    const emails = JSON.parse(config["mlflow-platform:alarmEmails"] ?? "[]") as string[];
    expect(emails.length).toBeGreaterThan(0);
    for (const email of emails) expect(email).toMatch(/^replace-me.*@example\.com$/);
  }
});
