// The Azure container SAS depends only on the config and key1, never on the clock of the machine running
// `pulumi up`: the mock signs like ARM (st=<now> when no start is given), the program is evaluated at two
// different times, and the stored connection string must be the same.
import { evaluateInProcess } from "../support/mockRuntime";
import { storedSecret } from "../support/inspect";
import { StackVariant, fileVariants, matrixVariants } from "../support/variants";
import { SAS_LIFETIME_YEARS, sasWindow } from "../../components/artifact-backends/azureBlob";

jest.setTimeout(120_000);

const variants: StackVariant[] = [
  matrixVariants({ backend: "azureBlob", env: "dev", compute: "ec2" })[0],
  ...fileVariants().filter((v) => v.id === "examples/Pulumi.azure-dev.yaml"),
];

/** The stored connection string of the program evaluated at `now` (the program's clock, EvaluateOptions). */
async function connectionStringAt(variant: StackVariant, now: string): Promise<string | undefined> {
  return storedSecret(await evaluateInProcess({ ...variant, now }), "-azure-blob").value;
}

test.each(variants.map((v) => [v.id, v] as const))(
  "%s: two `pulumi up`s hours apart store the same SAS",
  async (_id, variant) => {
    const first = await connectionStringAt(variant, "2026-12-01T21:00:00.000Z");
    const second = await connectionStringAt(variant, "2026-12-02T09:30:15.123Z");
    expect(second).toBe(first);
    expect(first).toMatch(/&st=\d{4}-\d{2}-\d{2}T00:00:00Z&/);
  },
);

test("the window: start two years before the expiry, never after today, whatever the day", () => {
  expect(sasWindow("2028-06-30")).toEqual({ start: "2026-06-30T00:00:00Z", expiry: "2028-06-30T00:00:00Z" });
  for (const day of ["2027-01-01T00:00:00Z", "2027-06-15T12:00:00Z", "2028-12-31T23:59:59Z"]) {
    const now = new Date(day);
    const { start, expiry } = sasWindow(undefined, now);
    expect(Date.parse(start)).toBeLessThanOrEqual(now.getTime());
    expect(new Date(expiry).getUTCFullYear() - new Date(start).getUTCFullYear()).toBe(SAS_LIFETIME_YEARS);
  }
});
