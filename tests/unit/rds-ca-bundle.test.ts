// The vendored RDS CA bundle (server/rds-ca-bundle.pem), which the database URI's sslrootcert names: the
// bytes its checksum file records, only CA certificates that check, none expiring within a year (so that a
// rotation shows up here well ahead), every shipped stack's region covered; and the refresh that replaces it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BUNDLE_FILE,
  MIN_DAYS_LEFT,
  bundleProblems,
  commonName,
  parseBundle,
  rdsCaRegions,
  sha256Hex,
} from "../../components/rdsCaBundle";
import { databaseTls, VERIFIED_TLS } from "../../components/metadataDatabase";
import { CHECKSUM_FILE, checksumLine, writeBundle } from "../../scripts/rds-ca-bundle";
import { readServerFile } from "../../server/render";
import { fileVariants } from "../support/variants";

const pem = readServerFile(BUNDLE_FILE);
const certs = parseBundle(pem);

test("the bundle is the bytes its checksum file records (sha256sum -c format)", () => {
  expect(readServerFile(CHECKSUM_FILE)).toBe(checksumLine(pem));
  expect(readServerFile(CHECKSUM_FILE)).toMatch(/^[0-9a-f]{64} {2}rds-ca-bundle\.pem\n$/);
  expect(sha256Hex(pem)).toBe(readServerFile(CHECKSUM_FILE).slice(0, 64));
});

test("only CA certificates, each signed by itself or another of the bundle, none expiring within a year", () => {
  expect(certs.length).toBeGreaterThanOrEqual(100);
  expect(bundleProblems(certs)).toEqual([]);
  const soonest = Math.min(...certs.map((c) => new Date(c.validTo).getTime()));
  expect(soonest - Date.now()).toBeGreaterThan(MIN_DAYS_LEFT * 24 * 60 * 60 * 1000);
});

test("the roots of every RDS CA (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1) for every region", () => {
  const names = certs.map(commonName);
  const regions = rdsCaRegions(pem);
  expect(regions.size).toBeGreaterThanOrEqual(30);
  for (const region of regions)
    for (const kind of ["RSA2048", "RSA4096", "ECC384"])
      expect([region, kind, names.includes(`Amazon RDS ${region} Root CA ${kind} G1`)]).toEqual([
        region,
        kind,
        true,
      ]);
});

test("every shipped stack's region is verified; a region without its CAs says so and stays encrypted", () => {
  for (const variant of fileVariants()) {
    const region = variant.config["aws:region"] ?? "us-east-1";
    expect([variant.id, databaseTls(region)]).toEqual([variant.id, VERIFIED_TLS]);
  }
  // GovCloud and China publish bundles of their own (docs/aws-operations.md).
  expect(databaseTls("us-gov-west-1")).toBe("sslmode=require");
  expect(databaseTls("cn-north-1")).toBe("sslmode=require");
});

describe("what the unit test and the refresh refuse", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-ca-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A self-signed certificate from openssl, CA or not, valid for `days`. */
  function selfSigned(name: string, days: number, ca: boolean): string {
    const out = path.join(dir, `${name}.pem`);
    const run = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      path.join(dir, `${name}.key`),
      "-out",
      out,
      "-days",
      String(days),
      "-subj",
      `/CN=${name}`,
      "-addext",
      `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}`,
    ]);
    expect(run.stderr.toString()).not.toMatch(/error/i);
    return fs.readFileSync(out, "utf8");
  }

  test("a leaf certificate, one expiring within a year, text or CRLF between certificates", () => {
    const leaf = selfSigned("leaf.test", 3650, false);
    const expiring = selfSigned("expiring.test", 200, true);
    expect(bundleProblems(parseBundle(leaf))).toEqual(["leaf.test: not a CA certificate"]);
    expect(bundleProblems(parseBundle(expiring))[0]).toMatch(
      /^expiring\.test: expires .*, in 19\d days \(< 365\)$/,
    );
    expect(() => parseBundle(`# a comment\n${leaf}`)).toThrow(/not a bundle of PEM certificates/);
    expect(() => parseBundle(leaf.replace(/\n/g, "\r\n"))).toThrow(/not a bundle of PEM certificates/);
  });

  test("an intermediate CA whose issuer is not in the bundle; with its root beside it, none", () => {
    const root = selfSigned("root.test", 3650, true);
    fs.writeFileSync(path.join(dir, "inter.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\n");
    const openssl = (...args: string[]) => spawnSync("openssl", args, { cwd: dir }).status;
    expect(
      openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "inter.key",
        "-out",
        "inter.csr",
        "-subj",
        "/CN=inter.test",
      ),
    ).toBe(0);
    expect(
      openssl(
        "x509",
        "-req",
        "-in",
        "inter.csr",
        "-CA",
        "root.test.pem",
        "-CAkey",
        "root.test.key",
        "-CAcreateserial",
        "-out",
        "inter.pem",
        "-days",
        "3650",
        "-extfile",
        "inter.ext",
      ),
    ).toBe(0);
    const intermediate = fs.readFileSync(path.join(dir, "inter.pem"), "utf8");
    expect(bundleProblems(parseBundle(intermediate))).toEqual([
      "inter.test: not signed by itself or another certificate of the bundle",
    ]);
    expect(bundleProblems(parseBundle(root + intermediate))).toEqual([]);
  });

  test("refresh: writes the bundle and its checksum, reports what changed, and writes nothing when refused", () => {
    const ca = selfSigned("one.test", 3650, true);
    const first = writeBundle(ca, dir);
    expect(first).toEqual({ added: ["one.test"], removed: [], count: 1 });
    expect(fs.readFileSync(path.join(dir, CHECKSUM_FILE), "utf8")).toBe(checksumLine(ca));
    const second = writeBundle(pem, dir);
    expect(second.removed).toEqual(["one.test"]);
    expect(second.count).toBe(certs.length);
    expect(spawnSync("sha256sum", ["-c", CHECKSUM_FILE], { cwd: dir }).status).toBe(0);
    expect(() => writeBundle(selfSigned("leaf2.test", 3650, false), dir)).toThrow(/refusing the bundle/);
    expect(fs.readFileSync(path.join(dir, BUNDLE_FILE), "utf8")).toBe(pem);
  });
});
