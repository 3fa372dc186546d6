// AWS's RDS CA bundle, vendored as server/rds-ca-bundle.pem (docs/aws-operations.md, "RDS CA bundle"): what
// makes a bundle fit to trust (the unit test and `npm run rds-ca:refresh` both ask), and which regions'
// databases it can verify.
import * as crypto from "crypto";
import { readServerFile } from "../server/render";

/** Where AWS publishes the bundle of every commercial region's RDS root CAs (RDS user guide, "SSL/TLS"). */
export const RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";
export const BUNDLE_FILE = "rds-ca-bundle.pem";
/** A CA that expires sooner than this fails the unit test and the refresh: time to rotate, well ahead. */
export const MIN_DAYS_LEFT = 365;
const DAY_MS = 24 * 60 * 60 * 1000;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n/g;

export const sha256Hex = (bytes: Buffer | string) => crypto.createHash("sha256").update(bytes).digest("hex");

/** The certificates of a PEM bundle; throws on anything else in it (text, keys, CRLF, a broken block). */
export function parseBundle(pem: string): crypto.X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0 || blocks.join("") !== pem)
    throw new Error("not a bundle of PEM certificates (LF line endings, nothing between them)");
  return blocks.map((block) => new crypto.X509Certificate(block));
}

export const commonName = (cert: crypto.X509Certificate) =>
  /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? cert.subject;

/**
 * What makes a bundle unfit to trust: a certificate that is not a CA, one whose signature does not check
 * against itself or another certificate of the bundle, one not yet valid, one with fewer than minDaysLeft.
 */
export function bundleProblems(
  certs: crypto.X509Certificate[],
  now = new Date(),
  minDaysLeft = MIN_DAYS_LEFT,
): string[] {
  const problems: string[] = [];
  for (const cert of certs) {
    const name = commonName(cert);
    if (!cert.ca) problems.push(`${name}: not a CA certificate`);
    const issuers = certs.filter((c) => c.subject === cert.issuer);
    if (!issuers.some((issuer) => cert.verify(issuer.publicKey)))
      problems.push(`${name}: not signed by itself or another certificate of the bundle`);
    if (new Date(cert.validFrom) > now) problems.push(`${name}: not valid before ${cert.validFrom}`);
    const daysLeft = (new Date(cert.validTo).getTime() - now.getTime()) / DAY_MS;
    if (daysLeft < minDaysLeft)
      problems.push(`${name}: expires ${cert.validTo}, in ${Math.floor(daysLeft)} days (< ${minDaysLeft})`);
  }
  return problems;
}

/**
 * The regions whose RDS root CAs the vendored bundle holds ("Amazon RDS <region> Root CA ..."): AWS's global
 * bundle covers the commercial partition; GovCloud and China publish bundles of their own.
 */
export function rdsCaRegions(pem: string = readServerFile(BUNDLE_FILE)): Set<string> {
  const regions = parseBundle(pem).map(
    (cert) => /^Amazon RDS ([a-z]{2}(?:-[a-z]+)+-\d) Root CA /.exec(commonName(cert))?.[1],
  );
  return new Set(regions.filter((r): r is string => r !== undefined));
}
