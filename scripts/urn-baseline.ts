// `node -r ./scripts/ts-register.js scripts/urn-baseline.ts`: writes the URN baseline that
// tests/unit/urn-stability.test.ts holds every later program to: the URN of every resource of every shipped
// stack file (Pulumi.dev.yaml, Pulumi.prod.yaml, examples/Pulumi.*.yaml), evaluated offline. A URN is a
// resource's identity in a stack's state: one that changes without an alias makes `pulumi up` delete the old
// resource and create a new one (a new database, an empty bucket, a new secret).
//
// Run it only on purpose, at a commit whose URNs are what deployed stacks have (never to make the test pass
// after a change): the test then checks the change against the URNs it replaces. `--only-new` adds the stack
// files the baseline does not have yet (a new example) and keeps every other stack's URNs as they are;
// `--check` prints what the baseline would become without writing it.
import * as fs from "fs";
import * as path from "path";
import { ROOT, evaluateInProcess } from "./offline/evaluate";
import { fileVariants } from "./offline/stackFiles";

export const URN_BASELINE = path.join(ROOT, "tests", "unit", "fixtures", "urn-baseline.json");

export interface UrnBaseline {
  /** How the file was made (for a reader; the test ignores it). */
  comment: string;
  /** The sorted URNs of each shipped stack file, by its path in the repository. */
  stacks: Record<string, string[]>;
}

/** The URNs of every shipped stack file as the program registers them now. */
export async function currentUrns(): Promise<Record<string, string[]>> {
  const stacks: Record<string, string[]> = {};
  for (const variant of fileVariants()) {
    const evaluation = await evaluateInProcess(variant);
    stacks[variant.id] = evaluation.resources.map((r) => r.urn).sort();
  }
  return stacks;
}

export function readUrnBaseline(): UrnBaseline {
  return JSON.parse(fs.readFileSync(URN_BASELINE, "utf8")) as UrnBaseline;
}

async function main(): Promise<void> {
  const current = await currentUrns();
  const kept = process.argv.includes("--only-new") ? readUrnBaseline().stacks : {};
  const stacks = { ...current, ...kept };
  const baseline: UrnBaseline = {
    comment:
      "Written by scripts/urn-baseline.ts, on purpose only; checked by tests/unit/urn-stability.test.ts.",
    stacks: Object.fromEntries(
      Object.keys(stacks)
        .sort()
        .map((id) => [id, stacks[id]]),
    ),
  };
  const text = `${JSON.stringify(baseline, null, 2)}\n`;
  if (process.argv.includes("--check")) {
    process.stdout.write(text);
    return;
  }
  fs.writeFileSync(URN_BASELINE, text);
  const count = Object.values(baseline.stacks).reduce((n, urns) => n + urns.length, 0);
  console.log(
    `${path.relative(ROOT, URN_BASELINE)}: ${count} URNs of ${Object.keys(baseline.stacks).length} stacks`,
  );
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
