import * as fs from "fs";
import * as path from "path";
import { allPolicies } from "../../policy/rules";

const ROOT = path.resolve(__dirname, "..", "..");

describe("policy pack layout", () => {
  it("has unique policy names, all mandatory, each with a description", () => {
    const names = allPolicies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of allPolicies) {
      expect(p.enforcementLevel).toBe("mandatory");
      expect(p.description.length).toBeGreaterThan(20);
    }
  });

  it("constructs the PolicyPack only in policy/index.ts (constructing one starts a server)", () => {
    const rules = path.join(ROOT, "policy", "rules");
    for (const file of fs.readdirSync(rules)) {
      expect(fs.readFileSync(path.join(rules, file), "utf8")).not.toMatch(/new PolicyPack\(/);
    }
    expect(fs.readFileSync(path.join(ROOT, "policy", "index.ts"), "utf8")).toMatch(
      /new PolicyPack\("mlflow-platform-security"/,
    );
  });

  it("includes every policy every rule module exports, and policy/index.ts builds the pack from them", () => {
    const rules = path.join(ROOT, "policy", "rules");
    const inPack = new Set<unknown>(allPolicies);
    const isPolicy = (v: unknown): v is { name: string } =>
      typeof v === "object" &&
      v !== null &&
      "enforcementLevel" in v &&
      ("validateResource" in v || "validateStack" in v);
    const exported: string[] = [];
    const missing: string[] = [];
    for (const file of fs.readdirSync(rules).filter((f) => f.endsWith(".ts") && f !== "index.ts")) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const module = require(path.join(rules, file)) as Record<string, unknown>;
      for (const value of Object.values(module).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
        if (!isPolicy(value)) continue;
        exported.push(value.name);
        if (!inPack.has(value)) missing.push(`${file}: ${value.name}`);
      }
    }
    expect(missing).toEqual([]);
    expect(new Set(exported).size).toBe(allPolicies.length);
    expect(fs.readFileSync(path.join(ROOT, "policy", "index.ts"), "utf8")).toMatch(/policies: allPolicies\b/);
  });

  it("pins the pack's dependencies exactly and runs on nodejs", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "package.json"), "utf8"));
    expect(pkg.dependencies).toEqual({ "@pulumi/policy": "1.21.0", "@pulumi/pulumi": "3.270.0" });
    expect(fs.readFileSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"), "utf8")).toMatch(
      /^runtime: nodejs$/m,
    );
  });

  it("tests every policy by name", () => {
    const dir = __dirname;
    const tests = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".test.ts") && f !== "pack.test.ts")
      .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
      .join("\n");
    expect(allPolicies.map((p) => p.name).filter((n) => !tests.includes(`"${n}`))).toEqual([]);
  });
});
