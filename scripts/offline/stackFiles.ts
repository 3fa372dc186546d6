// Stack files as the offline runtime reads them: `Pulumi.<stack>.yaml`, the example stacks, their config.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { EVALUATION_NOW, ROOT, markerFor } from "./evaluate";

/** Reads `Pulumi.<stack>.yaml` (or any stack file) into fully-qualified raw config. */
export function readStackFile(file: string): { config: Record<string, string>; secretKeys: string[] } {
  const doc = parseYaml(fs.readFileSync(file, "utf8")) ?? {};
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries<unknown>(doc.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in value) {
      // Encrypted values cannot be read offline: a stand-in of the same kind takes their place.
      config[key] = markerFor(key).padEnd(24, "x");
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { config, secretKeys };
}

export function stackFile(stack: string): string {
  return path.join(ROOT, `Pulumi.${stack}.yaml`);
}

export interface StackVariant {
  id: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  /** The clock the program sees: EVALUATION_NOW, so no variant changes with the day a test runs. */
  now: string;
}

/** The shipped `Pulumi.<stack>.yaml` files and `examples/Pulumi.*.yaml`, unchanged. */
export function fileVariants(): StackVariant[] {
  const files = [stackFile("dev"), stackFile("prod")];
  const examples = path.join(ROOT, "examples");
  if (fs.existsSync(examples)) {
    for (const f of fs.readdirSync(examples).sort()) {
      if (/^Pulumi\..+\.yaml$/.test(f)) files.push(path.join(examples, f));
    }
  }
  return files.map((file) => {
    const stack = path.basename(file).replace(/^Pulumi\.|\.yaml$/g, "");
    return { id: path.relative(ROOT, file), stack, now: EVALUATION_NOW, ...readStackFile(file) };
  });
}
