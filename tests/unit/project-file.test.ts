// Pulumi.yaml must be a valid project file whose config section documents every key the program reads.
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

test("every config key the program reads is declared or documented", () => {
  const comments = text
    .split("\n")
    .filter((line) => line.startsWith("#"))
    .join("\n");
  for (const key of TOP_LEVEL_KEYS) {
    const documented = key in project.config || new RegExp(`^# ${key} \\(`, "m").test(comments);
    expect(`${key}: ${documented}`).toBe(`${key}: true`);
  }
});
