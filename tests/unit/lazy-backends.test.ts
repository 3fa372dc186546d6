// Issue 12: a stack loads only the artifact backend and compute mode it uses (an S3 stack never imports
// @pulumi/azure-native or @pulumi/gcp), and the library's modules import one another without a cycle.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { moduleSpecifiers } from "../support/imports";
import { EVALUATION_NOW, ROOT, evaluateProgram, stopEvaluationWorker } from "../support/mockRuntime";

/** What a fresh process loads to evaluate one shipped or example stack file (the plan's own path). */
function modulesLoadedFor(stackFile: string): string[] {
  const script = `
    const { fileVariants } = require("./tests/support/variants");
    const { evaluateInProcess } = require("./tests/support/mockRuntime");
    const variant = fileVariants().find((v) => v.id === ${JSON.stringify(stackFile)});
    evaluateInProcess(variant).then(
      () => process.stdout.write(JSON.stringify(Object.keys(require.cache))),
      (error) => { console.error(error); process.exit(1); },
    );`;
  const child = spawnSync(process.execPath, ["-r", "./scripts/ts-register.js", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (child.status !== 0) throw new Error(`${stackFile}: ${child.stderr}`);
  return (JSON.parse(child.stdout) as string[]).map((file) =>
    path.relative(ROOT, file).split(path.sep).join("/"),
  );
}

/** Which of the optional SDKs and per-mode modules a list of loaded files includes. */
function loadedParts(files: string[]): string[] {
  const parts = {
    "@pulumi/azure-native": /(^|\/)node_modules\/@pulumi\/azure-native\//,
    "@pulumi/gcp": /(^|\/)node_modules\/@pulumi\/gcp\//,
    "@pulumi/docker-build": /(^|\/)node_modules\/@pulumi\/docker-build\//,
    "backend s3": /^components\/artifact-backends\/s3\.ts$/,
    "backend azureBlob": /^components\/artifact-backends\/azureBlob\.ts$/,
    "backend gcs": /^components\/artifact-backends\/gcs\.ts$/,
    "compute ec2": /^components\/compute\/ec2\.ts$/,
    "compute container": /^components\/compute\/container\.ts$/,
  };
  return Object.entries(parts)
    .filter(([, pattern]) => files.some((file) => pattern.test(file)))
    .map(([part]) => part);
}

test.each([
  ["Pulumi.dev.yaml", ["backend s3", "compute ec2"]],
  ["examples/Pulumi.azure-dev.yaml", ["@pulumi/azure-native", "backend azureBlob", "compute ec2"]],
  ["examples/Pulumi.gcs-prod.yaml", ["@pulumi/gcp", "backend gcs", "compute ec2"]],
  ["examples/Pulumi.container-prod.yaml", ["@pulumi/docker-build", "backend s3", "compute container"]],
])("%s loads only its own backend and compute mode: %j", (stackFile, expected) => {
  expect(loadedParts(modulesLoadedFor(stackFile))).toEqual(expected);
});

/** The `.ts` files a relative specifier may load: every file of the folder for `dir/*` (a registry's require). */
function candidates(file: string, specifier: string): string[] {
  const target = path.resolve(path.dirname(file), specifier);
  if (!specifier.endsWith("/*")) return [target];
  const dir = path.dirname(target);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f.slice(0, -3)));
}

/** The project's own files `file` imports (relative specifiers resolved to `.ts` files). */
function localImports(file: string): string[] {
  return moduleSpecifiers(file)
    .filter((s) => s.startsWith("."))
    .flatMap((s) => candidates(file, s))
    .map((p) =>
      [`${p}.ts`, path.join(p, "index.ts"), p].find((c) => fs.existsSync(c) && fs.statSync(c).isFile()),
    )
    .filter((p): p is string => p !== undefined);
}

/** The first import cycle reachable from `roots`, as a list of repo-relative files, or undefined. */
function findCycle(roots: string[]): string[] | undefined {
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    const open = stack.indexOf(file);
    if (open >= 0) return [...stack.slice(open), file];
    if (done.has(file)) return undefined;
    stack.push(file);
    for (const next of localImports(file)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    done.add(file);
    return undefined;
  };
  for (const root of roots) {
    const cycle = visit(root);
    if (cycle) return cycle.map((f) => path.relative(ROOT, f));
  }
  return undefined;
}

test("components/, stacks/, server/render.ts and index.ts import one another without a cycle", () => {
  const tsFiles = (dir: string): string[] =>
    fs
      .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join(ROOT, dir, f));
  const roots = [
    path.join(ROOT, "index.ts"),
    path.join(ROOT, "server", "render.ts"),
    ...tsFiles("components"),
    ...tsFiles("stacks"),
  ];
  expect(roots.length).toBeGreaterThan(10);
  expect(findCycle(roots)).toBeUndefined();
});

test("the cycle finder sees type-only imports and lazy requires, by path or by name", () => {
  const dir = fs.mkdtempSync(path.join(ROOT, "node_modules", ".cycle-"));
  try {
    fs.writeFileSync(
      path.join(dir, "a.ts"),
      `export const load = () => require("./b") as typeof import("./b");\n`,
    );
    fs.writeFileSync(
      path.join(dir, "b.ts"),
      `import type { load } from "./a";\nexport type L = typeof load;\n`,
    );
    expect(findCycle([path.join(dir, "a.ts")])?.map((f) => path.basename(f))).toEqual([
      "a.ts",
      "b.ts",
      "a.ts",
    ]);
    // A registry's require by name (`./parts/${name}`) reaches every file of the folder.
    fs.mkdirSync(path.join(dir, "parts"));
    fs.writeFileSync(
      path.join(dir, "registry.ts"),
      "export const load = (n: string) => require(`./parts/${n}`);\n",
    );
    fs.writeFileSync(
      path.join(dir, "parts", "one.ts"),
      'import type { load } from "../registry";\nexport type L = typeof load;\n',
    );
    expect(findCycle([path.join(dir, "registry.ts")])?.map((f) => path.basename(f))).toEqual([
      "registry.ts",
      "one.ts",
      "registry.ts",
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("ArtifactStore as a library component asks only for what its backend uses (issue 12, point 3)", () => {
  const program = path.join(ROOT, "tests", "unit", "fixtures", "artifact-store-program.ts");
  // No aws:region here: the provider's region comes from its environment (AWS_REGION), where awsRegion says.
  const providerInEuWest1 = { "aws:index/getRegion:getRegion": { name: "eu-west-1", region: "eu-west-1" } };
  const evaluateStore = (config: Record<string, string>) =>
    evaluateProgram({ stack: "lib", config, program, now: EVALUATION_NOW, callResults: providerInEuWest1 });
  afterAll(stopEvaluationWorker);

  test.each([
    ["azureBlob", "azure-native:storage:StorageAccount", /^wasbs:\/\//],
    ["s3", "aws:s3/bucket:Bucket", /^s3:\/\//],
  ])("%s needs no server identity or compute mode", async (backend, storageType, scheme) => {
    const { resources, outputs } = await evaluateStore({
      "test:backend": backend,
      "test:awsRegion": "eu-west-1",
    });
    expect(resources.filter((r) => r.type === storageType)).toHaveLength(1);
    expect(outputs.artifactRoot.value).toMatch(scheme);
  });

  test.each([
    ["azureBlob", "azure-native:storage:StorageAccount", /^wasbs:\/\//, {}],
    ["gcs", "gcp:storage/bucket:Bucket", /^gs:\/\//, { "test:compute": "ec2" }],
  ])("%s needs no AWS region", async (backend, storageType, scheme, more) => {
    const { resources, outputs } = await evaluateStore({ "test:backend": backend, ...more });
    expect(resources.filter((r) => r.type === storageType)).toHaveLength(1);
    expect(outputs.artifactRoot.value).toMatch(scheme);
  });

  test("gcs without a grant is just the bucket; the grant adds the credential for that role only", async () => {
    const alone = await evaluateStore({ "test:backend": "gcs" });
    expect(alone.resources.filter((r) => r.type === "gcp:storage/bucket:Bucket")).toHaveLength(1);
    expect(alone.resources.filter((r) => r.type === "aws:secretsmanager/secret:Secret")).toHaveLength(0);
    const granted = await evaluateStore({ "test:backend": "gcs", "test:compute": "ec2" });
    const provider = granted.resources.find(
      (r) => r.type === "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    )!;
    expect(provider.inputs.attributeCondition).toMatch(/assumed-role\/mlflow-server-0123abc'$/);
    expect(granted.outputs.serverSecrets.value).toEqual(["GOOGLE_CREDENTIALS_JSON"]);
  });

  test("s3 with a region: the grant is a policy on the role, and the server's AWS_DEFAULT_REGION is it", async () => {
    const { resources, outputs } = await evaluateStore({
      "test:backend": "s3",
      "test:awsRegion": "eu-west-1",
      "test:compute": "ec2",
    });
    expect(resources.filter((r) => r.type === "aws:s3/bucket:Bucket")).toHaveLength(1);
    const grant = resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy")!;
    expect(grant.inputs.role).toBe("mlflow-server-0123abc");
    expect(JSON.parse(grant.inputs.policy as string).Statement.map((st: { Sid: string }) => st.Sid)).toEqual([
      "ListArtifactPrefix",
      "ReadWriteArtifacts",
    ]);
    expect(outputs.serverEnvironment.value).toEqual({ AWS_DEFAULT_REGION: "eu-west-1" });
  });

  test("s3 without a region fails before anything is registered, naming the argument", async () => {
    await expect(evaluateStore({ "test:backend": "s3" })).rejects.toMatchObject({
      message: expect.stringMatching(/ArtifactStore: no AWS region; pass awsRegion, or set aws:region/),
      registeredResources: 0,
    });
  });
});
