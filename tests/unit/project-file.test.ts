// Pulumi.yaml must be a valid project file whose typed config keys fit Pulumi's project schema.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { ROOT } from "../support/mockRuntime";
import { TOP_LEVEL_KEYS } from "../../stacks/config";

const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
const project = parseYaml(text) as {
  name: string;
  runtime: { name: string; options: Record<string, unknown> };
  config: Record<string, Record<string, unknown>>;
};

test("project mlflow-platform on nodejs with TypeScript", () => {
  expect(project.name).toBe("mlflow-platform");
  expect(project.runtime).toMatchObject({ name: "nodejs", options: { typescript: true } });
});

test("declared keys fit Pulumi's project schema and are optional (typed, defaulted, described)", () => {
  for (const [key, declaration] of Object.entries(project.config)) {
    expect(["string", "integer", "boolean", "array"]).toContain(declaration.type);
    if (declaration.type === "array") expect(declaration.items).toBeDefined();
    // A declared key without a default is required in every stack file.
    expect(declaration).toHaveProperty("default");
    expect(String(declaration.description).length).toBeGreaterThan(20);
    expect(
      Object.keys(declaration).every((k) =>
        ["type", "items", "default", "description", "secret"].includes(k),
      ),
    ).toBe(true);
    expect(TOP_LEVEL_KEYS).toContain(key);
  }
});

// That every key is documented, with its default, is tests/unit/config-reference.test.ts.
