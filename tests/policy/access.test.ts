import type * as iam from "@pulumi/aws/iam";
import type * as ecs from "@pulumi/aws/ecs";
import type * as lb from "@pulumi/aws/lb";
import type * as s3 from "@pulumi/aws/s3";
import { ecsPolicies, iamPolicies, lbPolicies, tagPolicies } from "../../policy/rules";
import { findSecrets, isSecretName } from "../../policy/rules/util";
import { inputs, policyNames, runPolicies, TestResource } from "./support";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const BUCKET = "arn:aws:s3:::artifacts-1234";
const SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-uri-AbCdEf";

const scoped = doc(
  {
    Effect: "Allow",
    Action: "s3:ListBucket",
    Resource: BUCKET,
    Condition: { StringLike: { "s3:prefix": ["mlflow/*"] } },
  },
  { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `${BUCKET}/mlflow/*` },
  { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [SECRET] },
  {
    Effect: "Allow",
    Action: ["ssmmessages:*", "ec2messages:GetMessages", "ecr:GetAuthorizationToken"],
    Resource: "*",
  },
  { Effect: "Deny", Principal: { AWS: "*" }, Action: "s3:*", Resource: "*" },
);

describe("iam-least-privilege", () => {
  const role = (policy: string): TestResource => ({
    type: "aws:iam/rolePolicy:RolePolicy",
    name: "server",
    props: inputs<iam.RolePolicyArgs>({ role: "server", policy }),
  });

  it("accepts prefix- and secret-scoped statements and the allowlisted agent actions on *", async () => {
    expect(await runPolicies(iamPolicies, [role(scoped)])).toEqual([]);
  });

  it.each([
    ["Action *", { Effect: "Allow", Action: "*", Resource: BUCKET }, /allows \*/],
    ["s3:*", { Effect: "Allow", Action: "s3:*", Resource: BUCKET }, /allows s3:\*/],
    [
      "secretsmanager:*",
      { Effect: "Allow", Action: ["secretsmanager:*"], Resource: SECRET },
      /secretsmanager:\*/,
    ],
    ["kms:*", { Effect: "Allow", Action: "kms:*", Resource: "arn:aws:kms:eu-west-1:1:key/k" }, /kms:\*/],
    [
      "s3 action on *",
      { Effect: "Allow", Action: "s3:GetObject", Resource: "*" },
      /s3:GetObject on Resource "\*"/,
    ],
    [
      "secret read on *",
      { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*" },
      /GetSecretValue on Resource/,
    ],
    [
      "other action on *",
      { Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "*" },
      /ec2:TerminateInstances/,
    ],
    ["NotAction", { Effect: "Allow", NotAction: "iam:*", Resource: BUCKET }, /NotAction/],
  ])("refuses %s", async (_what, statement, message) => {
    const v = await runPolicies(iamPolicies, [role(doc(statement))]);
    expect(policyNames(v)).toEqual(["iam-least-privilege"]);
    expect(v[0].message).toMatch(message);
  });

  it("checks managed policies, role inline policies (not trust policies) and object documents", async () => {
    const v = await runPolicies(iamPolicies, [
      {
        type: "aws:iam/policy:Policy",
        name: "managed",
        props: inputs<iam.PolicyArgs>({ policy: doc({ Effect: "Allow", Action: "s3:*", Resource: "*" }) }),
      },
      {
        type: "aws:iam/role:Role",
        name: "role",
        props: inputs<iam.RoleArgs>({
          assumeRolePolicy: doc({
            Effect: "Allow",
            Action: "sts:AssumeRole",
            Principal: { Service: "ec2.amazonaws.com" },
          }),
          inlinePolicies: [
            { name: "ok", policy: scoped },
            { name: "wide", policy: doc({ Effect: "Allow", Action: "kms:*", Resource: "*" }) },
          ],
        }),
      },
      {
        type: "aws:iam/userPolicy:UserPolicy",
        name: "object",
        props: { user: "u", policy: JSON.parse(doc({ Effect: "Allow", Action: "*", Resource: "*" })) },
      },
      { type: "aws:iam/policy:Policy", name: "broken", props: inputs<iam.PolicyArgs>({ policy: "{" }) },
    ]);
    expect(v.map((x) => x.urn?.split("::").pop())).toEqual(["managed", "role", "object", "broken"]);
    expect(v[1].message).toMatch(/inline policy "wide"/);
    expect(v[3].message).toMatch(/not valid JSON/);
  });
});

describe("ecs-no-plaintext-secrets", () => {
  const task = (containers: object[]): TestResource => ({
    type: "aws:ecs/taskDefinition:TaskDefinition",
    name: "server",
    props: inputs<ecs.TaskDefinitionArgs>({
      family: "mlflow",
      containerDefinitions: JSON.stringify(containers),
    }),
  });
  const good = {
    name: "mlflow",
    image: "mlflow:3.18.0",
    environment: [
      { name: "MLFLOW_ARTIFACTS_DESTINATION", value: "s3://artifacts-1234/mlflow" },
      { name: "MLFLOW_BACKEND_STORE_URI_SECRET_ARN", value: SECRET },
      { name: "MLFLOW_AUTH_ADMIN_USERNAME", value: "admin" },
    ],
    secrets: [
      { name: "MLFLOW_BACKEND_STORE_URI", valueFrom: SECRET },
      { name: "MLFLOW_FLASK_SERVER_SECRET_KEY", valueFrom: SECRET },
    ],
  };

  it("accepts secrets passed with valueFrom", async () => {
    expect(await runPolicies(ecsPolicies, [task([good])])).toEqual([]);
  });

  it("refuses secret-named environment variables", async () => {
    const v = await runPolicies(ecsPolicies, [
      task([
        {
          ...good,
          environment: [
            { name: "MLFLOW_BACKEND_STORE_URI", value: "postgresql+psycopg2://db.internal/mlflow" },
            { name: "AZURE_STORAGE_CONNECTION_STRING", value: "UseDevelopmentStorage=true" },
            { name: "MLFLOW_AUTH_ADMIN_PASSWORD", value: "correct-horse" },
          ],
        },
      ]),
    ]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(
      /MLFLOW_BACKEND_STORE_URI, AZURE_STORAGE_CONNECTION_STRING, MLFLOW_AUTH_ADMIN_PASSWORD .*secrets: \[\{name, valueFrom/,
    );
  });

  it("refuses credential-looking values under innocent names, and in the command", async () => {
    const v = await runPolicies(ecsPolicies, [
      task([
        {
          ...good,
          environment: [{ name: "DB", value: "postgresql://mlflow:S3cr3tP4ss@db.internal:5432/mlflow" }],
          command: [
            "mlflow",
            "server",
            "--backend-store-uri",
            "postgresql://mlflow:S3cr3tP4ss@db:5432/mlflow",
          ],
        },
      ]),
    ]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/DB holds a URI with an embedded password .*; the command holds a URI/);
  });
});

describe("load balancer listener policies", () => {
  const L = "aws:lb/listener:Listener";
  const https = (sslPolicy?: string): TestResource => ({
    type: L,
    name: "https",
    props: inputs<lb.ListenerArgs>({
      loadBalancerArn: "arn:lb",
      port: 443,
      protocol: "HTTPS",
      sslPolicy,
      certificateArn: "arn:aws:acm:eu-west-1:1:certificate/c",
      defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }],
    }),
  });
  const http = (redirect: boolean, type = L): TestResource => ({
    type,
    name: "http",
    props: inputs<lb.ListenerArgs>({
      loadBalancerArn: "arn:lb",
      port: 80,
      protocol: "HTTP",
      defaultActions: redirect
        ? [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]
        : [{ type: "forward", targetGroupArn: "arn:tg" }],
    }),
  });

  it("accept HTTPS with a TLS 1.3 policy plus an HTTP redirect, or HTTP alone", async () => {
    expect(await runPolicies(lbPolicies, [https("ELBSecurityPolicy-TLS13-1-2-2021-06"), http(true)])).toEqual(
      [],
    );
    expect(await runPolicies(lbPolicies, [http(false)])).toEqual([]);
  });

  it("lb-https-modern-tls: default or old TLS policies, missing certificate", async () => {
    const v = await runPolicies(lbPolicies, [
      https("ELBSecurityPolicy-2016-08"),
      {
        ...https(undefined),
        name: "nocert",
        props: { ...https(undefined).props, certificateArn: undefined },
      },
    ]);
    expect(v.map((x) => x.policy)).toEqual(Array(3).fill("lb-https-modern-tls"));
    expect(v[0].message).toMatch(/ELBSecurityPolicy-TLS13-1-2-2021-06/);
    expect(v[2].message).toMatch(/certificateArn/);
  });

  it("lb-http-redirects-to-https: forwarding plain HTTP next to HTTPS (or an ACM certificate)", async () => {
    const v = await runPolicies(lbPolicies, [https("ELBSecurityPolicy-TLS13-1-2-2021-06"), http(false)]);
    expect(policyNames(v)).toEqual(["lb-http-redirects-to-https"]);
    expect(v[0].urn).toMatch(/::http$/);
    const withCert = await runPolicies(lbPolicies, [
      http(false, "aws:alb/listener:Listener"),
      { type: "aws:acm/certificate:Certificate", name: "cert", props: { domainName: "mlflow.example.com" } },
    ]);
    expect(policyNames(withCert)).toEqual(["lb-http-redirects-to-https"]);
  });
});

describe("no-secrets-in-tags", () => {
  it("accepts ordinary tags and labels", async () => {
    const v = await runPolicies(tagPolicies, [
      {
        type: "aws:s3/bucket:Bucket",
        name: "b",
        props: inputs<s3.BucketArgs>({ tags: { Name: "b", Project: "mlflow-platform", Stack: "dev" } }),
      },
      { type: "gcp:storage/bucket:Bucket", name: "g", props: { labels: { project: "mlflow-platform" } } },
    ]);
    expect(v).toEqual([]);
  });

  it("refuses secret-named tags and secret-looking values, in tags, labels and volumeTags", async () => {
    const v = await runPolicies(tagPolicies, [
      {
        type: "aws:s3/bucket:Bucket",
        name: "named",
        props: inputs<s3.BucketArgs>({ tags: { DbPassword: "x", db_password: "hunter2" } }),
      },
      {
        type: "aws:ec2/instance:Instance",
        name: "valued",
        props: { volumeTags: { Note: "AKIAIOSFODNN7EXAMPLE" } },
      },
      {
        type: "gcp:storage/bucket:Bucket",
        name: "label",
        props: { labels: { conn: "postgresql://u:S3cr3tP4ss@h/db" } },
      },
    ]);
    expect(v.map((x) => x.urn?.split("::").pop())).toEqual(["named", "valued", "label"]);
    expect(v[0].message).toMatch(/db_password/);
  });
});

describe("secret detection", () => {
  it.each([
    "postgresql://mlflow:S3cr3tP4ss@db:5432/mlflow",
    "AKIAIOSFODNN7EXAMPLE",
    "AccountKey=bXlrZXlteWtleW15a2V5bXlrZXk=",
    "export PASSWORD=hunter2hunter2",
    '{"client_secret": "abcd1234efgh"}',
    "--password=hunter2hunter2",
    "-----BEGIN RSA PRIVATE KEY-----",
    "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=abcdefghijklmnopqrstuv%3D",
  ])("flags %s", (text) => {
    expect(findSecrets(text)).not.toEqual([]);
  });

  it.each([
    "postgresql://user:pass@host:5432/db",
    "MLFLOW_BACKEND_STORE_URI_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:1:secret:x",
    'PASSWORD="${MLFLOW_AUTH_ADMIN_PASSWORD}"',
    "password: <your password>",
    "AccountKey=$KEY",
    "http_tokens = required",
    "s3://bucket/prefix",
  ])("does not flag %s", (text) => {
    expect(findSecrets(text)).toEqual([]);
  });

  it("knows secret names from references to secrets", () => {
    expect(
      [
        "MLFLOW_FLASK_SERVER_SECRET_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_CREDENTIALS_JSON",
        "DB_PASSWORD",
      ].every(isSecretName),
    ).toBe(true);
    expect(
      ["MLFLOW_BACKEND_STORE_URI_SECRET_ARN", "SECRET_NAMES", "MLFLOW_AUTH_ADMIN_USERNAME", "Name"].some(
        isSecretName,
      ),
    ).toBe(false);
  });
});
