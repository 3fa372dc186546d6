// The README is what a newcomer follows from clone to a running server: its links, the commands and files
// it names, and its first two lines must stay true.
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../support/mockRuntime";

const DOCS = ["README.md", "CONTRIBUTING.md", "docs/delivery.md", "docs/migrating.md", "docs/container.md"];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const existing = DOCS.filter((file) => fs.existsSync(path.join(ROOT, file)));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const result = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    result.add(
      match[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return result;
}

/** Markdown text without fenced code blocks (links and commands in them are examples). */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, "");

test("the first lines are the two commands that set up + plan, and test", () => {
  const lines = read("README.md").split("\n");
  expect(lines[0]).toBe("```sh");
  expect(lines[1]).toMatch(/^npm install && npm run plan -- --stack dev\s+#/);
  expect(lines[2]).toMatch(/^npm test\s+#/);
});

test.each(existing)("%s: every relative link and anchor resolves", (file) => {
  const text = read(file);
  const broken: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
    const [filePart, anchor] = target.split("#");
    const resolved = filePart
      ? path.join(path.dirname(path.join(ROOT, file)), filePart)
      : path.join(ROOT, file);
    if (!fs.existsSync(resolved)) broken.push(target);
    else if (anchor && resolved.endsWith(".md") && !anchors(fs.readFileSync(resolved, "utf8")).has(anchor))
      broken.push(target);
  }
  expect(broken).toEqual([]);
});

test("every `npm run` script the docs use exists", () => {
  const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
  for (const file of existing) {
    for (const [, name] of read(file).matchAll(/npm run ([\w:-]+)/g)) {
      expect([file, name, scripts.includes(name)]).toEqual([file, name, true]);
    }
  }
});

/** Every file of the repository, relative to the root (no dependencies, no venvs). */
function repositoryFiles(dir = ROOT, found: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (/^(node_modules|\.git|\.venv.*|\.runtime-tmp)$/.test(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) repositoryFiles(full, found);
    else found.push(path.relative(ROOT, full));
  }
  return found;
}

test("every repository file the README names exists", () => {
  const files = repositoryFiles();
  const missing: string[] = [];
  for (const [, name] of read("README.md").matchAll(
    /`((?:[\w.-]+\/)*[\w.-]+\.(?:ya?ml|ts|md|sh|txt|in|json))`/g,
  )) {
    if (/^Pulumi\.(azure-dev|gcs-dev|<stack>|x)\.yaml$/.test(name)) continue; // files the reader creates
    if (!files.some((f) => f === name || f.endsWith(`/${name}`))) missing.push(name);
  }
  expect(missing).toEqual([]);
});

test("the README shows a Mermaid architecture diagram per compute mode", () => {
  const diagrams = read("README.md").match(/^```mermaid$/gm) ?? [];
  expect(diagrams.length).toBeGreaterThanOrEqual(2);
  expect(read("README.md")).toMatch(
    /`server\.compute: ec2`[\s\S]*```mermaid[\s\S]*`server\.compute: container`[\s\S]*```mermaid/,
  );
});
