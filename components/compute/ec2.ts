import * as pulumi from "@pulumi/pulumi";
import * as ec2 from "@pulumi/aws/ec2";
import * as iam from "@pulumi/aws/iam";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as awsS3 from "@pulumi/aws/s3";
import * as route53 from "@pulumi/aws/route53";
import {
  CERTIFICATE_METRIC,
  DEFAULT_HEARTBEAT_NAMESPACE,
  FETCHED_SERVER_FILES,
  FetchedServerFile,
  HEARTBEAT,
  SERVER_ERRORS_METRIC,
  HTTPS_PORT,
  TlsOptions,
  checkMetricNamespace,
  compressUserData,
  readServerFile,
  renderCloudInit,
  serverFileSha256,
} from "../../server/render";
import { createPrivateBucket } from "../privateBucket";
import { IamStatement, afterArtifactGrant, awsPartition, managedPolicyArn, policyDocument } from "../iam";
import { secretVersions } from "../secret";
import type { ComputeContext, ComputeModeModule, ServerDeployment } from "../contracts";
import type { ServerSettings } from "../settings";
import { firstId } from "../subnets";

/** Canonical's AWS account: the only owner whose Ubuntu images we boot. */
export const CANONICAL_OWNER_ID = "099720109477";
export const UBUNTU_LTS_RELEASE = "noble-24.04";
/** nginx listens here; MLflow only on loopback behind it. */
export const HTTP_PORT = 80;
/**
 * The heartbeat alarm fires after this many minutes without a healthy heartbeat (missing counts as
 * unhealthy). It must outlast a normal first boot (apt, then two pip installs of the lock: 5-10 minutes),
 * or every deployment and every server replacement would page; a server that dies is seen within it.
 */
export const HEARTBEAT_ALARM_MINUTES = 15;
/**
 * The certificate alarm fires when the served certificate has had less than this many days left, or is the
 * self-signed stand-in (0), or nothing was published, for CERTIFICATE_ALARM_MINUTES. certbot renews at half the
 * lifetime of a certificate under 10 days and at two thirds above (docs/https.md), so each threshold sits below
 * that point with days to spare: an IP address's 160-hour certificate is renewed with 3.3 days left, and
 * below 2 its renewal has failed about five times; a domain's 90-day certificate is renewed with 30 days left,
 * and below 20 it has failed for ten days, with twenty left to fix it.
 */
export const CERTIFICATE_ALARM_DAYS = Object.freeze({ ipAddress: 2, domain: 20 });
/** Outlasts a first boot (5-10 minutes) plus issuance, so a new server does not page while self-signed. */
export const CERTIFICATE_ALARM_MINUTES = 30;
const CERTIFICATE_ALARM_PERIOD_SECONDS = 300;
/** Port 80's only purposes with HTTPS on: the CA's http-01 challenge and a redirect (policy checks nginx). */
export const ACME_HTTP_INGRESS_DESCRIPTION = "ACME http-01 challenge and redirect to HTTPS only";
/** The record an ACME dns-01 challenge writes for `domain`, and the only one the server may change. */
export function acmeChallengeRecordName(domain: string): string {
  return `_acme-challenge.${domain}`;
}

/** The 5xx alarm fires on more than this many 5xx answers of nginx in 5 minutes (as the load balancer's). */
export const SERVER_ERRORS_ALARM_THRESHOLD = 10;

/** The CloudWatch namespace one deployment's heartbeat goes to: its role may write there only. */
export function heartbeatNamespace(name: string): string {
  return checkMetricNamespace(`${DEFAULT_HEARTBEAT_NAMESPACE}/${name}`);
}

/** What every builder of the EC2 server takes: the component's name, its arguments and its resources' parent. */
interface Ec2Scope {
  name: string;
  parent: pulumi.ComponentResource;
  args: ComputeContext["args"];
  opts: pulumi.CustomResourceOptions;
}

/**
 * One EC2 instance in a public subnet with an Elastic IP: nginx in front of MLflow on 127.0.0.1, under
 * systemd, installed by cloud-init from the files in `server/`. HTTPS on :443 with an ACME certificate for the
 * Elastic IP or `server.domain` (plain HTTP on :80 only with `server.allowPlainHttp`). Reached through SSM,
 * never SSH.
 */
export function createEc2Server({ name, parent, args, secrets }: ComputeContext): ServerDeployment {
  const { settings } = args;
  const transport = serverTransport(settings);
  const scope: Ec2Scope = { name, parent, args, opts: { parent } };
  const partition = awsPartition(scope.opts);

  const securityGroup = createServerSecurityGroup(scope, transport);
  const runtime = createServerRuntimeObjects(scope);
  const namespace = heartbeatNamespace(name);
  const secretArns = pulumi.all(secrets.map((s) => s.secret.arn));
  const access = createServerAccess(scope, { partition, secretArns, runtime, namespace, transport });
  const ami = ubuntuAmi(settings.instanceType, scope.opts);
  const { address, record } = createServerAddress(scope);
  const userData = serverUserData(scope, { address, runtime, secrets, secretArns, namespace, transport });
  const instance = createServerInstance(scope, {
    ami,
    securityGroup,
    profile: access.profile,
    address,
    userData,
    // cloud-init installs packages at first boot only: the subnet's internet route must exist by then.
    // The boot also reads the secrets and the requirements lock: their values and the role's policies too.
    dependsOn: [
      ...(args.network.publicRoutes ?? []),
      ...secretVersions(secrets),
      access.serverPolicy,
      access.ssmAttachment,
      ...(record ? [record] : []),
    ],
  });
  createServerAlarms(scope, { instance, partition, namespace, transport });

  const host = settings.domain ? pulumi.output(settings.domain) : address.publicIp;
  return {
    trackingUri:
      transport.mode === "plain" ? pulumi.interpolate`http://${host}` : pulumi.interpolate`https://${host}`,
    securityGroupId: securityGroup.id,
  };
}

function createServerSecurityGroup({ name, args, opts }: Ec2Scope, transport: Transport): ec2.SecurityGroup {
  return new ec2.SecurityGroup(
    `${name}-server`,
    {
      vpcId: args.network.vpcId,
      description:
        transport.mode === "plain"
          ? "MLflow tracking server: HTTP from the allowed CIDRs only, no SSH"
          : "MLflow tracking server: HTTPS from the allowed CIDRs only, no SSH",
      ingress: serverIngress(args.settings.allowedCidrs, transport),
      // Egress for packages at boot, AWS APIs, the database and foreign-cloud artifact stores.
      egress: [
        { description: "all outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
      ],
      tags: { ...args.tags, Name: `${name}-server` },
    },
    opts,
  );
}

/** A file boot fetches from the runtime bucket, and the sha256 it checks it against. */
interface FetchedObject {
  sha256: string;
  object: awsS3.BucketObjectv2;
}

interface ServerRuntimeObjects {
  bucket: awsS3.Bucket;
  requirements: FetchedObject;
  files: (FetchedObject & { file: FetchedServerFile })[];
}

/**
 * The hash-locked requirements (~200 KB) exceed EC2's 16 KB user data: boot fetches them from a bucket and
 * checks their sha256. The key carries the hash, so a new lock is a new object and a new instance. The server
 * files too large for user data beside the rest (FETCHED_SERVER_FILES) go there likewise, by hash.
 */
function createServerRuntimeObjects(scope: Ec2Scope): ServerRuntimeObjects {
  const { name, parent, args } = scope;
  const bucket = createPrivateBucket(
    `${name}-server-runtime`,
    { protect: false, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 1, tags: args.tags },
    parent,
  );
  const requirements = fetchedObject(
    scope,
    bucket,
    "requirements",
    "requirements.txt",
    (sha256) => `server/requirements-${sha256}.txt`,
  );
  const files = (Object.keys(FETCHED_SERVER_FILES) as FetchedServerFile[]).map((file) => ({
    file,
    ...fetchedObject(
      scope,
      bucket,
      file.replace(/[^A-Za-z0-9]+/g, "-"),
      file,
      (sha256) => `server/${file}-${sha256}`,
    ),
  }));
  return { bucket, requirements, files };
}

/** One file of `server/` as an object of the runtime bucket, under a key that carries its sha256. */
function fetchedObject(
  { name, args, opts }: Ec2Scope,
  bucket: awsS3.Bucket,
  suffix: string,
  file: Parameters<typeof readServerFile>[0],
  keyOf: (sha256: string) => string,
): FetchedObject {
  const sha256 = serverFileSha256(file);
  const object = new awsS3.BucketObjectv2(
    `${name}-server-${suffix}`,
    {
      bucket: bucket.id,
      key: keyOf(sha256),
      content: readServerFile(file),
      contentType: "text/plain",
      tags: args.tags,
    },
    opts,
  );
  return { sha256, object };
}

/** The S3 URI boot fetches an object from. */
function objectUri(bucket: awsS3.Bucket, { object }: FetchedObject): pulumi.Output<string> {
  return pulumi.interpolate`s3://${bucket.bucket}/${object.key}`;
}

/** The ARN the role may read an object by. */
function objectArn(bucket: awsS3.Bucket, { object }: FetchedObject): pulumi.Output<string> {
  return pulumi.interpolate`${bucket.arn}/${object.key}`;
}

interface ServerPolicyInputs {
  partition: pulumi.Output<string>;
  secretArns: pulumi.Output<string[]>;
  runtime: ServerRuntimeObjects;
  namespace: string;
  transport: Transport;
}

/** The instance's role: Session Manager, its own inline policy, and the profile the instance boots with. */
function createServerAccess(
  scope: Ec2Scope,
  inputs: ServerPolicyInputs,
): { ssmAttachment: iam.RolePolicyAttachment; serverPolicy: iam.RolePolicy; profile: iam.InstanceProfile } {
  const { name, args, opts } = scope;
  const role = args.role;
  const ssmAttachment = new iam.RolePolicyAttachment(
    `${name}-ssm`,
    // Session Manager instead of SSH: no key pair, no port 22.
    { role: role.name, policyArn: managedPolicyArn(inputs.partition, "AmazonSSMManagedInstanceCore") },
    opts,
  );
  const serverPolicy = new iam.RolePolicy(
    `${name}-server`,
    { role: role.name, policy: afterArtifactGrant(serverPolicyDocument(inputs), args.artifactEnvironment) },
    opts,
  );
  const profile = new iam.InstanceProfile(`${name}-server`, { role: role.name, tags: args.tags }, opts);
  return { ssmAttachment, serverPolicy, profile };
}

/**
 * What the server may do: read its secrets and the runtime objects, publish its heartbeat, and (dns-01)
 * write its ACME challenge record. The artifact store grants its own access (S3) to the role.
 */
function serverPolicyDocument({
  partition,
  secretArns,
  runtime,
  namespace,
  transport,
}: ServerPolicyInputs): pulumi.Output<string> {
  return pulumi
    .all([
      secretArns,
      objectArn(runtime.bucket, runtime.requirements),
      pulumi.all(runtime.files.map((file) => objectArn(runtime.bucket, file))),
      partition,
    ])
    .apply(([secretArns, requirementsArn, fileArns, partition]) =>
      policyDocument([
        {
          Sid: "ReadServerSecrets",
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: secretArns,
        },
        {
          Sid: "ReadServerRequirements",
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: [requirementsArn, ...fileArns],
        },
        {
          // PutMetricData has no resource type: "*" is the only Resource IAM accepts, and the namespace
          // condition keeps the server to its own heartbeat (AWS's own pattern: CloudWatch user guide,
          // "Using condition keys to limit access to CloudWatch namespaces").
          Sid: "PublishHeartbeat",
          Effect: "Allow",
          Action: "cloudwatch:PutMetricData",
          Resource: "*",
          Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
        },
        ...dns01Statements(transport, partition),
      ]),
    );
}

/** Canonical's newest Ubuntu LTS image for the instance type's architecture (Graviton types are arm64). */
function ubuntuAmi(instanceType: string, opts: pulumi.InvokeOutputOptions): pulumi.Output<ec2.GetAmiResult> {
  const architecture = /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType) ? "arm64" : "amd64";
  return ec2.getAmiOutput(
    {
      owners: [CANONICAL_OWNER_ID],
      mostRecent: true,
      filters: [
        {
          name: "name",
          values: [`ubuntu/images/hvm-ssd-gp3/ubuntu-${UBUNTU_LTS_RELEASE}-${architecture}-server-*`],
        },
        { name: "virtualization-type", values: ["hvm"] },
        { name: "root-device-type", values: ["ebs"] },
      ],
    },
    opts,
  );
}

/**
 * The Elastic IP, and the domain's A record for it. The address exists before the instance so that MLflow's
 * allowed hosts can name it; the name resolves to it before the instance boots, so its first certificate
 * request (http-01: the CA connects to the name) and every client find it.
 */
function createServerAddress({ name, args, opts }: Ec2Scope): { address: ec2.Eip; record?: route53.Record } {
  const { settings, tags, protect } = args;
  const address = new ec2.Eip(
    `${name}-server`,
    { domain: "vpc", tags: { ...tags, Name: `${name}-server` } },
    {
      ...opts,
      protect,
    },
  );
  const record =
    settings.domain && settings.hostedZoneId
      ? new route53.Record(
          `${name}-server`,
          {
            zoneId: settings.hostedZoneId,
            name: settings.domain,
            type: "A",
            ttl: 300,
            records: [address.publicIp],
          },
          opts,
        )
      : undefined;
  return { address, ...(record ? { record } : {}) };
}

/** The gzipped cloud-config that installs and starts the server (server/render.ts renderCloudInit). */
function serverUserData(
  { args }: Ec2Scope,
  {
    address,
    runtime,
    secrets,
    secretArns,
    namespace,
    transport,
  }: {
    address: ec2.Eip;
    runtime: ServerRuntimeObjects;
    secrets: ComputeContext["secrets"];
    secretArns: pulumi.Output<string[]>;
    namespace: string;
    transport: Transport;
  },
): pulumi.Output<string> {
  const { settings } = args;
  return pulumi
    .all([
      address.publicIp,
      address.publicDns,
      pulumi.output(args.artifactRoot),
      pulumi.output(args.artifactEnvironment) as pulumi.Output<Record<string, string>>,
      secretArns,
      objectUri(runtime.bucket, runtime.requirements),
      pulumi.all(runtime.files.map((file) => objectUri(runtime.bucket, file))),
    ])
    .apply(
      ([publicIp, publicDns, artifactRoot, artifactEnvironment, secretArns, requirementsUri, fileUris]) =>
        compressUserData(
          renderCloudInit({
            requirementsSource: { uri: requirementsUri, sha256: runtime.requirements.sha256 },
            serverFileSources: Object.fromEntries(
              runtime.files.map(({ file, sha256 }, i) => [file, { uri: fileUris[i], sha256 }]),
            ) as Record<FetchedServerFile, { uri: string; sha256: string }>,
            artifactsDestination: artifactRoot,
            // The Elastic IP and its public DNS name: nginx forwards the client's Host, which MLflow checks.
            allowedHosts: [...(settings.domain ? [settings.domain] : []), publicIp, publicDns],
            nginxServerNames: [...(settings.domain ? [settings.domain] : []), publicIp, publicDns],
            adminUsername: settings.adminUsername,
            workers: settings.workers,
            // mlflow-gc.timer purges runs deleted longer ago than this, weekly.
            gcOlderThan: `${settings.gcRetentionDays}d`,
            awsRegion: args.awsRegion,
            extraEnvironment: artifactEnvironment,
            secretArns: Object.fromEntries(secrets.map((s, i) => [s.variable, secretArns[i]])),
            heartbeat: { namespace },
            tls: cloudInitTls(transport, publicIp),
          }),
        ),
    );
}

/** The instance, booted from `userData`, and the Elastic IP's association with it. */
function createServerInstance(
  { name, args, opts }: Ec2Scope,
  {
    ami,
    securityGroup,
    profile,
    address,
    userData,
    dependsOn,
  }: {
    ami: pulumi.Output<ec2.GetAmiResult>;
    securityGroup: ec2.SecurityGroup;
    profile: iam.InstanceProfile;
    address: ec2.Eip;
    userData: pulumi.Output<string>;
    /** What boot needs: the internet route, the secrets' values, the role's policies, the domain's record. */
    dependsOn: pulumi.Resource[];
  },
): ec2.Instance {
  const { settings, tags, protect } = args;
  const instance = new ec2.Instance(
    `${name}-server`,
    {
      ami: ami.id,
      instanceType: settings.instanceType,
      subnetId: firstId(args.network.publicSubnetIds, "TrackingServer: publicSubnetIds"),
      vpcSecurityGroupIds: [securityGroup.id],
      iamInstanceProfile: profile.name,
      // A public address from boot so cloud-init can install packages before the EIP is attached.
      associatePublicIpAddress: true,
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      rootBlockDevice: {
        encrypted: true,
        volumeType: "gp3",
        volumeSize: settings.rootVolumeGb,
        deleteOnTermination: true,
      },
      // Gzipped cloud-config: EC2 allows 16 KB of user data and cloud-init unpacks it.
      userDataBase64: userData,
      // The instance is cattle: all state is in RDS and the artifact store, so a new user data means a new box.
      userDataReplaceOnChange: true,
      monitoring: true,
      disableApiTermination: protect,
      // Termination protection stops a console or CLI termination; every server/ change replaces the
      // instance, and without forceDestroy the provider's delete of the old one fails on that protection
      // (OperationNotPermitted), so prod could never be upgraded. The provider lifts the protection only in
      // the deletes Pulumi plans. forceDestroy must be in the state before a replacing up: an instance made
      // before this line needs one up without a server/ change first (or the protection turned off by hand).
      forceDestroy: protect,
      tags: { ...tags, Name: `${name}-server` },
      volumeTags: tags,
    },
    {
      ...opts,
      dependsOn,
      // A newer Ubuntu image alone does not rebuild the server; roll it deliberately (README, Operations).
      ignoreChanges: ["ami"],
    },
  );
  new ec2.EipAssociation(
    `${name}-server`,
    { allocationId: address.allocationId, instanceId: instance.id },
    opts,
  );
  return instance;
}

/** The instance's alarms: two status checks, its heartbeat, its 5xx count and (ACME) its certificate. */
function createServerAlarms(
  scope: Ec2Scope,
  {
    instance,
    partition,
    namespace,
    transport,
  }: { instance: ec2.Instance; partition: pulumi.Output<string>; namespace: string; transport: Transport },
): void {
  // Status checks: a failed host moves the instance to healthy hardware (same EIP and disk); a hung guest
  // (out of memory, full disk) is rebooted. Both tell the alarm topic.
  statusCheckAlarm(scope, instance, partition, "recover", "StatusCheckFailed_System", 2);
  statusCheckAlarm(scope, instance, partition, "reboot", "StatusCheckFailed_Instance", 3);

  const heartbeat: HeartbeatAlarmTarget = { scope, instance, namespace };
  // The server's own heartbeat (server/heartbeat.py, every minute once boot.sh has finished): the status
  // checks see only the box. Missing data is breaching, so a boot that failed or never ends alarms as well
  // as a dead nginx or MLflow. A Route 53 health check would need the allowed CIDRs opened to its checkers
  // and an alarm in us-east-1.
  heartbeatMetricAlarm(heartbeat, "heartbeat", HEARTBEAT, {
    alarmDescription:
      `MLflow server not healthy through nginx for ${HEARTBEAT_ALARM_MINUTES} minutes, or never booted: ` +
      "see /var/log/cloud-init-output.log and journalctl -u mlflow on the instance (SSM)",
    statistic: "Maximum",
    period: HEARTBEAT.periodSeconds,
    evaluationPeriods: (HEARTBEAT_ALARM_MINUTES * 60) / HEARTBEAT.periodSeconds,
    threshold: 1,
    comparisonOperator: "LessThanThreshold",
    treatMissingData: "breaching",
  });

  // What /health cannot see: MLflow answering 5xx (its database or artifact store failing) or nginx
  // answering 502/504 itself, counted from nginx's access log by the heartbeat (SERVER_ERRORS_METRIC, 0 when
  // none). The threshold and window are container mode's target 5xx alarm's: a few client retries of one
  // failed request do not page, a failing server does. Missing data is not breaching: the count is missing
  // only when the heartbeat does not run, and the heartbeat alarm (missing = breaching) already pages for that.
  heartbeatMetricAlarm(
    heartbeat,
    "5xx",
    { metricName: SERVER_ERRORS_METRIC.metricName, dimensionName: HEARTBEAT.dimensionName },
    {
      alarmDescription:
        `MLflow: more than ${SERVER_ERRORS_ALARM_THRESHOLD} server errors (5xx) in 5 minutes: ` +
        "see /var/log/nginx/access.log and journalctl -u mlflow on the instance (SSM)",
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: SERVER_ERRORS_ALARM_THRESHOLD,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    },
  );

  if (transport.mode === "acme") {
    // The days the publicly trusted certificate has left (server/render.ts CERTIFICATE_METRIC). Missing data
    // is breaching: a server that never got a certificate, or stopped publishing, is as bad as one expiring.
    const days = transport.domain ? CERTIFICATE_ALARM_DAYS.domain : CERTIFICATE_ALARM_DAYS.ipAddress;
    heartbeatMetricAlarm(heartbeat, "certificate", CERTIFICATE_METRIC, {
      alarmDescription:
        `MLflow server certificate has less than ${days} days left, is still self-signed, or is not reported, ` +
        `for ${CERTIFICATE_ALARM_MINUTES} minutes: see docs/https.md (the ACME client log on the instance, through SSM)`,
      statistic: "Maximum",
      period: CERTIFICATE_ALARM_PERIOD_SECONDS,
      evaluationPeriods: (CERTIFICATE_ALARM_MINUTES * 60) / CERTIFICATE_ALARM_PERIOD_SECONDS,
      threshold: days,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    });
  }
}

/** A status-check alarm that has EC2 `action` ("recover" or "reboot") the instance and tells the topic. */
function statusCheckAlarm(
  { name, args, opts }: Ec2Scope,
  instance: ec2.Instance,
  partition: pulumi.Output<string>,
  action: "recover" | "reboot",
  metricName: string,
  evaluationPeriods: number,
): cloudwatch.MetricAlarm {
  return new cloudwatch.MetricAlarm(
    `${name}-server-${action}`,
    {
      alarmDescription: `${action === "recover" ? "Recover" : "Reboot"} the MLflow server when ${metricName} fails`,
      namespace: "AWS/EC2",
      metricName,
      dimensions: { InstanceId: instance.id },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      alarmActions: [
        pulumi.interpolate`arn:${partition}:automate:${args.awsRegion}:ec2:${action}`,
        args.alarmTopicArn,
      ],
      tags: args.tags,
    },
    opts,
  );
}

interface HeartbeatAlarmTarget {
  scope: Ec2Scope;
  instance: ec2.Instance;
  /** The deployment's heartbeat namespace (heartbeatNamespace). */
  namespace: string;
}

/** What differs between the alarms on the heartbeat's metrics. */
type HeartbeatAlarmCondition = Pick<
  cloudwatch.MetricAlarmArgs,
  | "alarmDescription"
  | "statistic"
  | "period"
  | "evaluationPeriods"
  | "threshold"
  | "comparisonOperator"
  | "treatMissingData"
>;

/**
 * An alarm on one of the metrics the heartbeat publishes for the instance (server/heartbeat.py), telling the
 * alarm topic when it fires and when it clears.
 */
function heartbeatMetricAlarm(
  { scope: { name, args, opts }, instance, namespace }: HeartbeatAlarmTarget,
  suffix: string,
  metric: { metricName: string; dimensionName: string },
  condition: HeartbeatAlarmCondition,
): cloudwatch.MetricAlarm {
  const { alarmDescription, ...thresholds } = condition;
  return new cloudwatch.MetricAlarm(
    `${name}-server-${suffix}`,
    {
      alarmDescription,
      namespace,
      metricName: metric.metricName,
      dimensions: { [metric.dimensionName]: instance.id },
      ...thresholds,
      alarmActions: [args.alarmTopicArn],
      okActions: [args.alarmTopicArn],
      tags: args.tags,
    },
    opts,
  );
}

/** How the server is reached: an ACME certificate (the default), or plain HTTP when the config says so. */
type Transport =
  | { mode: "plain" }
  | {
      mode: "acme";
      directoryUrl: string;
      email?: string;
      challenge: "http-01" | "dns-01";
      /** Set with a domain: the certificate names it instead of the Elastic IP. */
      domain?: { name: string; hostedZoneId: string };
    };

function serverTransport(settings: ServerSettings): Transport {
  if (settings.allowPlainHttp) return { mode: "plain" };
  const { directoryUrl, email, challenge } = settings.acme;
  const domain =
    settings.domain && settings.hostedZoneId
      ? { name: settings.domain, hostedZoneId: settings.hostedZoneId }
      : undefined;
  if (challenge === "dns-01" && !domain) {
    // Config validation rejects this first; kept here so the component is safe on its own.
    throw new Error("server.acme.challenge dns-01 needs server.domain and server.hostedZoneId");
  }
  return {
    mode: "acme",
    directoryUrl,
    challenge,
    ...(email ? { email } : {}),
    ...(domain ? { domain } : {}),
  };
}

/**
 * HTTPS from the allowed CIDRs. Port 80: with http-01 open to the world, because the CA validates from
 * addresses it does not publish, and nginx serves there only the challenge and a redirect (the policy pack
 * checks the rendered nginx.conf); closed with dns-01; the whole server, to the allowed CIDRs, in plain mode.
 */
interface Ingress {
  description: string;
  protocol: "tcp";
  fromPort: number;
  toPort: number;
  cidrBlocks: string[];
}

function serverIngress(allowedCidrs: string[], transport: Transport): Ingress[] {
  const fromAllowed = (port: number, description: string): Ingress[] =>
    allowedCidrs.map((cidr) => ({
      description,
      protocol: "tcp",
      fromPort: port,
      toPort: port,
      cidrBlocks: [cidr],
    }));
  if (transport.mode === "plain") return fromAllowed(HTTP_PORT, "HTTP to nginx");
  const https = fromAllowed(HTTPS_PORT, "HTTPS to nginx");
  if (transport.challenge === "dns-01") return https;
  return [
    ...https,
    {
      description: ACME_HTTP_INGRESS_DESCRIPTION,
      protocol: "tcp",
      fromPort: HTTP_PORT,
      toPort: HTTP_PORT,
      cidrBlocks: ["0.0.0.0/0"],
    },
  ];
}

/**
 * dns-01 through Route 53, as certbot-dns-route53 does it: find the zone (ListHostedZones, no resource
 * type), UPSERT then DELETE the TXT record, and wait for the change (GetChange). The write is limited to the
 * one record set `_acme-challenge.<domain>` TXT in the one zone.
 */
function dns01Statements(transport: Transport, partition: string): IamStatement[] {
  if (transport.mode !== "acme" || transport.challenge !== "dns-01" || !transport.domain) return [];
  const { name, hostedZoneId } = transport.domain;
  return [
    {
      Sid: "AcmeDns01Record",
      Effect: "Allow",
      Action: "route53:ChangeResourceRecordSets",
      Resource: `arn:${partition}:route53:::hostedzone/${hostedZoneId}`,
      Condition: {
        "ForAllValues:StringEquals": {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames": [acmeChallengeRecordName(name)],
          "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
          "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
        },
      },
    },
    {
      Sid: "AcmeDns01WaitForChange",
      Effect: "Allow",
      Action: "route53:GetChange",
      Resource: `arn:${partition}:route53:::change/*`,
    },
    {
      Sid: "AcmeDns01FindZone",
      Effect: "Allow",
      Action: "route53:ListHostedZones",
      Resource: "*",
    },
  ];
}

/** What the server runtime is told (server/render.ts TlsOptions). */
function cloudInitTls(transport: Transport, publicIp: string): TlsOptions {
  if (transport.mode === "plain") return { mode: "plain" };
  return {
    mode: "acme",
    identifier: transport.domain?.name ?? publicIp,
    directoryUrl: transport.directoryUrl,
    ...(transport.email ? { email: transport.email } : {}),
    challenge: transport.challenge,
    ...(transport.domain ? { hostedZoneId: transport.domain.hostedZoneId } : {}),
  };
}

export const computeMode: ComputeModeModule = {
  name: "ec2",
  assumedBy: "ec2.amazonaws.com",
  // Subnets only in zones that offer the instance type; the instance has a public IP (no NAT needed).
  networkNeeds: (settings) => ({ instanceType: settings.instanceType, natGateway: false }),
  create: createEc2Server,
};
