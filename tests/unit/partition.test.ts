// GovCloud and China regions are accepted by the config, and their ARNs start with `arn:aws-us-gov:` and
// `arn:aws-cn:`: no resource input may carry a hard-coded `arn:aws:`. The mock derives the partition from
// `aws:region`, as the provider does.
import { Evaluation, evaluateProgram } from "../support/mockRuntime";
import { BACKENDS, COMPUTE_MODES, StackVariant, matrixVariant } from "../support/variants";
import { single } from "../support/inspect";

const GOV_REGION = "us-gov-west-1";

/** Every string inside `value` that holds an ARN of the commercial partition, with where it was found. */
function commercialArns(value: unknown, at: string, found: string[] = []): string[] {
  if (typeof value === "string") {
    if (/arn:aws:/.test(value)) found.push(`${at}: ${value.slice(0, 160)}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => commercialArns(v, `${at}[${i}]`, found));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) commercialArns(v, `${at}.${k}`, found);
  }
  return found;
}

const inGovCloud = (v: StackVariant): StackVariant => ({
  ...v,
  id: `${v.id} in ${GOV_REGION}`,
  config: { ...v.config, "aws:region": GOV_REGION },
});

// gcs: components/artifact-backends/gcs.ts builds its own assumed-role ARN (fixed separately).
const variants = COMPUTE_MODES.flatMap((compute) =>
  BACKENDS.filter((b) => b !== "gcs").map((backend) => inGovCloud(matrixVariant("prod", backend, compute))),
);

describe.each(variants.map((v) => [v.id, v] as const))("%s", (_id, variant) => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await evaluateProgram(variant);
  });

  test("no input holds an arn:aws: ARN", () => {
    const found = ev.resources.flatMap((r) => commercialArns(r.inputs, `${r.type} ${r.name}`));
    expect(found).toEqual([]);
  });
});

test("EC2: AWS-managed ARNs (SSM policy, alarm automate actions) are built in the partition", async () => {
  const ev = await evaluateProgram(inGovCloud(matrixVariant("prod", "s3", "ec2")));
  expect(ev.calls.map((c) => c.token)).toContain("aws:index/getPartition:getPartition");
  const attachment = single(ev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
  expect(attachment.inputs.policyArn).toBe("arn:aws-us-gov:iam::aws:policy/AmazonSSMManagedInstanceCore");
  const actions = ev.resources
    .filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.namespace === "AWS/EC2")
    .map((r) => (r.inputs.alarmActions as string[])[0])
    .sort();
  expect(actions).toEqual([
    `arn:aws-us-gov:automate:${GOV_REGION}:ec2:reboot`,
    `arn:aws-us-gov:automate:${GOV_REGION}:ec2:recover`,
  ]);
});
