// Issue 12, point 6: the components are a multi-language component package (PulumiPlugin.yaml). Pulumi's
// Node.js component provider host derives the package schema from the TypeScript args with its analyzer;
// here the same ComponentProvider computes the schema offline, and the checks below hold it to what Python,
// Go, C# and YAML programs need. The YAML example in examples/library-yaml/ is checked against it too.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { parse } from "yaml";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { ArtifactStore, MetadataDatabase, MlflowPlatform, TrackingServer } from "../../components";
import { ROOT } from "../support/mockRuntime";

interface Property {
  type?: string;
  $ref?: string;
  items?: Property;
  additionalProperties?: Property;
  description?: string;
  plain?: boolean;
}
interface ResourceSpec {
  isComponent?: boolean;
  inputProperties: Record<string, Property>;
  requiredInputs?: string[];
  properties: Record<string, Property>;
}
interface TypeSpec {
  type: string;
  enum?: { value: string }[];
  properties?: Record<string, Property>;
  required?: string[];
}
interface Schema {
  name: string;
  resources: Record<string, ResourceSpec>;
  types: Record<string, TypeSpec>;
}

const PACKAGE = "mlflow-platform";
const COMPONENTS = [MlflowPlatform, ArtifactStore, MetadataDatabase, TrackingServer];
const token = (name: string) => `${PACKAGE}:index:${name}`;

let schema: Schema;
beforeAll(async () => {
  const provider = new ComponentProvider({ dirname: ROOT, name: PACKAGE, components: COMPONENTS });
  schema = JSON.parse(await provider.getSchema()) as Schema;
}, 120_000);

/** The local type a property refers to (`#/types/mlflow-platform:index:X` -> X), if any. */
const localType = (p: Property): string | undefined =>
  [p.$ref, p.items?.$ref, p.additionalProperties?.$ref]
    .find((r) => r?.startsWith(`#/types/${PACKAGE}:index:`))
    ?.split(":")
    .pop();

test("the analyzer accepts all four components, under the package's name", () => {
  expect(schema.name).toBe(PACKAGE);
  expect(Object.keys(schema.resources).sort()).toEqual(COMPONENTS.map((c) => token(c.name)).sort());
  for (const resource of Object.values(schema.resources)) expect(resource.isComponent).toBe(true);
});

test("only what a component cannot default is required", () => {
  const required = Object.fromEntries(
    Object.entries(schema.resources).map(([t, r]) => [
      t.split(":").pop(),
      [...(r.requiredInputs ?? [])].sort(),
    ]),
  );
  expect(required).toEqual({
    MlflowPlatform: [],
    ArtifactStore: [],
    MetadataDatabase: [],
    TrackingServer: ["artifactRoot", "backendStoreUri"],
  });
});

test("string-literal choices are enums other languages can name", () => {
  const values = (name: string) => schema.types[token(name)]?.enum?.map((e) => e.value);
  expect(values("ArtifactBackendName")).toEqual(["s3", "azureBlob", "gcs"]);
  expect(values("ServerCompute")).toEqual(["ec2", "container"]);
  expect(values("AcmeChallenge")).toEqual(["http-01", "dns-01"]);
  expect(schema.resources[token("ArtifactStore")].inputProperties.backend.$ref).toBe(
    `#/types/${token("ArtifactBackendName")}`,
  );
});

test("every input is documented, and references only the package's own types or Pulumi's and AWS's", () => {
  for (const [name, resource] of Object.entries(schema.resources)) {
    for (const [key, p] of Object.entries(resource.inputProperties)) {
      expect([name, key, Boolean(p.description)]).toEqual([name, key, true]);
      for (const ref of [p.$ref, p.items?.$ref].filter(Boolean))
        expect(ref).toMatch(/^(#\/types\/mlflow-platform:index:|\/aws\/v[\d.]+\/schema\.json#\/resources\/)/);
    }
  }
});

test("values a program computes are inputs: existing networks, topics, secrets and passwords", () => {
  const inputs = (component: string) => schema.resources[token(component)].inputProperties;
  // `plain` marks a value that must be known when the program runs; these may be another resource's output.
  for (const [component, keys] of [
    ["MlflowPlatform", ["alarmTopicArn", "adminPassword"]],
    ["MetadataDatabase", ["vpcId", "alarmTopicArn"]],
    ["TrackingServer", ["vpcId", "artifactRoot", "adminPassword", "alarmTopicArn"]],
    ["ArtifactStore", ["alarmTopicArn"]],
  ] as const)
    for (const key of keys)
      expect([component, key, inputs(component)[key]?.plain]).toEqual([component, key, undefined]);
  expect(schema.types[token("NetworkOptions")].properties?.vpcId.plain).toBeUndefined();
});

test("outputs are the documented ones, with no internal types", () => {
  const outputs = (component: string) => Object.keys(schema.resources[token(component)].properties).sort();
  expect(outputs("MlflowPlatform")).toEqual(
    ["alarmTopicArn", "artifactRoot", "clientEnv", "databaseEndpoint", "serverCompute", "trackingUri"].sort(),
  );
  expect(outputs("ArtifactStore")).toEqual(["artifactRoot", "backend"]);
  expect(outputs("MetadataDatabase")).toEqual(
    ["address", "alarmTopicArn", "connectionSecret", "connectionUri", "endpoint", "securityGroupId"].sort(),
  );
  expect(outputs("TrackingServer")).toEqual(
    [
      "adminPassword",
      "adminUsername",
      "alarmTopicArn",
      "compute",
      "role",
      "securityGroupId",
      "trackingUri",
    ].sort(),
  );
  expect(schema.resources[token("TrackingServer")].properties.role.$ref).toMatch(
    /^\/aws\/v[\d.]+\/schema\.json#\/resources\/aws:iam%2Frole:Role$/,
  );
});

test("every type the schema names is defined", () => {
  const named = new Set<string>();
  const visit = (p: Property) => {
    const t = localType(p);
    if (t) named.add(t);
  };
  for (const r of Object.values(schema.resources)) {
    Object.values(r.inputProperties).forEach(visit);
    Object.values(r.properties).forEach(visit);
  }
  for (const t of Object.values(schema.types)) Object.values(t.properties ?? {}).forEach(visit);
  for (const t of named) expect([t, Boolean(schema.types[token(t)])]).toEqual([t, true]);
});

/** The optional properties of an interface (and the interfaces it extends) that have no `@default` tag. */
function undocumentedDefaults(checker: ts.TypeChecker, node: ts.InterfaceDeclaration): string[] {
  const type = checker.getTypeAtLocation(node);
  return type
    .getProperties()
    .filter((p) => (p.flags & ts.SymbolFlags.Optional) !== 0)
    .filter((p) => !p.getJsDocTags(checker).some((tag) => tag.name === "default"))
    .map((p) => `${(p.declarations?.[0]?.parent as ts.InterfaceDeclaration).name.text}.${p.name}`);
}

test("every optional arg of the public args interfaces documents its @default", () => {
  const files = [
    "args.ts",
    "platform.ts",
    "artifactStore.ts",
    "metadataDatabase.ts",
    "trackingServer.ts",
  ].map((f) => path.join(ROOT, "components", f));
  const program = ts.createProgram(files, { strict: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  const interfaces: string[] = [];
  for (const file of files) {
    ts.forEachChild(program.getSourceFile(file)!, (node) => {
      if (
        !ts.isInterfaceDeclaration(node) ||
        !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      )
        return;
      interfaces.push(node.name.text);
      missing.push(...undocumentedDefaults(checker, node));
    });
  }
  expect(interfaces).toEqual(
    expect.arrayContaining([
      "MlflowPlatformArgs",
      "ArtifactStoreArgs",
      "MetadataDatabaseArgs",
      "TrackingServerArgs",
    ]),
  );
  // Options that only make sense together with another one say so instead of a default.
  const together = [
    "NetworkOptions.vpcCidrBlock",
    "NetworkOptions.publicSubnetIds",
    "NetworkOptions.privateSubnetIds",
    "ArtifactStoreOptions.azureBlob",
    "ArtifactStoreOptions.gcs",
    "ServerOptions.container",
    "MetadataDatabaseArgs.subnetIds",
    "TrackingServerArgs.vpcCidrBlock",
    "TrackingServerArgs.publicSubnetIds",
    "TrackingServerArgs.privateSubnetIds",
  ];
  expect([...new Set(missing)].filter((m) => !together.includes(m))).toEqual([]);
});

test("the YAML example uses only types, properties and outputs the schema has", () => {
  const program = parse(
    fs.readFileSync(path.join(ROOT, "examples", "library-yaml", "Pulumi.yaml"), "utf8"),
  ) as {
    packages: Record<string, string>;
    resources: Record<string, { type: string; properties?: Record<string, unknown> }>;
    outputs: Record<string, string>;
  };
  expect(path.resolve(ROOT, "examples", "library-yaml", program.packages[PACKAGE])).toBe(ROOT);
  for (const [name, resource] of Object.entries(program.resources)) {
    const spec = schema.resources[resource.type];
    expect([name, resource.type, Boolean(spec)]).toEqual([name, resource.type, true]);
    const given = Object.keys(resource.properties ?? {});
    expect(given.filter((k) => !(k in spec.inputProperties))).toEqual([]);
    expect((spec.requiredInputs ?? []).filter((k) => !given.includes(k))).toEqual([]);
    for (const [key, value] of Object.entries(resource.properties ?? {})) {
      const typeName = localType(spec.inputProperties[key]);
      const type = typeName ? schema.types[token(typeName)] : undefined;
      if (type?.enum) expect(type.enum.map((e) => e.value)).toContain(value);
      if (type?.properties)
        expect(Object.keys(value as object).filter((k) => !(k in type.properties!))).toEqual([]);
    }
  }
  for (const expression of Object.values(program.outputs)) {
    const [, resource, output] = /^\$\{(\w+)\.(\w+)\}$/.exec(expression)!;
    expect(Object.keys(schema.resources[program.resources[resource].type].properties)).toContain(output);
  }
});
