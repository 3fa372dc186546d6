// `npm run plan`: the offline plan a newcomer runs first. It must evaluate the real program, print what
// `pulumi up` would create with secrets masked, and fail with the config error on bad config.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../support/mockRuntime";

/** What the plan says about port 80 next to HTTPS (scripts/plan.ts). */
const ACME_NOTE =
  "; port 80 serves only the ACME http-01 challenge and a redirect to HTTPS, open to the world because the CA validates from addresses it does not publish (server.acme.challenge dns-01 keeps it closed)";

function plan(...args: string[]) {
  return spawnSync(process.execPath, ["-r", "./scripts/ts-register.js", "scripts/plan.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
}

test.each(["dev", "prod"])(
  "plan --stack %s lists resources with parents and settings, outputs masked",
  (stack) => {
    const result = plan("--stack", stack);
    // prod ships placeholders (its allowed range, its alarm address): the plan warns about each, once.
    const warned = result.stderr.split("\n").filter((line) => line.startsWith("warning: "));
    expect(warned.map((line) => /mlflow-platform:[A-Za-z.[\]0-9]+/.exec(line)?.[0])).toEqual(
      stack === "prod" ? ["mlflow-platform:server.allowedCidrs[0]", "mlflow-platform:alarmEmails[0]"] : [],
    );
    expect(result.stderr.replace(/^warning: .*\n/gm, "")).toBe("");
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(new RegExp(`^\\+ mlflow-platform:index:MlflowPlatform  mlflow-${stack}$`, "m"));
    // Children are indented under their parent component.
    expect(out).toMatch(/^ {2}\+ mlflow-platform:index:ArtifactStore {2}mlflow-/m);
    expect(out).toMatch(/^ {4}\+ aws:s3\/bucket:Bucket {2}mlflow-\S+-artifacts/m);
    expect(out).toMatch(/^ {4}\+ aws:rds\/instance:Instance .*\n\s+instanceClass=/m);
    expect(out).toMatch(/\d+ resources in \d+ components/);
    // HTTPS by default (issue 11); no warning about plain HTTP.
    expect(out).toMatch(/^ {2}trackingUri: https:\/\//m);
    expect(out).not.toMatch(/WARNING/);
    expect(out).toMatch(/^ {2}clientEnv: \[secret\]$/m);
    expect(out).not.toMatch(/SECRETMARKER|MLFLOW_TRACKING_PASSWORD/);
    if (stack === "prod") expect(out).toMatch(/aws:s3\/bucket:Bucket {2}\S+ {2}\[protected,retained\]/);

    // The summary follows the outputs: resources by type, what is public and why, the monthly cost estimate.
    const summary = out.slice(out.indexOf("\nSummary\n"));
    expect(out.indexOf("\nSummary\n")).toBeGreaterThan(out.indexOf("\nOutputs:\n"));
    // prod has one more: its placeholder alarm email's subscription.
    const count = stack === "prod" ? 69 : 68; // with the artifact store's grant (a role policy)
    expect(summary).toMatch(
      new RegExp(`^ {2}Resources by type \\(${count} resources, 5 components\\):$`, "m"),
    );
    expect(summary).toMatch(/^ +1 {2}aws:ec2\/instance:Instance$/m);
    expect(summary).toMatch(/^ +3 {2}aws:secretsmanager\/secret:Secret$/m);
    const cidr = stack === "prod" ? "198.51.100.0/24" : "0.0.0.0/0";
    expect(summary).toContain(
      `    ! EC2 instance mlflow-${stack}-server has Elastic IP mlflow-${stack}-server and a public IP at launch ` +
        `(associatePublicIpAddress); ` +
        (stack === "prod"
          ? `80/tcp from 0.0.0.0/0 (security group mlflow-prod-server); 443/tcp from ${cidr} (security group mlflow-prod-server)`
          : `80/tcp, 443/tcp from ${cidr} (security group mlflow-dev-server)`) +
        `${ACME_NOTE}\n`,
    );
    expect(summary).toMatch(/^ {2}Egress only: none$/m);
    expect(summary).toMatch(/^ {2}Anything else publicly reachable \(.*\): none$/m);
    expect(summary).toContain(`    - RDS instance mlflow-${stack}-db: publiclyAccessible=false;`);
    const [total, costClass] =
      stack === "prod" ? ["352.71", "$$$ ($250-1000/month)"] : ["38.41", "$ (< $50/month)"];
    expect(summary).toContain(`  Monthly cost estimate: $${total} -> ${costClass}\n`);
    expect(summary).toMatch(/^ {4}Excluded \(usage-based\): S3 storage and requests;/m);
    expect(summary).toContain("approximate, us-east-1 on-demand list prices, 2026");
    // Then the order in which `pulumi up` creates the resources and the critical path with minutes.
    expect(summary).toMatch(
      new RegExp(
        `^ {2}Creation order \\(pulumi up; ${count} resources, each after what it waits for\\):$`,
        "m",
      ),
    );
    const order = summary.match(/^ {4} *\d+\. (.+)$/gm)?.map((l) => l.replace(/^ *\d+\. /, "")) ?? [];
    expect(order).toHaveLength(count);
    const at = (id: string) => order.indexOf(id);
    expect(at(`aws:ec2/instance:Instance mlflow-${stack}-server`)).toBeGreaterThan(
      at(`aws:secretsmanager/secretVersion:SecretVersion mlflow-${stack}-db-uri`),
    );
    expect(summary).toMatch(/^ {2}Critical path: ~\d+(\.\d)? minutes for a first pulumi up/m);
    const rdsMinutes = stack === "prod" ? 25 : 15; // Multi-AZ in prod
    expect(summary).toMatch(
      new RegExp(
        `^ {4}\\+ +\\d+\\.\\d min {2}aws:rds/instance:Instance mlflow-${stack}-db {2}\\(${rdsMinutes} min\\)$`,
        "m",
      ),
    );
    expect(summary).toMatch(new RegExp(`^ +${rdsMinutes} {2}aws:rds/instance:Instance$`, "m"));
  },
);

test("bad config exits non-zero with the config error", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
  const file = path.join(dir, "Pulumi.broken.yaml");
  fs.writeFileSync(file, "config:\n  mlflow-platform:database:\n    allocatedStorageGb: -5\n");
  const result = plan("--stack", "broken", "--config-file", file);
  fs.rmSync(dir, { recursive: true });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(
    /^error: mlflow-platform:database\.allocatedStorageGb: got -5; allowed: an integer from 20 to 65536$/m,
  );
  expect(result.stdout).toBe("");
});

test("an unknown stack names the shipped ones", () => {
  const result = plan("--stack", "staging");
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/no stack file Pulumi\.staging\.yaml; shipped stacks: dev, prod/);
});
