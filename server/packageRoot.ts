// Where this package's own files are at run time. The same code runs from the TypeScript sources (the stack
// program, the tests: server/packageRoot.ts) and from the compiled library inside an installed package
// (node_modules/mlflow-platform/dist/server/packageRoot.js); both find the runtime files (templates, start.sh,
// the locks, the Dockerfile, ...) in `server/` at the package's root, which package.json `files` ships.
import * as fs from "fs";
import * as path from "path";

export const PACKAGE_NAME = "mlflow-platform";

/** The nearest directory at or above `from` whose package.json names this package. */
export function findPackageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (isPackageRoot(dir)) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`no package.json named "${PACKAGE_NAME}" in ${from} or above it`);
    }
  }
}

function isPackageRoot(dir: string): boolean {
  const file = path.join(dir, "package.json");
  return fs.existsSync(file) && JSON.parse(fs.readFileSync(file, "utf8")).name === PACKAGE_NAME;
}

/** The package's root: the repository checkout, or node_modules/mlflow-platform. */
export const PACKAGE_ROOT = findPackageRoot(__dirname);
/** The server runtime files the components read (readServerFile) and ship to the servers. */
export const SERVER_DIR = path.join(PACKAGE_ROOT, "server");
