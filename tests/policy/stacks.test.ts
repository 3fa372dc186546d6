// The whole pack over every stack variant the program supports, evaluated offline under Pulumi mocks:
// the program must satisfy its own security rules with zero violations.
import { allPolicies } from "../../policy/rules";
import { evaluateProgram } from "../support/mockRuntime";
import { fileVariants, matrixVariant, matrixVariants, StackVariant } from "../support/variants";
import { fromHarness, mandatory, policyNames, runPolicies } from "./support";

const variants: StackVariant[] = [...fileVariants(), ...matrixVariants()];

describe.each(variants.map((v) => [v.id, v] as const))("policy pack on %s", (_id, variant) => {
  it("reports no violation", async () => {
    const evaluation = await evaluateProgram(variant);
    const resources = fromHarness(evaluation.resources.filter((r) => r.custom));
    expect(resources.length).toBeGreaterThan(0);
    const violations = mandatory(await runPolicies(allPolicies, resources, { stack: variant.stack }));
    expect(violations.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
  });
});

it("is not vacuous: the same captured stack with broken resources is refused", async () => {
  const variant = matrixVariant("dev", "s3", "ec2");
  const evaluation = await evaluateProgram(variant);
  const resources = fromHarness(evaluation.resources.filter((r) => r.custom))
    .filter((r) => r.type !== "aws:s3/bucketVersioning:BucketVersioning")
    .map((r) =>
      r.type === "aws:ec2/securityGroup:SecurityGroup" &&
      Array.isArray(r.props.ingress) &&
      r.props.ingress.length > 0
        ? {
            ...r,
            props: {
              ...r.props,
              ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
            },
          }
        : r.type === "aws:ec2/instance:Instance"
          ? { ...r, props: { ...r.props, metadataOptions: { httpTokens: "optional" } } }
          : r,
    );
  const violations = await runPolicies(allPolicies, resources, { stack: "prod" });
  expect(policyNames(violations)).toEqual([
    "ec2-imdsv2-required",
    "rds-prod-deletion-protection",
    "s3-bucket-has-versioning",
    "sg-no-world-admin-ports",
    "sg-world-only-http-https",
  ]);
});
