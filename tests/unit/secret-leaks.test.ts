// No secret leaks, in any stack variant: every mocked generator and mocked key returns a SECRETMARKER value;
// no such value may appear in a plain resource input (user data, tags, task definitions, policies, ...) or
// in a non-secret output. Secret inputs are allowed to carry them: that is where they belong.
import { Evaluation, evaluateProgram } from "../support/mockRuntime";
import { cloudInitFiles, plainStrings, userDataOf } from "../support/inspect";
import { StackVariant, fileVariants, matrixVariants, tlsVariants } from "../support/variants";

const MARKER = /SECRETMARKER/;
const ADMIN_PASSWORD = "SECRETMARKERconfigadminpassword";

function withConfiguredPassword(variant: StackVariant): StackVariant {
  return {
    ...variant,
    id: `${variant.id} +adminPassword`,
    config: { ...variant.config, "mlflow-platform:adminPassword": ADMIN_PASSWORD },
    secretKeys: [...variant.secretKeys, "mlflow-platform:adminPassword"],
  };
}

const variants = [...fileVariants(), ...matrixVariants(), ...tlsVariants()];
variants.push(withConfiguredPassword(variants[0]));

/** Plain strings of a resource's inputs, with gzip-encoded cloud-init files opened up. */
function plainInputs(r: Evaluation["resources"][number]): { path: string; value: string }[] {
  const found = plainStrings(r.wrappedInputs);
  if (r.type === "aws:ec2/instance:Instance") {
    // Gzipped user data hides its text from a plain search: open it up.
    const userData = userDataOf(r);
    expect(userData.startsWith("#cloud-config")).toBe(true);
    found.push({ path: "userData", value: userData });
    for (const [file, content] of Object.entries(cloudInitFiles(userData)))
      found.push({ path: `userData:${file}`, value: content });
  }
  return found;
}

describe.each(variants.map((v) => [v.id, v] as const))("%s", (_id, variant) => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await evaluateProgram(variant);
  });

  test("secret values exist, and only inside secret inputs", () => {
    const secretCarrying = ev.resources.filter((r) => MARKER.test(JSON.stringify(r.wrappedInputs)));
    // The test can fail: markers are really there (database password, auth secrets, ...).
    expect(secretCarrying.length).toBeGreaterThan(0);
    const leaks = ev.resources.flatMap((r) =>
      plainInputs(r)
        .filter((s) => MARKER.test(s.value))
        .map((s) => `${r.type} ${r.name} ${s.path}`),
    );
    expect(leaks).toEqual([]);
  });

  test("no secret in a non-secret output; clientEnv is secret", () => {
    for (const [name, output] of Object.entries(ev.outputs)) {
      if (!output.secret) expect(`${name}=${JSON.stringify(output.value)}`).not.toMatch(MARKER);
    }
    expect(ev.outputs.clientEnv.secret).toBe(true);
    expect(String(ev.outputs.clientEnv.value)).toMatch(MARKER);
  });

  test("no secret in tags", () => {
    for (const r of ev.resources) {
      expect(JSON.stringify(r.inputs.tags ?? {})).not.toMatch(MARKER);
    }
  });
});
