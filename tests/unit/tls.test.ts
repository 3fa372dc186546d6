// Issue 11: HTTPS by default on every stack. Every TLS mode of both compute modes, and every shipped stack and
// example, under mocks: the tracking URI and clientEnv say https unless the stack asks for plain HTTP; the EC2
// security group opens exactly the ports its mode needs; dns-01 may write only its one TXT record; the
// certificate alarm treats missing data as breaching; the instance waits for its DNS record.
import * as pulumi from "@pulumi/pulumi";
import { Evaluation, ELASTIC_IP, evaluateProgram } from "../support/mockRuntime";
import { ofType, roleStatements, single } from "../support/inspect";
import {
  StackVariant,
  TEST_DOMAIN,
  TEST_ZONE,
  fileVariants,
  matrixVariant,
  matrixVariants,
  tlsVariants,
} from "../support/variants";
import { CERTIFICATE_METRIC, HTTPS_PORT, LETS_ENCRYPT_DIRECTORY } from "../../server/render";
import {
  ACME_HTTP_INGRESS_DESCRIPTION,
  CERTIFICATE_ALARM_DAYS,
  CERTIFICATE_ALARM_MINUTES,
  HEARTBEAT_ALARM_MINUTES,
  HTTP_PORT,
  heartbeatNamespace,
} from "../../components/compute/ec2";
import { IamStatement } from "../../components/iam";

type Ingress = { fromPort: number; toPort: number; cidrBlocks: string[]; description: string };

const serverOf = (v: StackVariant) => JSON.parse(v.config["mlflow-platform:server"] ?? "{}");
const isPlain = (v: StackVariant) => serverOf(v).allowPlainHttp === true;

const evaluations = new Map<string, Promise<Evaluation>>();
function evaluate(variant: StackVariant): Promise<Evaluation> {
  if (!evaluations.has(variant.id)) evaluations.set(variant.id, evaluateProgram(variant));
  return evaluations.get(variant.id) as Promise<Evaluation>;
}

const ec2Group = (e: Evaluation) =>
  ofType(e, "aws:ec2/securityGroup:SecurityGroup").find(
    (g) => g.parent?.type === "mlflow-platform:index:TrackingServer" && g.name.endsWith("-server"),
  )!;
const ingressOf = (e: Evaluation) => ec2Group(e).inputs.ingress as Ingress[];
const ports = (rules: Ingress[]) => [...new Set(rules.map((r) => r.fromPort))].sort((a, b) => a - b);
const route53Statements = (e: Evaluation): IamStatement[] =>
  roleStatements(e, single(e, "aws:iam/role:Role")).filter((s) =>
    [s.Action].flat().some((a) => String(a).startsWith("route53:")),
  );

describe.each([...fileVariants(), ...matrixVariants(), ...tlsVariants()].map((v) => [v.id, v] as const))(
  "%s",
  (_id, variant) => {
    test("trackingUri and clientEnv say https, unless the stack asks for plain HTTP", async () => {
      const e = await evaluate(variant);
      const scheme = isPlain(variant) ? "http" : "https";
      expect(String(e.outputs.trackingUri.value)).toMatch(new RegExp(`^${scheme}://[^/]+$`));
      expect(e.outputs.clientEnv.secret).toBe(true);
      expect(String(e.outputs.clientEnv.value).split("\n")[0]).toBe(
        `MLFLOW_TRACKING_URI=${e.outputs.trackingUri.value}`,
      );
      if (!isPlain(variant)) expect(String(e.outputs.clientEnv.value)).not.toMatch(/http:\/\//);
    });
  },
);

test("every shipped stack and example is https or says allowPlainHttp", async () => {
  for (const variant of fileVariants()) {
    const e = await evaluate(variant);
    expect([
      variant.id,
      String(e.outputs.trackingUri.value).startsWith("https://") || isPlain(variant),
    ]).toEqual([variant.id, true]);
  }
  // As shipped, none asks for plain HTTP.
  expect(
    fileVariants()
      .filter(isPlain)
      .map((v) => v.id),
  ).toEqual([]);
});

describe("EC2", () => {
  const variant = (tls: "ip-http01" | "domain-http01" | "domain-dns01" | "plain") =>
    matrixVariant("dev", "s3", "ec2", tls);
  const allowed = (v: StackVariant): string[] => serverOf(v).allowedCidrs;

  test("ip-http01 (the default): 443 from allowedCidrs; 80 from the world for the challenge and redirect only", async () => {
    const v = variant("ip-http01");
    const e = await evaluate(v);
    const rules = ingressOf(e);
    expect(ports(rules)).toEqual([HTTP_PORT, HTTPS_PORT]);
    expect(rules.filter((r) => r.fromPort === HTTPS_PORT).flatMap((r) => r.cidrBlocks)).toEqual(allowed(v));
    expect(rules.filter((r) => r.fromPort === HTTP_PORT)).toEqual([
      expect.objectContaining({
        toPort: HTTP_PORT,
        cidrBlocks: ["0.0.0.0/0"],
        description: ACME_HTTP_INGRESS_DESCRIPTION,
      }),
    ]);
    expect(e.outputs.trackingUri.value).toBe(`https://${ELASTIC_IP}`);
    expect(ofType(e, "aws:route53/record:Record")).toEqual([]);
    expect(route53Statements(e)).toEqual([]);
  });

  test("domain-http01: the A record names the Elastic IP and the instance waits for it", async () => {
    const e = await evaluate(variant("domain-http01"));
    const record = single(e, "aws:route53/record:Record");
    expect(record.inputs).toMatchObject({
      zoneId: TEST_ZONE,
      name: TEST_DOMAIN,
      type: "A",
      records: [ELASTIC_IP],
    });
    const instance = single(e, "aws:ec2/instance:Instance");
    expect(instance.dependsOn).toContainEqual({ type: record.type, name: record.name });
    expect(instance.waitsFor).toContainEqual({ type: record.type, name: record.name });
    expect(ports(ingressOf(e))).toEqual([HTTP_PORT, HTTPS_PORT]);
    expect(e.outputs.trackingUri.value).toBe(`https://${TEST_DOMAIN}`);
    expect(route53Statements(e)).toEqual([]);
  });

  test("domain-dns01: port 80 closed; the role may change only _acme-challenge.<domain> TXT in the one zone", async () => {
    const v = variant("domain-dns01");
    const e = await evaluate(v);
    const rules = ingressOf(e);
    expect(ports(rules)).toEqual([HTTPS_PORT]);
    expect(rules.flatMap((r) => r.cidrBlocks)).toEqual(allowed(v));
    const instance = single(e, "aws:ec2/instance:Instance");
    const record = single(e, "aws:route53/record:Record");
    expect(instance.dependsOn).toContainEqual({ type: record.type, name: record.name });
    expect(e.outputs.trackingUri.value).toBe(`https://${TEST_DOMAIN}`);
    const found = route53Statements(e);
    const change = found.find((s) => s.Action === "route53:ChangeResourceRecordSets")!;
    expect(change.Resource).toBe(`arn:aws:route53:::hostedzone/${TEST_ZONE}`);
    expect(change.Condition).toEqual({
      "ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`_acme-challenge.${TEST_DOMAIN}`],
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
        "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
      },
    });
    // What certbot-dns-route53 calls besides: find the zone, wait for the change. Nothing else.
    expect(found.map((s) => [s.Action, s.Resource]).sort()).toEqual([
      ["route53:ChangeResourceRecordSets", `arn:aws:route53:::hostedzone/${TEST_ZONE}`],
      ["route53:GetChange", "arn:aws:route53:::change/*"],
      ["route53:ListHostedZones", "*"],
    ]);
  });

  test("plain: port 80 from allowedCidrs only, no 443, no certificate alarm, an http URI", async () => {
    const v = variant("plain");
    const e = await evaluate(v);
    const rules = ingressOf(e);
    expect(ports(rules)).toEqual([HTTP_PORT]);
    expect(rules.flatMap((r) => r.cidrBlocks)).toEqual(allowed(v));
    expect(
      ofType(e, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.endsWith("-certificate")),
    ).toEqual([]);
    expect(e.outputs.trackingUri.value).toBe(`http://${ELASTIC_IP}`);
  });

  test.each(["ip-http01", "domain-http01", "domain-dns01"] as const)(
    "%s: the certificate alarm reads the server's metric, treats missing data as breaching, outlasts a first boot",
    async (tls) => {
      const e = await evaluate(variant(tls));
      const instance = single(e, "aws:ec2/instance:Instance");
      const alarm = ofType(e, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) =>
        a.name.endsWith("-certificate"),
      )!;
      const heartbeat = ofType(e, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) =>
        a.name.endsWith("-heartbeat"),
      )!;
      expect(alarm.inputs).toMatchObject({
        namespace: heartbeatNamespace("mlflow-dev"),
        metricName: CERTIFICATE_METRIC.metricName,
        dimensions: { [CERTIFICATE_METRIC.dimensionName]: `${instance.name}-id` },
        comparisonOperator: "LessThanThreshold",
        threshold: tls === "ip-http01" ? CERTIFICATE_ALARM_DAYS.ipAddress : CERTIFICATE_ALARM_DAYS.domain,
        treatMissingData: "breaching",
        alarmActions: heartbeat.inputs.alarmActions,
        okActions: heartbeat.inputs.okActions,
      });
      expect(alarm.inputs.namespace).toBe(heartbeat.inputs.namespace);
      const minutes = ((alarm.inputs.period as number) * (alarm.inputs.evaluationPeriods as number)) / 60;
      expect(minutes).toBe(CERTIFICATE_ALARM_MINUTES);
      // Longer than the heartbeat's grace (a first boot) and far shorter than the day the threshold leaves.
      expect(minutes).toBeGreaterThan(HEARTBEAT_ALARM_MINUTES);
      expect(minutes).toBeLessThan((alarm.inputs.threshold as number) * 24 * 60);
      // Below the days left when certbot renews (half of an IP address's 160 hours; a third of a domain's 90
      // days), with at least a day of failed renewals before it pages and at least a day to act after.
      const renewsAt = tls === "ip-http01" ? 160 / 24 / 2 : 90 / 3;
      expect(alarm.inputs.threshold as number).toBeLessThanOrEqual(renewsAt - 1);
      expect(alarm.inputs.threshold as number).toBeGreaterThanOrEqual(1);
      if (tls !== "ip-http01") expect(alarm.inputs.threshold as number).toBeGreaterThanOrEqual(14);
    },
  );

  test("the role may publish the certificate metric: the heartbeat's namespace condition covers it", async () => {
    const e = await evaluate(variant("ip-http01"));
    const put = roleStatements(e, single(e, "aws:iam/role:Role")).find(
      (s) => s.Action === "cloudwatch:PutMetricData",
    )!;
    expect(put.Condition).toEqual({
      StringEquals: { "cloudwatch:namespace": heartbeatNamespace("mlflow-dev") },
    });
  });
});

describe("container", () => {
  test("domain (the default): HTTPS with ACM; port 80 only redirects", async () => {
    const e = await evaluate(matrixVariant("dev", "s3", "container"));
    const listeners = ofType(e, "aws:lb/listener:Listener");
    expect(listeners.map((l) => [l.inputs.port, l.inputs.protocol]).sort()).toEqual([
      [443, "HTTPS"],
      [80, "HTTP"],
    ]);
    const http = listeners.find((l) => l.inputs.port === 80)!;
    expect(http.inputs.defaultActions).toEqual([
      { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
    ]);
    expect(e.outputs.trackingUri.value).toBe(`https://${TEST_DOMAIN}`);
  });

  test("plain: only because the stack says allowPlainHttp", async () => {
    const e = await evaluate(matrixVariant("dev", "s3", "container", "plain"));
    expect(ofType(e, "aws:lb/listener:Listener").map((l) => l.inputs.protocol)).toEqual(["HTTP"]);
    expect(String(e.outputs.trackingUri.value)).toMatch(/^http:\/\//);
  });
});

test("the component refuses a container without TLS even when config validation is bypassed", async () => {
  const { createContainerServer } = await import("../../components/compute/container");
  const settings = {
    ...(await import("../../stacks/config")).DEFAULTS.server,
    compute: "container" as const,
  };
  expect(() =>
    createContainerServer({
      name: "mlflow-dev",
      parent: undefined as unknown as pulumi.ComponentResource,
      args: { settings, network: { vpcCidrBlock: pulumi.output("10.0.0.0/16") } } as never,
      secrets: [],
    }),
  ).toThrow(/server\.domain.*server\.allowPlainHttp/);
});

test("the default ACME directory is Let's Encrypt production", async () => {
  const { DEFAULTS } = await import("../../stacks/config");
  expect(DEFAULTS.server.acme.directoryUrl).toBe(LETS_ENCRYPT_DIRECTORY);
});
