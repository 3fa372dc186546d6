// The hash-locked Python requirements and the .in files they are compiled from (npm run lock:server).
// `lockDisagreements` says where a lock no longer matches its .in file, so a test fails when someone edits
// one without re-locking the other.
import * as fs from "fs";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..");

/** Every lock that `npm run lock:server` writes, with the .in file it is compiled from. */
export const PYTHON_LOCKS = [
  { input: "server/requirements.in", lock: "server/requirements.txt" },
  { input: "server/requirements-migrate.in", lock: "server/requirements-migrate.txt" },
  { input: "server/requirements-acme.in", lock: "server/requirements-acme.txt" },
  { input: "scripts/python-tools.in", lock: "scripts/python-tools.txt" },
];

/** The pip-compile options lock:server uses; a lock's header must name exactly these. */
export const PIP_COMPILE_FLAGS = [
  "--allow-unsafe",
  "--generate-hashes",
  "--no-emit-find-links",
  "--no-emit-index-url",
  "--strip-extras",
];

interface Requirement {
  name: string;
  version?: string;
}

interface Pin {
  name: string;
  version: string;
  hashes: number;
  via: string[];
}

/** PEP 503 normalized name. */
const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");

/** Top-level requirements of a .in file: `name[extras]` with an optional `==version`. */
export function parseInput(text: string): Requirement[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("-"))
    .map((line) => {
      const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(?:==\s*([^\s;]+))?\s*$/.exec(line);
      if (!m) throw new Error(`unsupported requirement line (only name[extras] and ==version): ${line}`);
      return { name: normalize(m[1]), version: m[3] };
    });
}

/** Pins of a pip-compile lock, with their hash count and `# via` annotations. */
export function parseLock(text: string): Pin[] {
  const pins: Pin[] = [];
  for (const line of text.split("\n")) {
    const pin = /^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)/.exec(line);
    if (pin) {
      pins.push({ name: normalize(pin[1]), version: pin[2], hashes: 0, via: [] });
      continue;
    }
    const current = pins[pins.length - 1];
    if (!current) continue;
    if (/--hash=sha256:[0-9a-f]{64}/.test(line)) current.hashes += 1;
    const via = /^\s+#\s+(?:via\s+)?(\S.*)$/.exec(line);
    if (via && via[1] !== "via") current.via.push(via[1].trim());
  }
  return pins;
}

/** What is wrong between a .in file and its lock; empty when they agree. */
export function lockDisagreements(inputName: string, inputText: string, lockText: string): string[] {
  const problems: string[] = [];
  const wanted = parseInput(inputText);
  const pins = new Map(parseLock(lockText).map((p) => [p.name, p]));
  const fromInput = `-r ${path.basename(inputName)}`;
  for (const req of wanted) {
    const pin = pins.get(req.name);
    if (!pin) problems.push(`${req.name} is in ${inputName} but not locked`);
    else if (req.version && pin.version !== req.version)
      problems.push(`${req.name}: ${inputName} asks for ==${req.version}, the lock has ${pin.version}`);
  }
  const wantedNames = new Set(wanted.map((r) => r.name));
  for (const pin of pins.values()) {
    if (pin.hashes === 0) problems.push(`${pin.name}==${pin.version} has no --hash`);
    if (pin.via.includes(fromInput) && !wantedNames.has(pin.name))
      problems.push(`${pin.name} is locked as a requirement of ${inputName}, which no longer names it`);
  }
  const header = /^#\s+pip-compile (.*)$/m.exec(lockText)?.[1] ?? "";
  for (const flag of PIP_COMPILE_FLAGS)
    if (!header.split(/\s+/).includes(flag))
      problems.push(`the lock's header lacks ${flag} (re-lock with npm run lock:server)`);
  return problems;
}

/** Disagreements of every lock in the repository, by lock file. */
export function allLockDisagreements(root = ROOT): Record<string, string[]> {
  const read = (p: string) => fs.readFileSync(path.join(root, p), "utf8");
  return Object.fromEntries(
    PYTHON_LOCKS.map(({ input, lock }) => [lock, lockDisagreements(input, read(input), read(lock))]),
  );
}

if (require.main === module) {
  const found = Object.entries(allLockDisagreements()).filter(([, problems]) => problems.length > 0);
  for (const [lock, problems] of found) problems.forEach((p) => console.error(`${lock}: ${p}`));
  process.exit(found.length > 0 ? 1 : 0);
}
