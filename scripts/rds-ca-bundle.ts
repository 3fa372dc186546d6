// `npm run rds-ca:refresh [-- --from <file>]`: replaces server/rds-ca-bundle.pem (AWS's RDS CA bundle, which
// the database URI's sslrootcert names) and its checksum server/rds-ca-bundle.pem.sha256 with the bundle AWS
// publishes at RDS_CA_BUNDLE_URL, or with a copy of it downloaded beforehand (--from). Refuses a bundle that
// fails `bundleProblems` (docs/aws-operations.md, "RDS CA bundle"). Prints the CAs added and removed; commit
// the result. Exits 0 when written or unchanged, 2 when the bundle is refused or cannot be read.
import * as fs from "fs";
import * as path from "path";
import {
  BUNDLE_FILE,
  RDS_CA_BUNDLE_URL,
  bundleProblems,
  commonName,
  parseBundle,
  sha256Hex,
} from "../components/rdsCaBundle";

export const CHECKSUM_FILE = `${BUNDLE_FILE}.sha256`;

/** The checksum file's content: `sha256sum -c` reads it in server/. */
export const checksumLine = (pem: string) => `${sha256Hex(pem)}  ${BUNDLE_FILE}\n`;

/**
 * Checks `pem` and writes it and its checksum into `serverDir`. Returns the common names added and removed
 * against the bundle there before. Throws, writing nothing, when the bundle is unfit.
 */
export function writeBundle(pem: string, serverDir: string, now = new Date()) {
  const problems = bundleProblems(parseBundle(pem), now);
  if (problems.length > 0) throw new Error(`refusing the bundle:\n  ${problems.join("\n  ")}`);
  const file = path.join(serverDir, BUNDLE_FILE);
  const before = fs.existsSync(file) ? parseBundle(fs.readFileSync(file, "utf8")).map(commonName) : [];
  const after = parseBundle(pem).map(commonName);
  fs.writeFileSync(file, pem);
  fs.writeFileSync(path.join(serverDir, CHECKSUM_FILE), checksumLine(pem));
  return {
    added: after.filter((n) => !before.includes(n)),
    removed: before.filter((n) => !after.includes(n)),
    count: after.length,
  };
}

async function main(argv: string[]): Promise<number> {
  const from = argv[0] === "--from" ? argv[1] : undefined;
  if (argv.length > 0 && !from) {
    console.error("usage: npm run rds-ca:refresh [-- --from <downloaded global-bundle.pem>]");
    return 2;
  }
  let pem: string;
  if (from) {
    pem = fs.readFileSync(from, "utf8");
  } else {
    const response = await fetch(RDS_CA_BUNDLE_URL);
    if (!response.ok) throw new Error(`${RDS_CA_BUNDLE_URL}: HTTP ${response.status}`);
    pem = await response.text();
  }
  const result = writeBundle(pem, path.resolve(__dirname, "..", "server"));
  console.log(`server/${BUNDLE_FILE}: ${result.count} CAs, sha256 ${sha256Hex(pem)}`);
  for (const name of result.added) console.log(`  + ${name}`);
  for (const name of result.removed) console.log(`  - ${name}`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`rds-ca:refresh: ${error.message}`);
      process.exit(2);
    },
  );
}
