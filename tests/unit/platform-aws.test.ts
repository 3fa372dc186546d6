// The default platform (S3 artifacts, EC2 server) for the shipped dev and prod stacks: every security rule
// of DESIGN.md that applies, the wiring between components, and the output contract.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  ELASTIC_IP,
  Evaluation,
  ROOT,
  evaluateProgram,
  markerFor,
  readStackFile,
  stackFile,
} from "../support/mockRuntime";
import {
  asList,
  childrenOf,
  cloudInitFiles,
  ofType,
  single,
  roleStatements,
  statements,
  userDataOf,
} from "../support/inspect";
import {
  FETCHED_SERVER_FILES,
  GC_SCHEDULE,
  HEARTBEAT,
  SERVER_ERRORS_METRIC,
  readServerFile,
  renderGcServiceUnit,
  renderGcTimerUnit,
  serverFileSha256,
} from "../../server/render";
import { HEARTBEAT_ALARM_MINUTES, SERVER_ERRORS_ALARM_THRESHOLD } from "../../components/compute/ec2";
import { bootCommands } from "../support/boot";

const evaluations: Record<string, Evaluation> = {};

/** The one resource of `type` that configures `bucket`. */
function bucketCompanion(ev: Evaluation, type: string, bucket: { state: Record<string, unknown> }) {
  const found = ofType(ev, type).filter((r) => r.inputs.bucket === bucket.state.bucket);
  expect(found).toHaveLength(1);
  return found[0];
}
/** The artifact store's bucket (EC2 stacks have a second one for the server's requirements lock). */
function artifactBucket(ev: Evaluation) {
  const buckets = childrenOf(ev, "aws:s3/bucket:Bucket", "mlflow-platform:index:ArtifactStore");
  expect(buckets).toHaveLength(1);
  return buckets[0];
}
const settingsOf = (stack: string) => readStackFile(stackFile(stack));

beforeAll(async () => {
  for (const stack of ["dev", "prod"]) {
    evaluations[stack] = await evaluateProgram({ stack, ...settingsOf(stack) });
  }
});

describe.each(["dev", "prod"])("stack %s", (stack) => {
  const ev = () => evaluations[stack];
  const prod = stack === "prod";
  const dbSettings = () => JSON.parse(settingsOf(stack).config["mlflow-platform:database"]);

  test("component tree: four components under MlflowPlatform, every resource parented", () => {
    const platform = single(ev(), "mlflow-platform:index:MlflowPlatform");
    expect(platform.parent).toBeUndefined();
    for (const type of ["ArtifactStore", "MetadataDatabase", "TrackingServer", "Network"]) {
      expect(single(ev(), `mlflow-platform:index:${type}`).parent?.type).toBe(
        "mlflow-platform:index:MlflowPlatform",
      );
    }
    const orphans = ev().resources.filter(
      (r) => r.type !== "pulumi:pulumi:Stack" && r !== platform && !r.parent,
    );
    expect(orphans.map((r) => r.name)).toEqual([]);
  });

  test("resource names derive from the component name and are unique per type", () => {
    const seen = new Set<string>();
    for (const r of ev().resources.filter((r) => r.type !== "pulumi:pulumi:Stack")) {
      expect(r.name.startsWith(`mlflow-${stack}`)).toBe(true);
      const key = `${r.type}::${r.name}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
  });

  describe("S3 artifact store", () => {
    test("every bucket is private, encrypted, versioned and TLS-only; the artifact bucket is the store's", () => {
      expect(artifactBucket(ev()).parent?.type).toBe("mlflow-platform:index:ArtifactStore");
      const buckets = ofType(ev(), "aws:s3/bucket:Bucket");
      expect(buckets).toHaveLength(2); // artifacts, and the EC2 server's requirements lock
      for (const bucket of buckets) {
        const of = (type: string) => bucketCompanion(ev(), type, bucket).inputs;
        expect(of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")).toMatchObject({
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        });
        expect(of("aws:s3/bucketOwnershipControls:BucketOwnershipControls").rule).toEqual({
          objectOwnership: "BucketOwnerEnforced",
        });
        const sse = of(
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        ).rules as { applyServerSideEncryptionByDefault: { sseAlgorithm: string } }[];
        expect(sse[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe("aws:kms");
        expect(of("aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration).toEqual({
          status: "Enabled",
        });
        expect(statements(of("aws:s3/bucketPolicy:BucketPolicy").policy)).toContainEqual({
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "s3:*",
          Resource: [bucket.state.arn, `${bucket.state.arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
        expect(of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules).toHaveLength(2);
      }
    });

    test("lifecycle expires noncurrent versions after the configured days and aborts stalled uploads", () => {
      const days = JSON.parse(
        settingsOf(stack).config["mlflow-platform:artifactStore"],
      ).noncurrentVersionExpirationDays;
      const rules = bucketCompanion(
        ev(),
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        artifactBucket(ev()),
      ).inputs.rules as Record<string, unknown>[];
      expect(rules).toContainEqual(
        expect.objectContaining({ status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: days } }),
      );
      expect(rules).toContainEqual(
        expect.objectContaining({
          status: "Enabled",
          abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
        }),
      );
    });

    test(prod ? "prod: bucket protected and retained" : "dev: bucket can be destroyed", () => {
      const bucket = artifactBucket(ev());
      expect(bucket.protect).toBe(prod);
      expect(bucket.retainOnDelete).toBe(prod);
      expect(bucket.inputs.forceDestroy).toBe(!prod);
    });
  });

  describe("metadata database", () => {
    test("private, encrypted, TLS-forced PostgreSQL with backups from config", () => {
      const db = single(ev(), "aws:rds/instance:Instance");
      expect(db.inputs).toMatchObject({
        engine: "postgres",
        publiclyAccessible: false,
        storageEncrypted: true,
        backupRetentionPeriod: dbSettings().backupRetentionDays,
        multiAz: dbSettings().multiAz,
        instanceClass: dbSettings().instanceClass,
      });
      expect(Number(db.inputs.engineVersion)).toBeGreaterThanOrEqual(14);
      const params = single(ev(), "aws:rds/parameterGroup:ParameterGroup").inputs;
      expect(params.parameters).toContainEqual({ name: "rds.force_ssl", value: "1" });
      expect(params.family).toBe(`postgres${db.inputs.engineVersion}`);
    });

    test(prod ? "prod: deletion protection and a final snapshot" : "dev: no deletion protection", () => {
      const db = single(ev(), "aws:rds/instance:Instance");
      expect(db.inputs.deletionProtection).toBe(prod);
      expect(db.inputs.skipFinalSnapshot).toBe(!prod);
      if (prod) expect(db.inputs.finalSnapshotIdentifier).toMatch(/^mlflow-prod-db-final-[0-9a-f]{8}$/);
      else expect(db.inputs.finalSnapshotIdentifier).toBeUndefined();
      expect(db.protect).toBe(prod);
      // A major version change in config must be allowed to apply; minor versions follow automatically.
      expect(db.inputs).toMatchObject({ allowMajorVersionUpgrade: true, autoMinorVersionUpgrade: true });
      // Storage autoscaling up to the configured ceiling (0 would turn it off).
      expect(db.inputs.maxAllocatedStorage).toBe(dbSettings().maxAllocatedStorageGb);
      expect(dbSettings().maxAllocatedStorageGb).toBeGreaterThan(dbSettings().allocatedStorageGb);
    });

    test("alarms on free storage (below the autoscaling trigger) and CPU notify the alarm topic", () => {
      const topic = single(ev(), "aws:sns/topic:Topic").state.arn;
      const db = single(ev(), "aws:rds/instance:Instance");
      const alarms = ofType(ev(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter(
        (a) => a.inputs.namespace === "AWS/RDS",
      );
      expect(alarms.map((a) => a.inputs.metricName).sort()).toEqual(["CPUUtilization", "FreeStorageSpace"]);
      for (const a of alarms) {
        expect(a.inputs.dimensions).toEqual({ DBInstanceIdentifier: db.state.identifier });
        expect(a.inputs.alarmActions).toEqual([topic]);
      }
      // Both shipped stacks autoscale storage, which RDS starts at 10% free of an allocation that only
      // grows: the alarm sits below that, at 5% of the initial allocation, so a normal growth pages nobody.
      const storage = alarms.find((a) => a.inputs.metricName === "FreeStorageSpace")!;
      const initial = dbSettings().allocatedStorageGb * 1024 ** 3;
      expect(dbSettings().maxAllocatedStorageGb).toBeGreaterThan(dbSettings().allocatedStorageGb);
      expect(storage.inputs.threshold).toBeLessThan(initial * 0.1);
      expect(storage.inputs.threshold).toBe(initial * 0.05);
    });

    test("nearing the storage ceiling (and any other low-storage event of the instance) notifies the topic", () => {
      const topic = single(ev(), "aws:sns/topic:Topic").state.arn;
      const db = single(ev(), "aws:rds/instance:Instance");
      expect(single(ev(), "aws:rds/eventSubscription:EventSubscription").inputs).toMatchObject({
        snsTopic: topic,
        sourceType: "db-instance",
        sourceIds: [db.state.identifier],
        eventCategories: ["low storage"],
      });
    });

    test("in the private subnets only", () => {
      const subnets = ofType(ev(), "aws:ec2/subnet:Subnet");
      const privateIds = subnets.filter((s) => s.name.includes("private")).map((s) => `${s.name}-id`);
      expect(privateIds.length).toBeGreaterThanOrEqual(2);
      expect(single(ev(), "aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual(privateIds);
    });

    test("reachable on 5432 only from the server's security group", () => {
      const dbGroup = ofType(ev(), "aws:ec2/securityGroup:SecurityGroup").find((g) =>
        g.name.endsWith("-db"),
      )!;
      const serverGroup = ofType(ev(), "aws:ec2/securityGroup:SecurityGroup").find((g) =>
        g.name.endsWith("-server"),
      )!;
      expect(dbGroup.inputs.ingress ?? []).toEqual([]);
      expect(dbGroup.inputs.egress ?? []).toEqual([]);
      const rules = ofType(ev(), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
        (r) => r.inputs.securityGroupId === `${dbGroup.name}-id`,
      );
      expect(rules).toHaveLength(1);
      expect(rules[0].inputs).toMatchObject({
        referencedSecurityGroupId: `${serverGroup.name}-id`,
        ipProtocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
      });
      expect(rules[0].inputs.cidrIpv4).toBeUndefined();
      expect(single(ev(), "aws:rds/instance:Instance").inputs.vpcSecurityGroupIds).toEqual([
        `${dbGroup.name}-id`,
      ]);
    });

    test("a generated URL-safe password; the server-verifying URI stored only as a secret", () => {
      const password = ofType(ev(), "random:index/randomPassword:RandomPassword").find((p) =>
        p.name.endsWith("-db"),
      )!;
      expect(password.inputs).toMatchObject({ special: false });
      expect(password.inputs.length as number).toBeGreaterThanOrEqual(32);
      const db = single(ev(), "aws:rds/instance:Instance");
      expect(db.wrappedInputs.password).toEqual({ __secret__: markerFor(password.name) });
      const uriVersion = ofType(ev(), "aws:secretsmanager/secretVersion:SecretVersion").find((v) =>
        v.name.endsWith("-db-uri"),
      )!;
      const wrapped = uriVersion.wrappedInputs.secretString as { __secret__: string };
      expect(wrapped.__secret__).toMatch(
        new RegExp(
          `^postgresql://mlflow:${markerFor(password.name)}@.+:5432/mlflow\\?sslmode=verify-full&sslrootcert=/opt/mlflow/server/rds-ca-bundle\\.pem$`,
        ),
      );
    });
  });

  describe("network", () => {
    test("public and private subnets in two or more zones, no NAT for EC2", () => {
      const subnets = ofType(ev(), "aws:ec2/subnet:Subnet");
      const zones = (kind: string) =>
        new Set(subnets.filter((s) => s.name.includes(kind)).map((s) => s.inputs.availabilityZone));
      expect(zones("public").size).toBeGreaterThanOrEqual(2);
      expect(zones("private").size).toBeGreaterThanOrEqual(2);
      expect(subnets.every((s) => s.inputs.mapPublicIpOnLaunch === false)).toBe(true);
      expect(ofType(ev(), "aws:ec2/natGateway:NatGateway")).toHaveLength(0);
      const privateRoutes = ofType(ev(), "aws:ec2/routeTable:RouteTable").find((t) =>
        t.name.endsWith("private-rt"),
      )!;
      expect(privateRoutes.inputs.routes ?? []).toEqual([]);
    });
  });

  describe("tracking server on EC2", () => {
    const instance = () => single(ev(), "aws:ec2/instance:Instance");
    const userData = () => userDataOf(instance());
    const heartbeatAlarm = () =>
      single(ev(), "aws:cloudwatch/metricAlarm:MetricAlarm", `mlflow-${stack}-server-heartbeat`);

    test("IMDSv2, encrypted root volume, no SSH key, in a public subnet, replaced on user data change", () => {
      expect(instance().inputs.metadataOptions).toMatchObject({
        httpTokens: "required",
        httpEndpoint: "enabled",
      });
      expect(instance().inputs.rootBlockDevice).toMatchObject({ encrypted: true });
      expect(instance().inputs.keyName).toBeUndefined();
      expect(instance().inputs.userDataReplaceOnChange).toBe(true);
      expect(instance().inputs.subnetId).toMatch(/-public-0-id$/);
    });

    test("boots only once its subnet routes to the internet; a newer AMI alone does not replace it", () => {
      // Its other dependencies (secret versions, role policies) are checked in deploy-order.test.ts.
      const routes = instance()
        .dependsOn.map((d) => d.type)
        .filter((t) => t.startsWith("aws:ec2/route"))
        .sort();
      expect(routes).toEqual(
        [
          "aws:ec2/routeTable:RouteTable",
          ...ofType(ev(), "aws:ec2/routeTableAssociation:RouteTableAssociation")
            .filter((a) => a.name.includes("-public-"))
            .map((a) => a.type),
        ].sort(),
      );
      const publicRoutes = ofType(ev(), "aws:ec2/routeTable:RouteTable").find((t) =>
        t.name.endsWith("public-rt"),
      )!;
      expect(instance().dependsOn).toContainEqual({ type: publicRoutes.type, name: publicRoutes.name });
      expect(publicRoutes.inputs.routes).toEqual([
        { cidrBlock: "0.0.0.0/0", gatewayId: `mlflow-${stack}-igw-id` },
      ]);
      expect(instance().ignoreChanges).toEqual(["ami"]);
    });

    test("current Ubuntu LTS AMI from Canonical", () => {
      const lookup = ev().calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!;
      expect(lookup.inputs.owners).toEqual(["099720109477"]);
      expect(JSON.stringify(lookup.inputs.filters)).toMatch(/ubuntu-noble-24\.04-(amd64|arm64)-server/);
      expect(lookup.inputs.mostRecent).toBe(true);
      expect(instance().inputs.ami).toBe("ami-0123456789abcdef0");
    });

    test("security group: HTTPS from allowedCidrs, port 80 for the ACME challenge and redirect only, never SSH", () => {
      const allowed = JSON.parse(settingsOf(stack).config["mlflow-platform:server"]).allowedCidrs;
      const group = ofType(ev(), "aws:ec2/securityGroup:SecurityGroup").find((g) =>
        g.name.endsWith("-server"),
      )!;
      const ingress = group.inputs.ingress as {
        fromPort: number;
        toPort: number;
        cidrBlocks: string[];
        description: string;
      }[];
      const https = ingress.filter((r) => r.fromPort === 443);
      expect(https.map((r) => [r.fromPort, r.toPort])).toEqual(allowed.map(() => [443, 443]));
      expect(https.flatMap((r) => r.cidrBlocks)).toEqual(allowed);
      // The CA validates http-01 from addresses it does not publish: port 80 is open to the world.
      expect(ingress.filter((r) => r.fromPort !== 443)).toEqual([
        expect.objectContaining({
          fromPort: 80,
          toPort: 80,
          cidrBlocks: ["0.0.0.0/0"],
          description: expect.stringMatching(/ACME http-01 challenge and redirect to HTTPS only/),
        }),
      ]);
      expect(instance().inputs.vpcSecurityGroupIds).toEqual([`${group.name}-id`]);
    });

    test("an Elastic IP attached to the instance; the tracking URI uses it", () => {
      const association = single(ev(), "aws:ec2/eipAssociation:EipAssociation");
      expect(association.inputs.instanceId).toBe(`${instance().name}-id`);
      expect(ev().outputs.trackingUri.value).toBe(`https://${ELASTIC_IP}`);
    });

    test("role: trusted by EC2, SSM managed, reads exactly the named secrets and the artifact prefix", () => {
      const role = single(ev(), "aws:iam/role:Role");
      expect(statements(role.inputs.assumeRolePolicy)).toEqual([
        { Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "ec2.amazonaws.com" } },
      ]);
      const attachments = ofType(ev(), "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map(
        (a) => a.inputs.policyArn,
      );
      expect(attachments).toEqual(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
      // The server's own policy and the artifact store's grant.
      expect(
        ofType(ev(), "aws:iam/rolePolicy:RolePolicy")
          .map((p) => p.parent?.type)
          .sort(),
      ).toEqual(["mlflow-platform:index:ArtifactStore", "mlflow-platform:index:TrackingServer"]);
      const policy = roleStatements(ev(), role);
      // Only Allows on the server's role: a Deny in any of its policies would override the store's grant.
      expect(policy.every((s) => s.Effect === "Allow")).toBe(true);
      const secretArns = ofType(ev(), "aws:secretsmanager/secret:Secret")
        .map((s) => s.state.arn)
        .sort();
      expect(secretArns).toHaveLength(3);
      const secretStatement = policy.find((s) => asList(s.Action).includes("secretsmanager:GetSecretValue"))!;
      expect(asList(secretStatement.Resource).sort()).toEqual(secretArns);
      const bucketArn = artifactBucket(ev()).state.arn as string;
      const runtimeBucket = ofType(ev(), "aws:s3/bucket:Bucket").find((b) => b !== artifactBucket(ev()))!;
      // The lock and the server files boot fetches: exactly these objects of the runtime bucket.
      const objectArns = ofType(ev(), "aws:s3/bucketObjectv2:BucketObjectv2").map(
        (o) => `${runtimeBucket.state.arn}/${o.inputs.key}`,
      );
      expect(objectArns).toHaveLength(1 + Object.keys(FETCHED_SERVER_FILES).length);
      for (const s of policy.filter((s) => asList(s.Action).some((a) => a.startsWith("s3:")))) {
        for (const resource of asList(s.Resource)) {
          expect([bucketArn, `${bucketArn}/mlflow/*`, ...objectArns]).toContain(resource);
        }
        expect(asList(s.Action).every((a) => a.startsWith("s3:") && !a.includes("*"))).toBe(true);
      }
      expect(policy).toContainEqual({
        Sid: "ReadServerRequirements",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: objectArns,
      });
      // "*" only where IAM has no resource type (PutMetricData), held to the server's own namespace.
      for (const s of policy.filter((s) => asList(s.Resource).includes("*"))) {
        expect(s).toEqual({
          Sid: "PublishHeartbeat",
          Effect: "Allow",
          Action: "cloudwatch:PutMetricData",
          Resource: "*",
          Condition: { StringEquals: { "cloudwatch:namespace": `mlflow-platform/mlflow-${stack}` } },
        });
      }
      expect(single(ev(), "aws:iam/instanceProfile:InstanceProfile").inputs.role).toBe(role.state.name);
    });

    test("heartbeat: the role may put metrics only into the namespace the server and its alarm use", () => {
      const policy = roleStatements(ev(), single(ev(), "aws:iam/role:Role"));
      const cloudwatchStatements = policy.filter((s) =>
        asList(s.Action).some((a) => a.startsWith("cloudwatch:")),
      );
      expect(cloudwatchStatements).toHaveLength(1);
      const [heartbeat] = cloudwatchStatements;
      expect(asList(heartbeat.Action)).toEqual(["cloudwatch:PutMetricData"]);
      const namespace = heartbeat.Condition?.StringEquals?.["cloudwatch:namespace"];
      expect(namespace).toBe(`mlflow-platform/mlflow-${stack}`);
      const unit = cloudInitFiles(userData())["/etc/systemd/system/mlflow-heartbeat.service"];
      expect(unit.split("\n")).toContain(`Environment=MLFLOW_HEARTBEAT_NAMESPACE=${namespace}`);
      expect(unit.split("\n")).toContain(`Environment=MLFLOW_HEARTBEAT_METRIC=${HEARTBEAT.metricName}`);
      // The shipped stacks serve HTTPS: the probe goes to nginx on loopback over TLS (port 80 only redirects).
      expect(unit.split("\n")).toContain("Environment=MLFLOW_HEARTBEAT_URL=https://127.0.0.1/health");
      const alarm = heartbeatAlarm();
      expect(alarm.inputs.namespace).toBe(namespace);
      expect(alarm.inputs.metricName).toBe(HEARTBEAT.metricName);
    });

    test("heartbeat alarm: missing data breaches, so a boot that never finishes alarms like a dead server", () => {
      const topic = single(ev(), "aws:sns/topic:Topic").state.arn;
      const alarm = heartbeatAlarm();
      expect(alarm.inputs).toMatchObject({
        dimensions: { [HEARTBEAT.dimensionName]: `${instance().name}-id` },
        statistic: "Maximum",
        period: HEARTBEAT.periodSeconds,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
        alarmActions: [topic],
        okActions: [topic],
      });
      // Long enough for a first boot (the server is replaced on every server/ change), short enough to matter.
      const minutes = ((alarm.inputs.period as number) * (alarm.inputs.evaluationPeriods as number)) / 60;
      expect(minutes).toBe(HEARTBEAT_ALARM_MINUTES);
      expect(minutes).toBeGreaterThanOrEqual(10);
      expect(minutes).toBeLessThanOrEqual(30);
      expect(alarm.inputs.datapointsToAlarm).toBeUndefined(); // every period of the window must breach
      // The heartbeat starts only once boot.sh has finished.
      const boot = bootCommands(userData());
      const heartbeat = boot.indexOf("systemctl enable --now mlflow-heartbeat.timer");
      expect(heartbeat).toBeGreaterThan(boot.indexOf("systemctl restart nginx.service"));
      expect(boot.slice(heartbeat + 1).filter((c) => !/^(step=|log )/.test(c))).toEqual([]);
    });

    test("5xx alarm: nginx's 5xx answers, counted by the heartbeat, page above the load balancer's threshold", () => {
      const topic = single(ev(), "aws:sns/topic:Topic").state.arn;
      const alarm = single(ev(), "aws:cloudwatch/metricAlarm:MetricAlarm", `mlflow-${stack}-server-5xx`);
      expect(alarm.inputs).toMatchObject({
        namespace: heartbeatAlarm().inputs.namespace,
        metricName: SERVER_ERRORS_METRIC.metricName,
        dimensions: { [HEARTBEAT.dimensionName]: `${instance().name}-id` },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: SERVER_ERRORS_ALARM_THRESHOLD,
        comparisonOperator: "GreaterThanThreshold",
        // No count means no heartbeat, which its own alarm (missing = breaching) reports.
        treatMissingData: "notBreaching",
        alarmActions: [topic],
        okActions: [topic],
      });
      // The heartbeat the server runs publishes that metric from nginx's access log.
      const unit = cloudInitFiles(userData())["/etc/systemd/system/mlflow-heartbeat.service"].split("\n");
      expect(unit).toContain(`Environment=MLFLOW_HEARTBEAT_ERRORS_METRIC=${SERVER_ERRORS_METRIC.metricName}`);
      expect(unit).toContain("Environment=MLFLOW_HEARTBEAT_ACCESS_LOG=/var/log/nginx/access.log");
    });

    test("user data: cloud-config rendered from server/, secrets only as ARNs, allowed hosts name the EIP", () => {
      expect(userData().startsWith("#cloud-config")).toBe(true);
      const files = cloudInitFiles(userData());
      const envFile = Object.entries(files).find(([path]) => path.endsWith(".env"))![1];
      for (const secret of ofType(ev(), "aws:secretsmanager/secret:Secret")) {
        expect(envFile).toContain(secret.state.arn as string);
      }
      expect(envFile).toMatch(/MLFLOW_BACKEND_STORE_URI_SECRET_ARN="arn:aws:secretsmanager:/);
      expect(envFile).toMatch(/MLFLOW_AUTH_ADMIN_PASSWORD_SECRET_ARN=/);
      expect(envFile).toMatch(/MLFLOW_FLASK_SERVER_SECRET_KEY_SECRET_ARN=/);
      expect(envFile).toContain(`MLFLOW_ARTIFACTS_DESTINATION="${ev().outputs.artifactRoot.value}"`);
      const eip = single(ev(), "aws:ec2/eip:Eip").state;
      const allowedHosts = /^MLFLOW_SERVER_ALLOWED_HOSTS="([^"]*)"$/m.exec(envFile)![1].split(",");
      // The Elastic IP and its public DNS name, which nginx passes on as the Host header.
      expect(allowedHosts.slice(0, 4)).toEqual([
        ELASTIC_IP,
        `${ELASTIC_IP}:*`,
        eip.publicDns,
        `${eip.publicDns}:*`,
      ]);
      const nginxConf = Object.entries(files).find(([path]) => path.includes("nginx"))![1];
      expect(nginxConf).toContain(`server_name ${ELASTIC_IP} ${eip.publicDns};`);
      expect(envFile).toMatch(/MLFLOW_AUTH_ADMIN_USERNAME="admin"/);
      // start.sh is fetched by boot.sh: the object the user data names holds it verbatim.
      const startScript = single(
        ev(),
        "aws:s3/bucketObjectv2:BucketObjectv2",
        `mlflow-${stack}-server-start-sh`,
      ).inputs.content as string;
      expect(startScript).toBe(readServerFile("start.sh"));
      expect(startScript).toContain("--serve-artifacts");
      expect(startScript).toMatch(/runtime_helper\.py" migrate/);
      const helper = Object.entries(files).find(([path]) => path.endsWith("runtime_helper.py"))![1];
      expect(helper).toMatch(/from mlflow\.db import upgrade/);
      const unit = Object.entries(files).find(([path]) => path.endsWith(".service"))![1];
      expect(unit).toMatch(/^User=mlflow$/m);
      expect(unit).toMatch(/^Restart=(always|on-failure)$/m);
      const nginx = Object.entries(files).find(([path]) => path.includes("nginx"))![1];
      expect(nginx).toMatch(/listen\s+80/);
      for (const r of ofType(ev(), "random:index/randomPassword:RandomPassword")) {
        expect(userData()).not.toContain(markerFor(r.name));
        expect(JSON.stringify(files)).not.toContain(markerFor(r.name));
      }
    });

    test("user data fits EC2's 16 KB; the full lock is an S3 object the boot fetches and checks", () => {
      const gzipped = Buffer.from(instance().inputs.userDataBase64 as string, "base64");
      expect(gzipped.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(gzipped.length).toBeLessThanOrEqual(16384);
      expect(instance().inputs.userData).toBeUndefined();
      const requirements = single(
        ev(),
        "aws:s3/bucketObjectv2:BucketObjectv2",
        `mlflow-${stack}-server-requirements`,
      );
      const lock = fs.readFileSync(path.join(ROOT, "server", "requirements.txt"), "utf8");
      const sha256 = crypto.createHash("sha256").update(lock).digest("hex");
      expect(requirements.inputs.content).toBe(lock);
      expect(requirements.inputs.key).toBe(`server/requirements-${sha256}.txt`);
      const runtimeBucket = ofType(ev(), "aws:s3/bucket:Bucket").find((b) => b !== artifactBucket(ev()))!;
      expect(requirements.inputs.bucket).toBe(runtimeBucket.state.bucket);
      const bootEnv = cloudInitFiles(userData())["/etc/mlflow/boot.env"];
      expect(bootEnv).toContain(
        `MLFLOW_REQUIREMENTS_URI="s3://${runtimeBucket.state.bucket}/${requirements.inputs.key}"`,
      );
      expect(bootEnv).toContain(`MLFLOW_REQUIREMENTS_SHA256="${sha256}"`);
      // The downloads use the stack's region (boto3 takes none from the instance metadata).
      expect(bootEnv).toContain('AWS_REGION="us-east-1"');
      expect(bootEnv).toContain('AWS_DEFAULT_REGION="us-east-1"');
      expect(bootCommands(userData()).join("\n")).toContain(
        'fetch-object "$MLFLOW_REQUIREMENTS_URI" "$MLFLOW_REQUIREMENTS_SHA256"',
      );
      expect(Object.keys(cloudInitFiles(userData()))).not.toContain("/opt/mlflow/server/requirements.txt");
      // Likewise start.sh and heartbeat.py: an object each, keyed by its sha256, named in boot.env.
      for (const [file, mode] of Object.entries(FETCHED_SERVER_FILES)) {
        const object = single(
          ev(),
          "aws:s3/bucketObjectv2:BucketObjectv2",
          `mlflow-${stack}-server-${file.replace(".", "-")}`,
        );
        const fileSha = serverFileSha256(file);
        expect([object.inputs.content, object.inputs.key]).toEqual([
          readServerFile(file),
          `server/${file}-${fileSha}`,
        ]);
        expect(bootEnv).toContain(
          `${file}|s3://${runtimeBucket.state.bucket}/server/${file}-${fileSha}|${fileSha}|${mode}`,
        );
      }
    });

    test("weekly gc: a persistent timer, enabled at boot, starts `start.sh gc` as the server's user", () => {
      const files = cloudInitFiles(userData());
      const service = files["/etc/systemd/system/mlflow-gc.service"];
      const timer = files["/etc/systemd/system/mlflow-gc.timer"];
      expect(service).toBe(renderGcServiceUnit());
      expect(timer).toBe(renderGcTimerUnit());
      for (const line of [
        "Type=oneshot",
        "User=mlflow",
        "EnvironmentFile=/etc/mlflow/mlflow.env",
        "ExecStart=/opt/mlflow/server/start.sh gc",
        "RuntimeDirectory=mlflow-gc",
      ]) {
        expect(service.split("\n")).toContain(line);
      }
      for (const line of [
        `OnCalendar=${GC_SCHEDULE.systemdOnCalendar}`,
        "Persistent=true",
        "Unit=mlflow-gc.service",
        "WantedBy=timers.target",
      ]) {
        expect(timer.split("\n")).toContain(line);
      }
      expect(timer).toMatch(/^RandomizedDelaySec=[1-9]\d*$/m);
      const boot = bootCommands(userData());
      const enable = boot.indexOf("systemctl enable --now mlflow-gc.timer");
      expect(boot.indexOf("systemctl daemon-reload")).toBeGreaterThan(-1);
      expect(enable).toBeGreaterThan(boot.indexOf("systemctl daemon-reload"));
      // The retention comes from config (server.gcRetentionDays, default 30) through the env file.
      expect(files["/etc/mlflow/mlflow.env"]).toMatch(/^MLFLOW_GC_OLDER_THAN="30d"$/m);
    });

    test("a hung guest is rebooted, and both alarms notify the alarm topic", () => {
      const topic = single(ev(), "aws:sns/topic:Topic").state.arn;
      const alarms = ofType(ev(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter(
        (a) => a.inputs.namespace === "AWS/EC2",
      );
      const reboot = alarms.find((a) => a.inputs.metricName === "StatusCheckFailed_Instance")!;
      expect(reboot.inputs.alarmActions).toEqual(["arn:aws:automate:us-east-1:ec2:reboot", topic]);
      expect(alarms.every((a) => (a.inputs.alarmActions as string[]).includes(topic as string))).toBe(true);
    });

    test("a failed host is recovered automatically", () => {
      const alarm = ofType(ev(), "aws:cloudwatch/metricAlarm:MetricAlarm").find(
        (a) => a.inputs.metricName === "StatusCheckFailed_System",
      )!;
      expect((alarm.inputs.alarmActions as string[])[0]).toBe("arn:aws:automate:us-east-1:ec2:recover");
      expect(alarm.inputs.dimensions).toEqual({ InstanceId: `${instance().name}-id` });
    });

    test("authentication: admin password and Flask key generated and stored in Secrets Manager", () => {
      const passwords = ofType(ev(), "random:index/randomPassword:RandomPassword").map((p) => p.name);
      const secrets = ofType(ev(), "aws:secretsmanager/secret:Secret").map((s) => s.name);
      expect(passwords).toEqual(expect.arrayContaining([`mlflow-${stack}-flask-key`]));
      expect(secrets).toEqual(
        expect.arrayContaining([
          `mlflow-${stack}-admin-password`,
          `mlflow-${stack}-flask-key`,
          `mlflow-${stack}-db-uri`,
        ]),
      );
      for (const version of ofType(ev(), "aws:secretsmanager/secretVersion:SecretVersion")) {
        expect(version.wrappedInputs.secretString).toEqual({ __secret__: expect.any(String) });
      }
      const recovery = ofType(ev(), "aws:secretsmanager/secret:Secret").map(
        (s) => s.inputs.recoveryWindowInDays,
      );
      expect(new Set(recovery)).toEqual(new Set([prod ? 30 : 0]));
    });
  });

  test("outputs: the contract's names; clientEnv is a secret with the client's .env", () => {
    const outputs = ev().outputs;
    expect(Object.keys(outputs).sort()).toEqual([
      "alarmTopicArn",
      "artifactRoot",
      "clientEnv",
      "databaseEndpoint",
      "serverCompute",
      "trackingUri",
    ]);
    expect(outputs.artifactRoot.value).toMatch(/^s3:\/\/mlflow-[a-z]+-artifacts-[a-z0-9]+\/mlflow$/);
    expect(outputs.databaseEndpoint.value).toMatch(/\.rds\.amazonaws\.com:5432$/);
    expect(outputs.serverCompute.value).toBe("ec2");
    for (const name of ["artifactRoot", "databaseEndpoint", "serverCompute", "trackingUri"]) {
      expect(outputs[name].secret).toBe(false);
    }
    expect(outputs.clientEnv.secret).toBe(true);
    const lines = (outputs.clientEnv.value as string).trim().split("\n");
    expect(lines[0]).toBe(`MLFLOW_TRACKING_URI=https://${ELASTIC_IP}`);
    expect(lines[1]).toBe("MLFLOW_TRACKING_USERNAME=admin");
    expect(lines[2]).toMatch(/^MLFLOW_TRACKING_PASSWORD=.{12,}$/);
  });

  test("every taggable resource carries the project and stack tags", () => {
    const taggable = ev().resources.filter((r) => r.custom && r.inputs.tags !== undefined);
    expect(taggable.length).toBeGreaterThan(10);
    for (const r of taggable) {
      expect(r.inputs.tags).toMatchObject({ Project: "mlflow-platform", Stack: stack, ManagedBy: "pulumi" });
    }
  });
});

test("server.gcRetentionDays reaches the EC2 server's environment as MLFLOW_GC_OLDER_THAN", async () => {
  const { config, secretKeys } = settingsOf("dev");
  const server = JSON.parse(config["mlflow-platform:server"] ?? "{}");
  const ev = await evaluateProgram({
    stack: "dev",
    config: { ...config, "mlflow-platform:server": JSON.stringify({ ...server, gcRetentionDays: 90 }) },
    secretKeys,
  });
  const userData = userDataOf(single(ev, "aws:ec2/instance:Instance"));
  expect(cloudInitFiles(userData)["/etc/mlflow/mlflow.env"]).toMatch(/^MLFLOW_GC_OLDER_THAN="90d"$/m);
});

test("alarm emails subscribe to the alarm topic", async () => {
  const { config, secretKeys } = settingsOf("dev");
  const ev = await evaluateProgram({
    stack: "dev",
    config: {
      ...config,
      "mlflow-platform:alarmEmails": JSON.stringify(["oncall@example.com", "ml@example.com"]),
    },
    secretKeys,
  });
  const subscriptions = ofType(ev, "aws:sns/topicSubscription:TopicSubscription").map((s) => s.inputs);
  const topic = single(ev, "aws:sns/topic:Topic").state.arn;
  expect(subscriptions).toEqual([
    { topic, protocol: "email", endpoint: "oncall@example.com" },
    { topic, protocol: "email", endpoint: "ml@example.com" },
  ]);
  expect(ev.outputs.alarmTopicArn.value).toBe(topic);
});

test("an admin password from config is used instead of a generated one, and stays secret", async () => {
  const { config, secretKeys } = settingsOf("dev");
  const password = "a-config-password-1234";
  const ev = await evaluateProgram({
    stack: "dev",
    config: { ...config, "mlflow-platform:adminPassword": password },
    secretKeys: [...secretKeys, "mlflow-platform:adminPassword"],
  });
  expect(ofType(ev, "random:index/randomPassword:RandomPassword").map((p) => p.name)).not.toContain(
    "mlflow-dev-admin",
  );
  const version = ofType(ev, "aws:secretsmanager/secretVersion:SecretVersion").find((v) =>
    v.name.endsWith("admin-password"),
  )!;
  expect(version.wrappedInputs.secretString).toEqual({ __secret__: password });
  expect(ev.outputs.clientEnv.value).toContain(`MLFLOW_TRACKING_PASSWORD=${password}`);
  expect(ev.outputs.clientEnv.secret).toBe(true);
});
