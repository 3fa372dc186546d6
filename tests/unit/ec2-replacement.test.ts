// Over every stack variant: an EC2 server the program replaces (user data change) can be deleted by the
// provider. Termination protection without forceDestroy makes the delete of the old instance fail, so the
// first server/ change (an MLflow upgrade) of a protected stack could never be deployed.
import { evaluateProgram } from "../support/mockRuntime";
import { ofType } from "../support/inspect";
import { fileVariants, matrixVariants } from "../support/variants";

const variants = [...fileVariants(), ...matrixVariants()];
const protectedReplaced: string[] = [];

describe.each(variants.map((v) => [v.id, v] as const))("%s", (_id, variant) => {
  test("an instance replaced on user data change and protected from termination has forceDestroy", async () => {
    const ev = await evaluateProgram(variant);
    for (const instance of ofType(ev, "aws:ec2/instance:Instance")) {
      const { userDataReplaceOnChange, disableApiTermination, forceDestroy } = instance.inputs;
      if (userDataReplaceOnChange === true && disableApiTermination === true) {
        protectedReplaced.push(`${variant.id} ${instance.name}`);
        expect({ instance: instance.name, forceDestroy }).toEqual({
          instance: instance.name,
          forceDestroy: true,
        });
      }
    }
  });
});

test("the check above saw protected, replaceable instances (prod EC2 variants)", () => {
  expect(protectedReplaced.length).toBeGreaterThanOrEqual(4);
  expect(protectedReplaced.some((id) => id.startsWith("Pulumi.prod.yaml"))).toBe(true);
});
