// The config reference (stacks/reference.ts) is the one list of keys: the validator takes its key names
// from it, README's table is generated from it, Pulumi.yaml's typed keys and template prompts must match
// it. These tests fail when any of them disagree.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { ConfigError, loadSettings } from "../../stacks/config";
import { configReference, findKey, FOREIGN_CONFIG_REFERENCE } from "../../stacks/reference";
import { COSTED_STACKS, generatedSections, README, renderReadme } from "../../scripts/docs";
import { ROOT } from "../support/mockRuntime";

const NS = "mlflow-platform";
type Settings = ReturnType<typeof loadSettings>;

/** The settings value a documented key ends up in. */
function settingAt(settings: Settings, key: string): unknown {
  if (key === "aws:region") return settings.awsRegion;
  let node: unknown = settings;
  for (const part of key.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** A valid example for each documented key that has no literal default, and the config it needs. */
const EXAMPLES: Record<string, { value: unknown; context?: Record<string, unknown> }> = {
  "artifactStore.azureBlob.location": {
    value: "westeurope",
    context: { "artifactStore.backend": "azureBlob" },
  },
  "artifactStore.azureBlob.subscriptionId": {
    value: "00000000-0000-4000-8000-000000000000",
    context: { "artifactStore.backend": "azureBlob", "artifactStore.azureBlob.location": "westeurope" },
  },
  "artifactStore.azureBlob.resourceGroupName": {
    value: "ml-rg",
    context: { "artifactStore.backend": "azureBlob", "artifactStore.azureBlob.location": "westeurope" },
  },
  "artifactStore.azureBlob.sasExpiresOn": {
    value: `${new Date().getUTCFullYear() + 1}-06-30`,
    context: { "artifactStore.backend": "azureBlob", "artifactStore.azureBlob.location": "westeurope" },
  },
  "artifactStore.gcs.project": { value: "my-project-1", context: { "artifactStore.backend": "gcs" } },
  "server.mlflowVersion": { value: undefined }, // checked against the lock by config.test.ts
  "network.availabilityZoneIds": { value: ["use1-az4", "use1-az6"] },
  alarmTopicArn: { value: "arn:aws:sns:us-east-1:123456789012:ml-oncall" },
  "server.domain": {
    value: "mlflow.example.com",
    context: { "server.compute": "container", "server.hostedZoneId": "Z0123456789ABC" },
  },
  "server.acme.email": { value: "ml-admins@example.com" },
  "server.hostedZoneId": {
    value: "Z0123456789ABC",
    context: { "server.compute": "container", "server.domain": "mlflow.example.com" },
  },
};

function load(values: Record<string, unknown>, stack = "dev"): Settings {
  const raw = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [
      k.includes(":") ? k : `${NS}:${k}`,
      typeof v === "string" ? v : JSON.stringify(v),
    ]),
  );
  return loadSettings(raw, NS, stack);
}

const leaves = configReference().filter((doc) => !doc.object);

test("README's generated sections (config reference, costs) are current: `npm run docs` rewrites them", async () => {
  const text = fs.readFileSync(README, "utf8");
  const sections = await generatedSections();
  expect(text).toBe(renderReadme(text, sections));
  // The cost table covers the shipped stacks with their estimator totals.
  expect(COSTED_STACKS).toEqual(expect.arrayContaining(["Pulumi.dev.yaml", "Pulumi.prod.yaml"]));
  expect(sections.costs).toMatch(/`Pulumi\.dev\.yaml` \| EC2 t3\.small .*\| \*\*\\\$\d+\.\d\d\*\*/);
});

test.each(leaves.filter((doc) => doc.default !== undefined).map((doc) => [doc.key, doc.default]))(
  "%s: the documented default is what an empty config gets",
  (key, documented) => {
    const context = key.startsWith("artifactStore.gcs.")
      ? { "artifactStore.backend": "gcs", "artifactStore.gcs.project": "my-project-1" }
      : {};
    expect(settingAt(load(context), key)).toEqual(documented);
  },
);

test("aws:region: the documented default is what an empty config gets", () => {
  expect(settingAt(load({}), "aws:region")).toBe(FOREIGN_CONFIG_REFERENCE[0].default);
});

test.each(Object.keys(EXAMPLES).filter((key) => EXAMPLES[key].value !== undefined))(
  "%s: a documented key without a literal default reaches the settings",
  (key) => {
    const { value, context } = EXAMPLES[key];
    expect(settingAt(load({ ...context, [key]: value }), key)).toEqual(value);
  },
);

test("every documented leaf has a default or an example; adminPassword is read by index.ts", () => {
  const covered = leaves.filter(
    (doc) => doc.default !== undefined || doc.key in EXAMPLES || doc.key === "adminPassword",
  );
  expect(covered.map((d) => d.key)).toEqual(leaves.map((d) => d.key));
  expect(fs.readFileSync(path.join(ROOT, "index.ts"), "utf8")).toMatch(/getSecret\("adminPassword"\)/);
});

test("every setting the program gets from config is documented", () => {
  const settings = load({ "server.compute": "container", "server.allowPlainHttp": true });
  const undocumented: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (node !== null && typeof node === "object" && !Array.isArray(node) && at !== "tags") {
      for (const [name, child] of Object.entries(node)) walk(child, at ? `${at}.${name}` : name);
    } else if (!findKey(at)) undocumented.push(at);
  };
  const { project: _project, stack: _stack, awsRegion: _region, ...fromConfig } = settings;
  walk(fromConfig, "");
  expect(undocumented).toEqual([]);
});

test("an undocumented key is refused, so the reference and the validator cannot drift apart", () => {
  expect(() => load({ server: { notDocumented: 1 } })).toThrow(ConfigError);
  expect(() => load({ "network.notDocumented": 1 })).toThrow(/network\.notDocumented: unknown key/);
});

describe("Pulumi.yaml", () => {
  const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { default: unknown }>;
    template: {
      config: Record<string, { description?: string; default?: string; secret?: boolean }>;
    } & Record<string, unknown>;
  };

  test("typed keys are documented with the same default", () => {
    for (const [key, declaration] of Object.entries(project.config)) {
      expect([key, declaration.default]).toEqual([key, findKey(key)?.default]);
    }
  });

  test("the template section has only the fields Pulumi's project schema allows", () => {
    // sdk/go/common/workspace/project.json: template has additionalProperties false.
    for (const field of Object.keys(project.template)) {
      expect(["description", "quickstart", "config", "important"]).toContain(field);
    }
    for (const prompt of Object.values(project.template.config)) {
      for (const field of Object.keys(prompt)) expect(["description", "default", "secret"]).toContain(field);
      expect(prompt.default === undefined || typeof prompt.default === "string").toBe(true);
    }
  });

  test("every template prompt is a documented key, described, with the documented default", () => {
    const prompts = Object.entries(project.template.config);
    expect(prompts.length).toBeGreaterThanOrEqual(6);
    for (const [key, prompt] of prompts) {
      const doc = findKey(key);
      expect([key, doc !== undefined]).toEqual([key, true]);
      expect(String(prompt.description).length).toBeGreaterThan(15);
      if (doc?.default !== undefined && prompt.default !== undefined) {
        const documented = Array.isArray(doc.default) ? doc.default.join(",") : String(doc.default);
        expect([key, prompt.default]).toEqual([key, documented]);
      }
    }
    expect(project.template.config.adminPassword.secret).toBe(true);
  });

  test("the template's answers, stored as `pulumi new` stores them, load", () => {
    // `pulumi new` saves each non-empty answer as a flat key of the project's namespace (no --path).
    const answers: Record<string, string> = {};
    for (const [key, prompt] of Object.entries(project.template.config)) {
      if (prompt.default !== undefined) answers[key.includes(":") ? key : `${NS}:${key}`] = prompt.default;
    }
    const settings = loadSettings(answers, NS, "dev");
    expect(settings.server.compute).toBe("ec2");
    expect(settings.server.allowedCidrs).toEqual(["0.0.0.0/0"]);
    // And the other choices of the prompts load as well.
    const container = loadSettings(
      {
        ...answers,
        [`${NS}:server.compute`]: "container",
        [`${NS}:server.domain`]: "mlflow.example.com",
        [`${NS}:server.hostedZoneId`]: "Z0123456789ABC",
        [`${NS}:artifactStore.backend`]: "gcs",
        [`${NS}:artifactStore.gcs.project`]: "my-project-1",
        [`${NS}:server.allowedCidrs`]: "198.51.100.0/24,203.0.113.0/24",
      },
      NS,
      "dev",
    );
    expect(container.server.compute).toBe("container");
    expect(container.artifactStore.gcs?.project).toBe("my-project-1");
    expect(container.server.allowedCidrs).toHaveLength(2);
  });
});
