// The shape of the code (issue 12): the program and the scripts never import tests/ (the offline runtime they
// share is scripts/offline/), and no function in components/ or scripts/ runs over MAX_FUNCTION_LINES lines.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { moduleSpecifiers } from "../support/imports";
import { ROOT } from "../support/mockRuntime";

const MAX_FUNCTION_LINES = 150;

/** Every .ts file under `dir` (relative to the repository), node_modules left out. */
function tsFiles(dir: string): string[] {
  const absolute = path.join(ROOT, dir);
  if (!fs.existsSync(absolute)) return [];
  if (fs.statSync(absolute).isFile()) return dir.endsWith(".ts") ? [dir] : [];
  return fs
    .readdirSync(absolute)
    .filter((entry) => entry !== "node_modules")
    .flatMap((entry) => tsFiles(path.join(dir, entry)))
    .sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(
    file,
    fs.readFileSync(path.join(ROOT, file), "utf8"),
    ts.ScriptTarget.ES2022,
    true,
  );
}

/** Imports of tests/ from a file outside it, as "file -> specifier". */
function importsOfTests(file: string): string[] {
  return moduleSpecifiers(path.join(ROOT, file))
    .filter((specifier) => specifier.startsWith("."))
    .filter((specifier) => {
      const target = path.relative(ROOT, path.resolve(path.join(ROOT, path.dirname(file)), specifier));
      return target === "tests" || target.startsWith(`tests${path.sep}`);
    })
    .map((specifier) => `${file} -> ${specifier}`);
}

/**
 * The one script that may: `npm run bench:server` drives the runtime tests' harness (PostgreSQL, emulators,
 * the server as start.sh runs it) to measure it; it is a benchmark of that harness's setup, not a tool the
 * program or the plan depends on.
 */
const RUNTIME_HARNESS_USERS: Record<string, RegExp> = {
  [path.join("scripts", "bench-server.ts")]: /^\.\.\/tests\/runtime\/support\//,
};

const OUTSIDE_TESTS = ["index.ts", "components", "stacks", "policy", "scripts", "server"];

describe("nothing outside tests/ imports tests/", () => {
  const files = OUTSIDE_TESTS.flatMap(tsFiles);

  test("the files checked include the scripts that evaluate the program", () => {
    expect(files).toEqual(
      expect.arrayContaining(["index.ts", path.join("scripts", "plan.ts"), path.join("scripts", "cost.ts")]),
    );
  });

  test("no import, re-export, import() or require() of tests/", () => {
    const offending = files.flatMap(importsOfTests).filter((line) => {
      const [file, specifier] = line.split(" -> ");
      return !RUNTIME_HARNESS_USERS[file]?.test(specifier);
    });
    expect(offending).toEqual([]);
  });

  test("the check sees each kind of import", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "code-shape-")), "x.ts");
    fs.writeFileSync(
      file,
      'import { a } from "../tests/a";\nexport * from "../tests/b";\nconst c = require("../tests/c");\nvoid import("../tests/d");',
    );
    expect(moduleSpecifiers(file)).toEqual(["../tests/a", "../tests/b", "../tests/c", "../tests/d"]);
  });
});

interface FunctionSize {
  where: string;
  lines: number;
}

/** The name a function goes by: its own, its variable's or property's, else where it is. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) return node.name.text;
  const parent = node.parent;
  if (
    parent &&
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) &&
    ts.isIdentifier(parent.name)
  )
    return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isStringLiteral(parent.name)) return parent.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  return `<anonymous function at line ${line}>`;
}

/** Lines of every function, arrow function, method and accessor body in a file (nested ones counted too). */
export function functionSizes(source: ts.SourceFile): FunctionSize[] {
  const sizes: FunctionSize[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const body = node.body as ts.Node;
      const first = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(body.getEnd()).line;
      sizes.push({
        where: `${functionName(node as ts.FunctionLikeDeclaration, source)} in ${source.fileName}`,
        lines: last - first + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sizes;
}

/**
 * Over the limit and not split yet, with their length when this test came: they may shrink, never grow, and
 * leave this list when split (issue 12). Empty since createEc2Server and the MetadataDatabase constructor were
 * split; a function may join it only with its length and a reason it cannot be split yet.
 */
const NOT_YET_SPLIT: Record<string, number> = {};

describe(`no function over ${MAX_FUNCTION_LINES} lines in components/ and scripts/`, () => {
  const sizes = ["components", "scripts"].flatMap(tsFiles).flatMap((file) => functionSizes(parse(file)));

  test("every function is within the limit, or on the not-yet-split list and no longer than it was", () => {
    expect(sizes.length).toBeGreaterThan(100);
    const tooLong = sizes
      .filter((f) => f.lines > (NOT_YET_SPLIT[f.where] ?? MAX_FUNCTION_LINES))
      .map((f) => `${f.where}: ${f.lines} lines`);
    expect(tooLong).toEqual([]);
  });

  test("the not-yet-split list names only functions still over the limit", () => {
    const stillLong = new Set(sizes.filter((f) => f.lines > MAX_FUNCTION_LINES).map((f) => f.where));
    expect(Object.keys(NOT_YET_SPLIT).filter((where) => !stillLong.has(where))).toEqual([]);
  });

  test("the measure counts a function's body lines and names arrow functions by their variable", () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const source = ts.createSourceFile(
      "x.ts",
      `function long() {\n${body}\n}\nconst arrow = () => {\n  return 1;\n};\nclass C {\n  method() {}\n}`,
      ts.ScriptTarget.ES2022,
      true,
    );
    expect(functionSizes(source)).toEqual([
      { where: "long in x.ts", lines: MAX_FUNCTION_LINES + 2 },
      { where: "arrow in x.ts", lines: 3 },
      { where: "method in x.ts", lines: 1 },
    ]);
  });
});
