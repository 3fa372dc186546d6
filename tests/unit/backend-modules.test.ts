// Issue 12, point 4: an artifact backend is one file (components/artifact-backends/<name>.ts) and one value of
// the ArtifactBackendName enum, which is the registry. The program reads everything else it knows of a backend
// (its stack config, README rows, defaults, tag rules, region, credential) from that file's descriptor.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { ARTIFACT_BACKENDS, ArtifactBackendName } from "../../components/enums";
import { artifactBackend } from "../../components/registry";
import { childKeys, configReference } from "../../stacks/reference";
import { ROOT } from "../support/mockRuntime";

/** Every .ts file below `dir` (repository-relative). */
function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

/** Where a backend may be named: its own file, the enum (the registry), and the public options types. */
const BACKEND_PLACES = [
  /^components\/artifact-backends\//,
  /^components\/enums\.ts$/,
  /^components\/args\.ts$/,
];

/**
 * The uses of a backend's name that are not about a backend, each counted, so another use in the same file is
 * still found: the VPC's S3 gateway endpoint (every stack has it), and the default backend.
 */
const NOT_A_BACKEND: Record<string, Record<string, number>> = {
  "components/network.ts": { '"s3"': 1 },
  "components/defaults.ts": { S3: 1 },
};

/** A backend's name, as its enum value or its enum member (`gcs`, `Gcs`). */
const BACKEND_NAMES = new Set<string>(
  Object.entries(ArtifactBackendName).flatMap(([member, value]) => [member, value]),
);

/** A foreign cloud's names, in code (identifiers and strings); comments may name them. */
const FOREIGN_CLOUD = /[Aa]zure|AZURE|[Gg]cp|GCP|[Gg]oogle|GOOGLE|wasbs|(gcs|Gcs|GCS)(?![a-z])/;

/** The identifiers and string pieces of `file`'s code (no comments), with how each is written. */
function codeWords(file: string): { text: string; isString: boolean }[] {
  const source = ts.createSourceFile(
    file,
    fs.readFileSync(path.join(ROOT, file), "utf8"),
    ts.ScriptTarget.ES2022,
    true,
  );
  const words: { text: string; isString: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node))
      words.push({ text: node.text, isString: false });
    else if (ts.isStringLiteralLike(node)) words.push({ text: node.text, isString: true });
    else if (ts.isTemplateExpression(node))
      for (const piece of [node.head, ...node.templateSpans.map((span) => span.literal)])
        words.push({ text: piece.text, isString: true });
    ts.forEachChild(node, visit);
  };
  visit(source);
  return words;
}

/** What in `file`'s code names a backend: a string or identifier equal to its name, or a foreign cloud's name. */
function backendTokens(file: string): string[] {
  const allowed = { ...NOT_A_BACKEND[file] };
  return codeWords(file)
    .filter(({ text }) => BACKEND_NAMES.has(text) || FOREIGN_CLOUD.test(text))
    .map(({ text, isString }) => (isString ? JSON.stringify(text) : text))
    .filter((token) => !(allowed[token] > 0 && allowed[token]--));
}

test("no file of the program names a backend outside its own file, the enum and the options types", () => {
  const files = [
    ...tsFiles("components"),
    ...tsFiles("stacks"),
    "index.ts",
    path.join("server", "render.ts"),
  ];
  expect(files).toEqual(expect.arrayContaining(["stacks/config.ts", "components/defaults.ts"]));
  const named = files
    .filter((file) => !BACKEND_PLACES.some((place) => place.test(file)))
    .flatMap((file) => backendTokens(file).map((token) => `${file}: ${token}`));
  expect(named).toEqual([]);
});

test("the check finds a backend named outside its file", () => {
  const probe = path.join("node_modules", ".backend-probe.ts");
  fs.writeFileSync(
    path.join(ROOT, probe),
    'if (backend === "gcs") useGoogle(settings.s3, `${"azureBlob"}`, ArtifactBackendName.S3); // azure in a comment\n',
  );
  try {
    expect(backendTokens(probe)).toEqual(['"gcs"', "useGoogle", "s3", '"azureBlob"', "S3"]);
  } finally {
    fs.rmSync(path.join(ROOT, probe));
  }
});

test.each(ARTIFACT_BACKENDS)(
  "%s is a file the registry loads, and the config reference documents its options",
  (name) => {
    const backend = artifactBackend(name);
    expect(backend.name).toBe(name);
    expect(childKeys("artifactStore")).toContain(name);
    const documented = configReference().filter((doc) => doc.key.startsWith(`artifactStore.${name}`));
    const own = backend.stackConfig?.reference.map((doc) => `artifactStore.${name}.${doc.key}`);
    expect(documented.map((doc) => doc.key)).toEqual(own ? [`artifactStore.${name}`, ...own] : []);
  },
);
