// Issue 12, point 4, for real: a copy of the program gets a new artifact backend the way CONTRIBUTING.md says
// (its file, its value in the ArtifactBackendName enum, and its options type in args.ts, which the
// multi-language schema reads) and nothing else. The copy then type-checks, reads and documents the new
// backend's stack config, and deploys with it under mocks.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { cloudInitFiles, single, userDataOf } from "../support/inspect";
import { fileVariants } from "../support/variants";
import { ROOT, evaluateProgram, stopEvaluationWorker } from "../support/mockRuntime";

const FIXTURE = path.join(ROOT, "tests", "unit", "fixtures", "added-backend", "existingBucket.ts.txt");
const COPIED = ["index.ts", "package.json", "components", "stacks", "server"];

/** `text` with `from` replaced once by `to`; fails when `from` is not there (the program changed shape). */
function replaceOnce(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

/** The three changes that add the `existingBucket` backend to the program at `root`. */
function addBackend(root: string): void {
  fs.copyFileSync(FIXTURE, path.join(root, "components", "artifact-backends", "existingBucket.ts"));
  const enums = path.join(root, "components", "enums.ts");
  fs.writeFileSync(
    enums,
    replaceOnce(
      fs.readFileSync(enums, "utf8"),
      'Gcs: "gcs" }',
      'Gcs: "gcs", ExistingBucket: "existingBucket" }',
    ),
  );
  const args = path.join(root, "components", "args.ts");
  let text = fs.readFileSync(args, "utf8");
  text = replaceOnce(
    text,
    "/** What every artifact backend takes. */",
    "/** An existing S3 bucket. */\nexport interface ExistingBucketOptions {\n  /** The bucket's name. */\n  bucketName: string;\n}\n\n/** What every artifact backend takes. */",
  );
  text = replaceOnce(
    text,
    "  gcs?: GcsOptions;\n}",
    "  gcs?: GcsOptions;\n  /** Required when `backend` is `existingBucket`. */\n  existingBucket?: ExistingBucketOptions;\n}",
  );
  fs.writeFileSync(args, text);
}

/** Type errors of the program at `root` (its stack program and every component), as tsc reports them. */
function typeErrors(root: string): string[] {
  const files = [
    path.join(root, "index.ts"),
    ...fs
      .readdirSync(path.join(root, "components"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join(root, "components", f)),
  ];
  const { config } = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const program = ts.createProgram(files, { ...options, types: ["node"], noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? path.relative(root, d.file.fileName) : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    );
}

/** Runs `script` with the copy's stack modules loaded (`config`, `reference`), returning what it prints. */
function inCopy(root: string, script: string): string {
  const child = spawnSync(
    process.execPath,
    [
      "-r",
      path.join(ROOT, "scripts", "ts-register.js"),
      "-e",
      `const config = require("./stacks/config"); const reference = require("./stacks/reference"); ${script}`,
    ],
    { cwd: root, encoding: "utf8", timeout: 60_000 },
  );
  if (child.status !== 0) throw new Error(child.stderr);
  return child.stdout;
}

const dev = fileVariants().find((v) => v.id === "Pulumi.dev.yaml")!;
const STORE_KEY = "mlflow-platform:artifactStore";
const withStore = (store: object) => ({ ...dev.config, [STORE_KEY]: JSON.stringify(store) });
const existing = { backend: "existingBucket", existingBucket: { bucketName: "team-ml-artifacts" } };

let root: string;
beforeAll(() => {
  // Inside node_modules' parent chain, so the copy resolves @pulumi/* to this checkout's packages.
  root = fs.mkdtempSync(path.join(ROOT, "node_modules", ".added-backend-"));
  for (const entry of COPIED) fs.cpSync(path.join(ROOT, entry), path.join(root, entry), { recursive: true });
  addBackend(root);
});
afterAll(() => {
  stopEvaluationWorker();
  fs.rmSync(root, { recursive: true, force: true });
});

test("with its file, its enum value and its options type, the program type-checks", () => {
  expect(typeErrors(root)).toEqual([]);
}, 120_000);

test("the stack config reads, checks and documents the new backend's options", () => {
  const read = (store: object) =>
    inCopy(
      root,
      `try { console.log(JSON.stringify(config.loadSettings(${JSON.stringify(withStore(store))}, "mlflow-platform", "dev").artifactStore)); } catch (e) { console.log(e.message); }`,
    ).trim();
  expect(JSON.parse(read(existing))).toMatchObject(existing);
  expect(read({ backend: "existingBucket" })).toBe(
    'mlflow-platform:artifactStore.existingBucket: missing while mlflow-platform:artifactStore.backend is "existingBucket"; allowed: { bucketName: <an existing S3 bucket> }',
  );
  expect(read({ ...existing, existingBucket: { bucketName: "Not_A_Bucket" } })).toBe(
    'mlflow-platform:artifactStore.existingBucket.bucketName: got "Not_A_Bucket"; allowed: an S3 bucket name',
  );
  expect(read({ backend: "s3", existingBucket: existing.existingBucket })).toMatch(
    /^mlflow-platform:artifactStore.existingBucket: set while mlflow-platform:artifactStore.backend is "s3"/,
  );
  const table = inCopy(root, "console.log(reference.renderConfigReference())");
  expect(table).toContain(
    "| `artifactStore.backend` | `s3` \\| `azureBlob` \\| `gcs` \\| `existingBucket` |",
  );
  expect(table).toContain("| `artifactStore.existingBucket.bucketName` | S3 bucket name |");
});

test("the platform deploys with it: the server writes to the bucket, granted by the new backend", async () => {
  const e = await evaluateProgram({
    stack: "dev",
    config: withStore(existing),
    secretKeys: dev.secretKeys,
    now: dev.now,
    program: path.join(root, "index.ts"),
  });
  expect(e.outputs.artifactRoot.value).toBe("s3://team-ml-artifacts/mlflow");
  const grant = e.resources.find((r) => r.name.endsWith("-existing-bucket-access"))!;
  expect(grant.type).toBe("aws:iam/rolePolicy:RolePolicy");
  expect(grant.inputs.policy).toContain("arn:aws:s3:::team-ml-artifacts/mlflow/*");
  // The server's environment file (in the EC2 user data) names the store and the region its grant gives.
  const files = cloudInitFiles(userDataOf(single(e, "aws:ec2/instance:Instance")));
  const envFile = Object.entries(files).find(([file]) => file.endsWith(".env"))![1];
  expect(envFile).toContain('MLFLOW_ARTIFACTS_DESTINATION="s3://team-ml-artifacts/mlflow"');
  expect(envFile).toContain(`AWS_DEFAULT_REGION="${dev.config["aws:region"]}"`);
}, 120_000);
