// `npm run plan -- --stack dev`: evaluates the real program for a stack's config with no cloud calls (the
// mock runtime the tests use) and prints what `pulumi up` would create. Secrets are masked.
import * as fs from "fs";
import * as path from "path";
import { CapturedResource, evaluateProgram, readStackFile, stackFile } from "../tests/support/mockRuntime";

const SHOWN_INPUTS = [
  "instanceType",
  "instanceClass",
  "engine",
  "engineVersion",
  "allocatedStorage",
  "multiAz",
  "publiclyAccessible",
  "storageEncrypted",
  "deletionProtection",
  "backupRetentionPeriod",
  "cidrBlock",
  "availabilityZone",
  "versioningConfiguration",
  "ingress",
  "metadataOptions",
  "rootBlockDevice",
  "desiredCount",
  "cpu",
  "memory",
  "location",
  "kind",
  "sku",
  "minimumTlsVersion",
  "allowBlobPublicAccess",
  "uniformBucketLevelAccess",
  "publicAccessPrevention",
  "protocol",
  "port",
  "sslPolicy",
  "minCapacity",
  "maxCapacity",
  "role",
];

function parseArgs(argv: string[]): { stack: string; file?: string; json: boolean } {
  let stack = "dev";
  let file: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" || argv[i] === "-s") stack = argv[++i];
    else if (argv[i] === "--config-file") file = argv[++i];
    else if (argv[i] === "--json") json = true;
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: npm run plan -- --stack <name> [--config-file <Pulumi.x.yaml>] [--json]`,
      );
  }
  return { stack, file, json };
}

function summarize(inputs: Record<string, unknown>): string {
  const parts = SHOWN_INPUTS.filter((k) => inputs[k] !== undefined).map(
    (k) => `${k}=${JSON.stringify(inputs[k])}`,
  );
  return parts.join(" ");
}

function mask(value: unknown, secret: boolean): string {
  return secret ? "[secret]" : typeof value === "string" ? value : JSON.stringify(value);
}

async function main(): Promise<void> {
  const { stack, file, json } = parseArgs(process.argv.slice(2));
  const source = file ? path.resolve(file) : stackFile(stack);
  if (!fs.existsSync(source)) {
    throw new Error(
      `no stack file ${path.relative(process.cwd(), source)}; shipped stacks: dev, prod (or pass --config-file)`,
    );
  }
  const { config, secretKeys } = readStackFile(source);
  const evaluation = await evaluateProgram({ stack, config, secretKeys });
  // The stack resource itself is implicit in `pulumi up`'s plan; its children are what it creates.
  const resources = evaluation.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          stack,
          resources: evaluation.resources.map(({ type, name, parent }) => ({ type, name, parent })),
          outputs: Object.fromEntries(
            Object.entries(evaluation.outputs).map(([k, o]) => [k, mask(o.value, o.secret)]),
          ),
        },
        null,
        2,
      ) + "\n",
    );
    return;
  }
  console.log(`Plan for stack "${stack}" (offline: no cloud calls, computed values are mock stand-ins)\n`);
  const children = new Map<string, CapturedResource[]>();
  for (const r of resources) {
    const parentKey = r.parent ? `${r.parent.type}::${r.parent.name}` : "";
    children.set(parentKey, [...(children.get(parentKey) ?? []), r]);
  }
  const print = (parentKey: string, depth: number) => {
    for (const r of children.get(parentKey) ?? []) {
      const flags = [r.protect ? "protected" : "", r.retainOnDelete ? "retained" : ""]
        .filter(Boolean)
        .join(",");
      const line = `${"  ".repeat(depth)}+ ${r.type}  ${r.name}${flags ? `  [${flags}]` : ""}`;
      const details = r.custom ? summarize(r.inputs) : "";
      console.log(details ? `${line}\n${"  ".repeat(depth + 2)}${details}` : line);
      print(`${r.type}::${r.name}`, depth + 1);
    }
  };
  print("", 0);
  const custom = resources.filter((r) => r.custom).length;
  console.log(`\n${custom} resources in ${resources.length - custom} components.\n\nOutputs:`);
  for (const [name, output] of Object.entries(evaluation.outputs)) {
    console.log(`  ${name}: ${mask(output.value, output.secret)}`);
  }
}

main().then(
  () => {
    if (process.env.PLAN_REPORT_USAGE) console.error(`maxRssKb=${process.resourceUsage().maxRSS}`);
    process.exit(0);
  },
  (error: Error) => {
    console.error(`error: ${error.message}`);
    process.exit(1);
  },
);
