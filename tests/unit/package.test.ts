// Issue 12: the components are an npm library. `npm pack` (which builds dist/ through `prepare`) ships the
// compiled components with their type declarations and exactly the server/ files they read at run time; the
// tarball, installed into an empty project, is loaded by its name from a child Node process that builds
// components under Pulumi mocks, and a TypeScript consumer type-checks against the shipped declarations.
//
// The installed project: the tarball extracted into <tmp>/app/node_modules/mlflow-platform and each of its
// declared `dependencies` linked from this repository's node_modules (so a module the library needs but
// does not declare is not found: nothing above <tmp> has a node_modules). Not `npm install <tarball>`: the
// lockfile-driven install of this repository caches no packuments, so `npm install --offline` fails with
// ENOTCACHED, and an online install downloads the provider SDKs (hundreds of MB) on every run.
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { moduleSpecifiers } from "../support/imports";
import { ROOT } from "../support/mockRuntime";

const PACKAGE = "mlflow-platform";
const run = promisify(execFile);

interface Manifest {
  name: string;
  dependencies: Record<string, string>;
}

interface ScenarioResult {
  /** Resource types the scenario registered (components and custom resources), sorted. */
  types: string[];
  /** Files the process read below the installed package's root, relative to it. */
  reads: string[];
}

let tmp: string;
let app: string;
let installed: string;
let shipped: string[];

/** The files of a tarball, relative to the package's root. */
function tarballFiles(tarball: string): string[] {
  return execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line && !line.endsWith("/"))
    .map((line) => line.replace(/^package\//, ""))
    .sort();
}

/** Links a dependency from this repository's node_modules into the consumer's, after checking its version. */
function linkDependency(name: string, version: string): void {
  const source = fs.realpathSync(path.join(ROOT, "node_modules", name));
  const actual = JSON.parse(fs.readFileSync(path.join(source, "package.json"), "utf8")).version;
  if (actual !== version)
    throw new Error(`${name}: the repository has ${actual}, the package asks for ${version}`);
  const target = path.join(app, "node_modules", name);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.symlinkSync(source, target, "dir");
}

/** Packs the repository (building dist/) and installs the tarball into an empty project. */
function packAndInstall(): void {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlflow-platform-package-"));
  execFileSync("npm", ["pack", "--pack-destination", tmp], { cwd: ROOT, stdio: "pipe" });
  const tarball = path.join(
    tmp,
    fs.readdirSync(tmp).find((f) => f.endsWith(".tgz"))!,
  );
  shipped = tarballFiles(tarball);
  app = path.join(tmp, "app");
  installed = path.join(app, "node_modules", PACKAGE);
  fs.mkdirSync(installed, { recursive: true });
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
  for (const [name, version] of Object.entries(manifest.dependencies)) linkDependency(name, version);
  fs.copyFileSync(
    path.join(__dirname, "fixtures", "package-consumer", "consumer.js"),
    path.join(app, "consumer.js"),
  );
}

beforeAll(packAndInstall, 180_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The environment of the consumer's processes: nothing of this repository's (no ts-node, no NODE_PATH). */
function consumerEnv(): NodeJS.ProcessEnv {
  const { NODE_PATH: _p, NODE_OPTIONS: _o, ...env } = process.env;
  return { ...env, PULUMI_CONFIG: JSON.stringify({ "aws:region": "us-east-1" }) };
}

let inputs = 0;

/** Runs one scenario of fixtures/package-consumer/consumer.js in the consumer project. */
async function scenario(name: string, input?: unknown): Promise<ScenarioResult> {
  const args = ["consumer.js", name];
  if (input !== undefined) {
    // One file per run: scenarios run side by side.
    const file = path.join(tmp, `input-${++inputs}.json`);
    fs.writeFileSync(file, JSON.stringify(input));
    args.push(file);
  }
  try {
    const { stdout } = await run(process.execPath, args, { cwd: app, env: consumerEnv(), timeout: 120_000 });
    return JSON.parse(stdout);
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`scenario ${name} failed:\n${stderr ?? error}`);
  }
}

/** Type-checks `source` as a TypeScript program of the consumer project (strict, Node16 resolution). */
async function typecheckConsumer(file: string, source: string): Promise<string> {
  fs.writeFileSync(path.join(app, file), source);
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "es2022",
      module: "node16",
      moduleResolution: "node16",
      skipLibCheck: true,
      typeRoots: [path.join(ROOT, "node_modules", "@types")],
      types: ["node"],
    },
    files: [file],
  };
  const project = path.join(app, `tsconfig.${file}.json`);
  fs.writeFileSync(project, JSON.stringify(tsconfig));
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", project], { cwd: app, timeout: 120_000 });
    return "";
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

const COMPONENTS = ["MlflowPlatform", "ArtifactStore", "MetadataDatabase", "TrackingServer"];
const componentType = (name: string) => `mlflow-platform:index:${name}`;
const serverFiles = (files: string[]) => files.filter((f) => f.startsWith("server/"));

/** What the scenarios read from server/ together is exactly what the package ships there. */
function expectShippedServerFilesRead(results: ScenarioResult[]): void {
  const read = [...new Set(results.flatMap((r) => serverFiles(r.reads)))].sort();
  expect(read).toEqual(serverFiles(shipped));
}

describe("the packed library", () => {
  test("ships the compiled components, the server files, README and package.json, nothing else", () => {
    const built = (dir: string): string[] =>
      fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
        const file = path.posix.join(dir, entry.name);
        return entry.isDirectory() ? built(file) : [file];
      });
    const dist = built("dist").filter((f) => /\.(js|d\.ts)$/.test(f));
    expect(dist).toEqual(expect.arrayContaining(["dist/components/index.js", "dist/components/index.d.ts"]));
    expect(shipped.filter((f) => f.startsWith("dist/")).sort()).toEqual(dist.sort());
    expect(shipped.filter((f) => !f.startsWith("dist/") && !f.startsWith("server/"))).toEqual([
      "README.md",
      "package.json",
    ]);
    // No TypeScript sources (declarations only), tests, scripts, policy, stack files or docs.
    expect(shipped.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f))).toEqual([]);
    expect(
      shipped.filter((f) => /^(tests|scripts|policy|stacks|components|docs|examples)\//.test(f)),
    ).toEqual([]);
    expect(shipped.filter((f) => /\.(ya?ml|in|md)$/.test(f) && f !== "README.md")).toEqual([]);
  });

  test("every module the compiled library names is shipped, built into Node.js or a declared dependency", () => {
    const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    const problems: string[] = [];
    for (const file of shipped.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      for (const specifier of moduleSpecifiers(path.join(installed, file))) {
        if (specifier.startsWith(".") && specifier.endsWith("/*")) {
          // A registry's require by name: every file of that source folder must be shipped, compiled.
          const dir = path.posix.join(path.posix.dirname(file), specifier.slice(0, -2));
          const sources = fs
            .readdirSync(path.join(ROOT, dir.replace(/^dist\//, "")))
            .filter((f) => f.endsWith(".ts"));
          for (const source of sources)
            if (!shipped.includes(`${dir}/${source.replace(/\.ts$/, ".js")}`))
              problems.push(`${file}: ${dir}/${source.replace(/\.ts$/, ".js")} (not built)`);
          continue;
        }
        if (specifier.startsWith(".")) {
          const base = path.posix.join(path.posix.dirname(file), specifier);
          const ext = file.endsWith(".d.ts") ? ".d.ts" : ".js";
          if (!shipped.includes(base + ext) && !shipped.includes(base))
            problems.push(`${file}: ${specifier}`);
          continue;
        }
        const name = specifier.startsWith("@")
          ? specifier.split("/").slice(0, 2).join("/")
          : specifier.split("/")[0];
        const builtin = builtinModules.includes(name.replace(/^node:/, ""));
        if (!builtin && !(name in manifest.dependencies))
          problems.push(`${file}: ${specifier} (not a dependency)`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("another project loads it by name: the four components and the enums, nothing past the exports map", () => {
    const probe = `
      const lib = require("mlflow-platform");
      let deep;
      try { require("mlflow-platform/dist/server/render"); deep = "loaded"; } catch (e) { deep = e.code; }
      process.stdout.write(JSON.stringify({
        classes: Object.keys(lib).filter((k) => typeof lib[k] === "function").sort(),
        enums: Object.fromEntries(Object.entries(lib).filter(([, v]) => typeof v === "object")),
        main: require("path").relative(process.cwd(), require.resolve("mlflow-platform")),
        name: require("mlflow-platform/package.json").name,
        deep,
      }));`;
    const out = JSON.parse(
      execFileSync(process.execPath, ["-e", probe], { cwd: app, env: consumerEnv(), encoding: "utf8" }),
    );
    expect(out).toEqual({
      classes: [...COMPONENTS].sort(),
      enums: {
        AcmeChallenge: { Http01: "http-01", Dns01: "dns-01" },
        ArtifactBackendName: { S3: "s3", AzureBlob: "azureBlob", Gcs: "gcs" },
        SecretVariable: expect.objectContaining({ BackendStoreUri: "MLFLOW_BACKEND_STORE_URI" }),
        ServerCompute: { Ec2: "ec2", Container: "container" },
      },
      main: path.join("node_modules", PACKAGE, "dist", "components", "index.js"),
      name: PACKAGE,
      deep: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });
  });
});

describe("components with their defaults, from the installed package", () => {
  let results: Record<string, ScenarioResult>;
  beforeAll(async () => {
    const names = [
      "platform-defaults",
      "platform-container",
      "gcs-store",
      "database-in-existing-network",
      "server-in-existing-network",
      "platform-existing-topic",
    ];
    const done = await Promise.all(names.map((n) => scenario(n).then((r) => [n, r] as const)));
    results = Object.fromEntries(done);
  }, 180_000);

  test("new MlflowPlatform('mlflow', {}): the dev-sized S3 + EC2 platform", () => {
    const { types } = results["platform-defaults"];
    expect(types).toEqual(
      expect.arrayContaining([
        ...COMPONENTS.map(componentType),
        "aws:s3/bucket:Bucket",
        "aws:ec2/instance:Instance",
        "aws:rds/instance:Instance",
        "aws:sns/topic:Topic",
      ]),
    );
    expect(types.filter((t) => /^aws:ecs\/|^(gcp|azure-native):/.test(t))).toEqual([]);
  });

  test("the platform on ECS, and every server file read from the installed package", () => {
    expect(results["platform-container"].types).toEqual(
      expect.arrayContaining(["aws:ecs/service:Service", "docker-build:index:Image"]),
    );
    expectShippedServerFilesRead(Object.values(results));
  });

  test("an ArtifactStore on GCS alone", () => {
    const { types } = results["gcs-store"];
    expect(types).toEqual(
      expect.arrayContaining([componentType("ArtifactStore"), "gcp:storage/bucket:Bucket"]),
    );
    expect(types.filter((t) => /^aws:(s3|ec2|rds)\//.test(t))).toEqual([]);
  });

  test.each(["database-in-existing-network", "server-in-existing-network"])(
    "%s: no VPC or subnet of its own",
    (name) => {
      const { types } = results[name];
      expect(types.filter((t) => /^aws:ec2\/(vpc|subnet|internetGateway|natGateway):/.test(t))).toEqual([]);
    },
  );

  test("the database and the server in existing networks register what they stand for", () => {
    expect(results["database-in-existing-network"].types).toEqual(
      expect.arrayContaining([componentType("MetadataDatabase"), "aws:rds/instance:Instance"]),
    );
    expect(results["server-in-existing-network"].types).toEqual(
      expect.arrayContaining([componentType("TrackingServer"), "aws:ec2/instance:Instance"]),
    );
  });

  test("an existing alarm topic: no topic of the platform's own", () => {
    const { types } = results["platform-existing-topic"];
    expect(types).toContain(componentType("MlflowPlatform"));
    expect(types).not.toContain("aws:sns/topic:Topic");
  });

  test("a TypeScript consumer type-checks against the shipped declarations", async () => {
    const source = `import { Secret } from "@pulumi/aws/secretsmanager";
import { ArtifactStore, MetadataDatabase, MlflowPlatform, TrackingServer } from "mlflow-platform";

new MlflowPlatform("mlflow", {});
new MlflowPlatform("mlflow-existing-topic", { alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:pager" });
new ArtifactStore("a", { backend: "gcs", gcs: { project: "p" } });
new MetadataDatabase("db", { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"] });
new TrackingServer("srv", {
  vpcId: "vpc-1",
  publicSubnetIds: ["subnet-pa", "subnet-pb"],
  privateSubnetIds: ["subnet-a", "subnet-b"],
  artifactRoot: "s3://team-mlflow-artifacts/mlflow",
  backendStoreUri: { secret: new Secret("uri", {}) },
});
// @ts-expect-error: the backend is s3, azureBlob or gcs (an error only while the declarations resolve)
new ArtifactStore("wrong", { backend: "ftp" });
`;
    expect(await typecheckConsumer("target.ts", source)).toBe("");
  }, 120_000);
});
