import * as pulumi from "@pulumi/pulumi";
import * as acm from "@pulumi/aws/acm";
import * as appautoscaling from "@pulumi/aws/appautoscaling";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as lb from "@pulumi/aws/lb";
import * as route53 from "@pulumi/aws/route53";
import * as scheduler from "@pulumi/aws/scheduler";
import { GC_SCHEDULE, renderServerEnvironment } from "../../server/render";
import { IamStatement, assumeRolePolicy, policyDocument } from "../iam";
import type { ComputeContext, ComputeModeModule, ServerDeployment } from "../contracts";
import { RENEWED_WHILE_RUNNING, ServerSecret, secretVersions } from "../secret";
import { ServerImage, buildServerImage } from "./image";

/** MLflow listens here in the task; only the load balancer reaches it. */
export const CONTAINER_PORT = 5000;
export const CONTAINER_NAME = "mlflow";
export const HEALTH_CHECK_PATH = "/health";
/** TLS 1.3 and 1.2 only, forward-secret ciphers (AWS's recommended ALB policy). */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** Seconds a connection may sit idle: MLflow answers a large proxied upload only after storing it. */
export const IDLE_TIMEOUT_SECONDS = 900;
/** Seconds a stopping task keeps finishing in-flight requests (large artifact uploads and downloads). */
export const DEREGISTRATION_DELAY_SECONDS = 600;
/** Fargate's maximum: uvicorn finishes in-flight requests after the load balancer has drained. */
export const STOP_TIMEOUT_SECONDS = 120;
/** A new task serves after this many consecutive passing checks, this many seconds apart. */
export const HEALTH_CHECK_INTERVAL_SECONDS = 15;
export const HEALTHY_THRESHOLD = 2;
/**
 * Within one MLflow version the schema never changes: deploys roll (new tasks start and get healthy before the
 * old ones stop; no downtime). Across versions see `serviceName`.
 */
export const DEPLOYMENT_MINIMUM_HEALTHY_PERCENT = 100;
export const DEPLOYMENT_MAXIMUM_PERCENT = 200;

/**
 * The ECS service's name carries the MLflow version, and the service is replaced delete-before-create. So a
 * version change (the only thing that changes the database schema) stops every old task before a new one
 * migrates (under start.sh's advisory lock) and serves: old and new code never share a schema. MLflow refuses
 * to start on a schema other than its own, and most of its migrations alter or drop columns.
 */
export function serviceName(name: string, mlflowVersion: string): string {
  return `${name}-mlflow-${mlflowVersion.replace(/[^0-9A-Za-z]+/g, "-")}`;
}
/** Seconds ECS ignores failing load balancer health checks of a new task: waiting for the lock and migrating. */
export const HEALTH_CHECK_GRACE_SECONDS = 600;
/** Task scratch space: MLflow spools proxied uploads to /tmp before writing them to the artifact store. */
export const EPHEMERAL_STORAGE_GIB = 50;

/** What every builder below needs: the resource name prefix, the server's args and the component parent. */
interface Builder {
  name: string;
  args: ComputeContext["args"];
  opts: pulumi.CustomResourceOptions;
}

/**
 * MLflow on ECS Fargate behind an Application Load Balancer: tasks in private subnets (egress through the
 * network's NAT gateway), the only public endpoint is the load balancer (HTTPS with an ACM certificate on
 * `server.domain`; plain HTTP only with `server.allowPlainHttp`), secrets injected by ECS from Secrets Manager
 * (the artifact store's credential read and re-read by the server itself, so a renewal needs no restart), CPU
 * target-tracking autoscaling.
 */
export function createContainerServer({ name, parent, args, secrets }: ComputeContext): ServerDeployment {
  const { settings } = args;
  const tls = settings.domain !== undefined;
  if (tls && !settings.hostedZoneId) throw new Error("server.domain needs server.hostedZoneId");
  if (!tls && !settings.allowPlainHttp) {
    // Config validation rejects this first; kept here so the component never serves clear text unasked.
    throw new Error(
      "container compute: an internet-facing load balancer without TLS; set server.domain (HTTPS) or server.allowPlainHttp: true",
    );
  }
  if (!args.network.vpcCidrBlock) throw new Error("container compute needs network.vpcCidrBlock");
  const b: Builder = { name, args, opts: { parent } };

  const groups = createSecurityGroups(b, tls, args.network.vpcCidrBlock);
  const { loadBalancer, targetGroup } = createLoadBalancer(b, groups.alb);
  const entry = tls
    ? createHttpsEntry(b, loadBalancer, targetGroup)
    : createHttpEntry(b, loadBalancer, targetGroup);

  const image = buildServerImage(
    name,
    {
      mlflowVersion: settings.mlflowVersion,
      retentionCount: settings.container.imageRetentionCount,
      protect: args.protect,
      tags: args.tags,
    },
    b.opts,
  );
  const logGroup = new cloudwatch.LogGroup(
    `${name}-server`,
    { retentionInDays: settings.logRetentionDays, tags: args.tags },
    b.opts,
  );
  // ECS injects a secret once, when a task starts. The artifact store's credential is instead read by the
  // server (the task role) from Secrets Manager and re-read while it runs, as on EC2 (server/start.sh).
  const renewed = secrets.filter((s) => RENEWED_WHILE_RUNNING.includes(s.variable));
  const injected = secrets.filter((s) => !renewed.includes(s));
  // The execution role may still read the renewed credential: task definitions before that change injected it,
  // and a task of such a revision (a circuit-breaker rollback, a task replaced mid-rollout) must start.
  const roles = createTaskRoles(b, image, logGroup, secrets, renewed);
  const taskDefinition = createTaskDefinition(b, {
    imageUri: image.imageUri,
    logGroup,
    secrets: injected,
    renewedSecrets: renewed,
    allowedHosts: entry.allowedHosts,
    executionRole: roles.executionRole,
  });
  // A task reads every secret (ECS or start.sh) and uses both roles the moment it starts: neither the
  // service nor the gc schedule may start one before the secrets have values and the policies exist. The
  // database URI's version is written only once RDS is available, long after its secret's ARN exists.
  const taskStart: TaskStart = {
    taskDefinition,
    taskSecurityGroup: groups.tasks,
    dependencies: [...secretVersions(secrets), roles.executionPolicy, roles.taskPolicy],
  };
  const { cluster, service } = createService(b, taskStart, targetGroup, entry.listeners);
  createGcSchedule(b, taskStart, cluster, roles.executionRole);
  createAutoscaling(b, cluster, service);
  createLoadBalancerAlarms(b, loadBalancer, targetGroup, service);
  createLogAlarm(b, logGroup, GC_FAILURE_ALARM);
  if (renewed.length > 0) createLogAlarm(b, logGroup, CREDENTIAL_READ_ALARM);

  return { trackingUri: entry.trackingUri, securityGroupId: groups.tasks.id };
}

/** The network exposure: the load balancer is the only public thing; the tasks admit only it. */
function createSecurityGroups(
  { name, args, opts }: Builder,
  tls: boolean,
  vpcCidrBlock: pulumi.Input<string>,
): { alb: ec2.SecurityGroup; tasks: ec2.SecurityGroup } {
  const { settings, tags } = args;
  const listenerPorts = tls ? [80, 443] : [80];
  const albSecurityGroup = new ec2.SecurityGroup(
    `${name}-alb`,
    {
      vpcId: args.network.vpcId,
      description: `MLflow load balancer: ${listenerPorts.join(", ")} from the allowed CIDRs`,
      ingress: listenerPorts.flatMap((port) =>
        settings.allowedCidrs.map((cidr) => ({
          description: port === 443 ? "HTTPS" : tls ? "HTTP (redirects to HTTPS)" : "HTTP",
          protocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrBlocks: [cidr],
        })),
      ),
      egress: [
        {
          description: "MLflow tasks",
          protocol: "tcp",
          fromPort: CONTAINER_PORT,
          toPort: CONTAINER_PORT,
          cidrBlocks: [vpcCidrBlock],
        },
      ],
      tags: { ...tags, Name: `${name}-alb` },
    },
    opts,
  );
  const taskSecurityGroup = new ec2.SecurityGroup(
    `${name}-server`,
    {
      vpcId: args.network.vpcId,
      // EC2 descriptions allow only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$* (no apostrophe), 255 at most.
      description: "MLflow tasks: MLflow port from the load balancer only",
      ingress: [
        {
          description: "MLflow from the load balancer",
          protocol: "tcp",
          fromPort: CONTAINER_PORT,
          toPort: CONTAINER_PORT,
          securityGroups: [albSecurityGroup.id],
        },
      ],
      // ECR, Secrets Manager, CloudWatch Logs, the database and (foreign-cloud) artifact stores.
      egress: [
        { description: "all outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
      ],
      tags: { ...tags, Name: `${name}-server` },
    },
    opts,
  );
  return { alb: albSecurityGroup, tasks: taskSecurityGroup };
}

function createLoadBalancer(
  { name, args, opts }: Builder,
  albSecurityGroup: ec2.SecurityGroup,
): { loadBalancer: lb.LoadBalancer; targetGroup: lb.TargetGroup } {
  const { tags, protect } = args;
  const loadBalancer = new lb.LoadBalancer(
    `${name}-server`,
    {
      // Load balancer and target group names are limited to 32 characters: a short prefix, unique suffix.
      namePrefix: "mlflow",
      loadBalancerType: "application",
      internal: false,
      subnets: args.network.publicSubnetIds,
      securityGroups: [albSecurityGroup.id],
      dropInvalidHeaderFields: true,
      enableDeletionProtection: protect,
      idleTimeout: IDLE_TIMEOUT_SECONDS,
      enableHttp2: true,
      tags,
    },
    { ...opts, protect },
  );
  const targetGroup = new lb.TargetGroup(
    `${name}-server`,
    {
      namePrefix: "mlflow",
      targetType: "ip",
      vpcId: args.network.vpcId,
      protocol: "HTTP",
      port: CONTAINER_PORT,
      deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
      healthCheck: {
        enabled: true,
        // Unauthenticated and exempt from MLflow's host check, so it works with basic auth on.
        path: HEALTH_CHECK_PATH,
        protocol: "HTTP",
        port: "traffic-port",
        matcher: "200",
        interval: HEALTH_CHECK_INTERVAL_SECONDS,
        timeout: 5,
        healthyThreshold: HEALTHY_THRESHOLD,
        unhealthyThreshold: 3,
      },
      tags,
    },
    opts,
  );
  return { loadBalancer, targetGroup };
}

/** How clients reach the load balancer, and the names MLflow accepts as its host. */
interface Entry {
  listeners: lb.Listener[];
  trackingUri: pulumi.Output<string>;
  allowedHosts: pulumi.Output<string[]>;
}

/** HTTPS on `server.domain` with a DNS-validated ACM certificate; HTTP redirects to it. */
function createHttpsEntry(
  { name, args, opts }: Builder,
  loadBalancer: lb.LoadBalancer,
  targetGroup: lb.TargetGroup,
): Entry {
  const { settings, tags } = args;
  const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
  const listeners: lb.Listener[] = [];
  const domain = settings.domain as string;
  const zoneId = settings.hostedZoneId as string;
  const certificate = new acm.Certificate(
    `${name}-server`,
    { domainName: domain, validationMethod: "DNS", tags },
    opts,
  );
  const validation = certificate.domainValidationOptions.apply((options) => {
    const option = options.find((o) => o.domainName === domain);
    if (!option) throw new Error(`ACM returned no DNS validation record for ${domain}`);
    return option;
  });
  const validationRecord = new route53.Record(
    `${name}-server-cert-validation`,
    {
      zoneId,
      name: validation.resourceRecordName,
      type: validation.resourceRecordType,
      records: [validation.resourceRecordValue],
      ttl: 300,
      allowOverwrite: true,
    },
    opts,
  );
  const validated = new acm.CertificateValidation(
    `${name}-server`,
    { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
    opts,
  );
  listeners.push(
    new lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: 443,
        protocol: "HTTPS",
        sslPolicy: TLS_POLICY,
        // The validated certificate: the listener waits until ACM has issued it.
        certificateArn: validated.certificateArn,
        defaultActions: forward,
        routingHttpResponseStrictTransportSecurityHeaderValue: "max-age=31536000; includeSubDomains",
        tags,
      },
      opts,
    ),
    new lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [
          { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
        ],
        tags,
      },
      opts,
    ),
  );
  new route53.Record(
    `${name}-server`,
    {
      zoneId,
      name: domain,
      type: "A",
      aliases: [{ name: loadBalancer.dnsName, zoneId: loadBalancer.zoneId, evaluateTargetHealth: true }],
    },
    opts,
  );
  return {
    listeners,
    trackingUri: pulumi.output(`https://${domain}`),
    allowedHosts: loadBalancer.dnsName.apply((dns) => [domain, dns]),
  };
}

/** Plain HTTP on the load balancer's DNS name: only with `server.allowPlainHttp`. */
function createHttpEntry(
  { name, args, opts }: Builder,
  loadBalancer: lb.LoadBalancer,
  targetGroup: lb.TargetGroup,
): Entry {
  const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
  const listener = new lb.Listener(
    `${name}-http`,
    {
      loadBalancerArn: loadBalancer.arn,
      port: 80,
      protocol: "HTTP",
      defaultActions: forward,
      tags: args.tags,
    },
    opts,
  );
  return {
    listeners: [listener],
    trackingUri: pulumi.interpolate`http://${loadBalancer.dnsName}`,
    allowedHosts: loadBalancer.dnsName.apply((dns) => [dns]),
  };
}

/** The execution role (ECS's) with its policy, and the task role's (the server's) policy. */
function createTaskRoles(
  { name, args, opts }: Builder,
  image: ServerImage,
  logGroup: cloudwatch.LogGroup,
  secrets: ServerSecret[],
  renewedSecrets: ServerSecret[],
): { executionRole: iam.Role; executionPolicy: iam.RolePolicy; taskPolicy: iam.RolePolicy } {
  const { tags } = args;
  const secretArns = pulumi.all(secrets.map((s) => s.secret.arn));
  const renewedArns = pulumi.all(renewedSecrets.map((s) => s.secret.arn));
  // The execution role is ECS's, not the server's: pull this image, write this log group, read these secrets.
  const executionRole = new iam.Role(
    `${name}-execution`,
    {
      description: "ECS agent for the MLflow tasks: image pull, logs, secret injection",
      assumeRolePolicy: assumeRolePolicy("ecs-tasks.amazonaws.com"),
      tags,
    },
    opts,
  );
  const executionPolicy = new iam.RolePolicy(
    `${name}-execution`,
    {
      role: executionRole.name,
      policy: pulumi
        .all([image.repository.arn, logGroup.arn, secretArns])
        .apply(([repositoryArn, logGroupArn, arns]) =>
          policyDocument(executionRoleStatements(repositoryArn, logGroupArn, arns)),
        ),
    },
    opts,
  );
  // The task role (the server itself): the artifact store, and reading its credential's secret (foreign
  // clouds), nothing else. ECS injects the other secrets.
  const taskPolicy = new iam.RolePolicy(
    `${name}-server`,
    {
      role: args.role.name,
      policy: pulumi
        .all([pulumi.output(args.artifactPolicyStatements) as pulumi.Output<IamStatement[]>, renewedArns])
        .apply(([artifactStatements, arns]) => {
          const statements: IamStatement[] = [
            ...artifactStatements,
            ...(arns.length > 0
              ? [
                  {
                    Sid: "ReadArtifactCredential",
                    Effect: "Allow" as const,
                    Action: "secretsmanager:GetSecretValue",
                    Resource: arns,
                  },
                ]
              : []),
          ];
          return policyDocument(
            statements.length > 0
              ? statements
              : // IAM rejects an empty policy; this backend needs no AWS permission at all.
                [{ Sid: "NoAwsAccessNeeded", Effect: "Deny", Action: "*", Resource: "*" }],
          );
        }),
    },
    opts,
  );
  return { executionRole, executionPolicy, taskPolicy };
}

function createTaskDefinition(
  { name, args, opts }: Builder,
  inputs: {
    imageUri: pulumi.Output<string>;
    logGroup: cloudwatch.LogGroup;
    secrets: ServerSecret[];
    /** Given to start.sh as `<variable>_SECRET_ARN`: it reads them itself and re-reads them while it runs. */
    renewedSecrets: ServerSecret[];
    allowedHosts: pulumi.Output<string[]>;
    executionRole: iam.Role;
  },
): ecs.TaskDefinition {
  const { settings, tags } = args;
  const container = settings.container;
  const { logGroup, secrets, renewedSecrets, allowedHosts, executionRole } = inputs;
  const secretArns = pulumi.all(secrets.map((s) => s.secret.arn));
  const environment = pulumi
    .all([
      pulumi.output(args.artifactRoot),
      pulumi.output(args.artifactEnvironment) as pulumi.Output<Record<string, string>>,
      allowedHosts,
      pulumi.all(renewedSecrets.map((s) => s.secret.arn)),
    ])
    .apply(([artifactRoot, artifactEnvironment, hosts, renewedArns]) =>
      renderServerEnvironment({
        artifactsDestination: artifactRoot,
        allowedHosts: hosts,
        adminUsername: settings.adminUsername,
        host: "0.0.0.0",
        port: CONTAINER_PORT,
        workers: settings.workers,
        // The weekly gc task (below) purges runs deleted longer ago than this.
        gcOlderThan: `${settings.gcRetentionDays}d`,
        awsRegion: args.awsRegion,
        extraEnvironment: artifactEnvironment,
        // Only the renewed ones: ECS injects the others under their plain names (task definition `secrets`).
        secretArns: Object.fromEntries(renewedSecrets.map((s, i) => [s.variable, renewedArns[i]])),
      }),
    );
  const containerDefinitions = pulumi
    .all([inputs.imageUri, environment, secretArns, logGroup.name])
    .apply(([imageUri, env, arns, logGroupName]) =>
      JSON.stringify([
        {
          name: CONTAINER_NAME,
          image: imageUri,
          essential: true,
          user: "10001:10001",
          readonlyRootFilesystem: true,
          portMappings: [{ containerPort: CONTAINER_PORT, protocol: "tcp", name: "http" }],
          environment: Object.keys(env)
            .sort()
            .map((key) => ({ name: key, value: env[key] })),
          secrets: secrets.map((s, i) => ({ name: s.variable, valueFrom: arns[i] })),
          // Fargate has no tmpfs: a task volume (on the task's ephemeral storage) is the writable /tmp.
          mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
          linuxParameters: { initProcessEnabled: true },
          ulimits: [{ name: "nofile", softLimit: 65536, hardLimit: 65536 }],
          stopTimeout: STOP_TIMEOUT_SECONDS,
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": logGroupName,
              "awslogs-region": args.awsRegion,
              "awslogs-stream-prefix": "mlflow",
              mode: "non-blocking",
              "max-buffer-size": "4m",
            },
          },
        },
      ]),
    );
  const taskDefinition = new ecs.TaskDefinition(
    `${name}-server`,
    {
      family: `${name}-server`,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(container.cpu),
      memory: String(container.memoryMb),
      runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
      ephemeralStorage: { sizeInGib: EPHEMERAL_STORAGE_GIB },
      volumes: [{ name: "tmp" }],
      executionRoleArn: executionRole.arn,
      taskRoleArn: args.role.arn,
      containerDefinitions,
      tags,
    },
    opts,
  );
  return taskDefinition;
}

/** What starts a task (the service and the gc schedule): its definition, its network, what it needs first. */
interface TaskStart {
  taskDefinition: ecs.TaskDefinition;
  taskSecurityGroup: ec2.SecurityGroup;
  dependencies: pulumi.Resource[];
}

function createService(
  { name, args, opts }: Builder,
  { taskDefinition, taskSecurityGroup, dependencies }: TaskStart,
  targetGroup: lb.TargetGroup,
  listeners: lb.Listener[],
): { cluster: ecs.Cluster; service: ecs.Service } {
  const { settings, tags } = args;
  const container = settings.container;
  const cluster = new ecs.Cluster(
    `${name}-server`,
    { settings: [{ name: "containerInsights", value: "enabled" }], tags },
    opts,
  );
  const service = new ecs.Service(
    `${name}-server`,
    {
      name: serviceName(name, settings.mlflowVersion),
      cluster: cluster.arn,
      taskDefinition: taskDefinition.arn,
      launchType: "FARGATE",
      desiredCount: container.desiredCount,
      networkConfiguration: {
        subnets: args.network.privateSubnetIds,
        securityGroups: [taskSecurityGroup.id],
        assignPublicIp: false,
      },
      loadBalancers: [
        { targetGroupArn: targetGroup.arn, containerName: CONTAINER_NAME, containerPort: CONTAINER_PORT },
      ],
      healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
      deploymentMinimumHealthyPercent: DEPLOYMENT_MINIMUM_HEALTHY_PERCENT,
      deploymentMaximumPercent: DEPLOYMENT_MAXIMUM_PERCENT,
      // A deployment whose tasks never get healthy is stopped and the previous task definition restored.
      deploymentCircuitBreaker: { enable: true, rollback: true },
      availabilityZoneRebalancing: "ENABLED",
      enableExecuteCommand: false,
      propagateTags: "SERVICE",
      enableEcsManagedTags: true,
      // `pulumi up` fails when the deployment does not settle (e.g. rolled back by the circuit breaker).
      waitForSteadyState: true,
      tags,
    },
    // Autoscaling owns the running count after creation. A replacement (new MLflow version) stops the old
    // service first: a short outage instead of two versions on one schema (docs/container.md).
    {
      ...opts,
      dependsOn: [...listeners, ...dependencies],
      ignoreChanges: ["desiredCount"],
      deleteBeforeReplace: true,
    },
  );
  return { cluster, service };
}

function createGcSchedule(
  { name, args, opts }: Builder,
  { taskDefinition, taskSecurityGroup, dependencies }: TaskStart,
  cluster: ecs.Cluster,
  executionRole: iam.Role,
): void {
  const { settings, tags } = args;
  // ---- weekly garbage collection: the same task definition, run once with `start.sh gc` ----
  // MLflow only soft-deletes runs; without this, deleted runs' rows and artifacts stay forever.
  const schedulerRole = new iam.Role(
    `${name}-gc-scheduler`,
    {
      description: "EventBridge Scheduler: run the weekly MLflow gc task",
      assumeRolePolicy: cluster.arn.apply((clusterArn) =>
        policyDocument([
          {
            Effect: "Allow",
            Action: "sts:AssumeRole",
            Principal: { Service: "scheduler.amazonaws.com" },
            // Only schedules of this account (confused deputy).
            Condition: { StringEquals: { "aws:SourceAccount": clusterArn.split(":")[4] } },
          },
        ]),
      ),
      tags,
    },
    opts,
  );
  new iam.RolePolicy(
    `${name}-gc-scheduler`,
    {
      role: schedulerRole.name,
      policy: pulumi
        .all([cluster.arn, taskDefinition.family, executionRole.arn, args.role.arn])
        .apply(([clusterArn, family, executionRoleArn, taskRoleArn]) =>
          policyDocument(gcSchedulerStatements(clusterArn, family, [executionRoleArn, taskRoleArn])),
        ),
    },
    opts,
  );
  new scheduler.Schedule(
    `${name}-gc`,
    {
      description: `MLflow: purge runs deleted more than ${settings.gcRetentionDays} days ago (start.sh gc)`,
      scheduleExpression: GC_SCHEDULE.schedulerExpression,
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "FLEXIBLE", maximumWindowInMinutes: GC_SCHEDULE.windowMinutes },
      target: {
        arn: cluster.arn,
        roleArn: schedulerRole.arn,
        ecsParameters: {
          taskDefinitionArn: taskDefinition.arn,
          launchType: "FARGATE",
          taskCount: 1,
          networkConfiguration: {
            subnets: args.network.privateSubnetIds,
            securityGroups: [taskSecurityGroup.id],
            assignPublicIp: false,
          },
        },
        // RunTask overrides: the image's ENTRYPOINT is start.sh; `gc` makes it collect once and exit.
        input: JSON.stringify({ containerOverrides: [{ name: CONTAINER_NAME, command: GC_COMMAND }] }),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    },
    { ...opts, dependsOn: dependencies },
  );
}

function createAutoscaling({ name, args, opts }: Builder, cluster: ecs.Cluster, service: ecs.Service): void {
  const { settings, tags } = args;
  const container = settings.container;
  const scalingTarget = new appautoscaling.Target(
    `${name}-server`,
    {
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
      minCapacity: container.minCount,
      maxCapacity: container.maxCount,
      tags,
    },
    opts,
  );
  new appautoscaling.Policy(
    `${name}-server-cpu`,
    {
      policyType: "TargetTrackingScaling",
      serviceNamespace: scalingTarget.serviceNamespace,
      scalableDimension: scalingTarget.scalableDimension,
      resourceId: scalingTarget.resourceId,
      targetTrackingScalingPolicyConfiguration: {
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
        targetValue: container.targetCpuPercent,
        scaleOutCooldown: 60,
        // Slow scale-in: a stopping task drains for up to DEREGISTRATION_DELAY_SECONDS.
        scaleInCooldown: 600,
      },
    },
    opts,
  );
}

function createLoadBalancerAlarms(
  { name, args, opts }: Builder,
  loadBalancer: lb.LoadBalancer,
  targetGroup: lb.TargetGroup,
  service: ecs.Service,
): void {
  const { tags } = args;
  // Someone is told when tasks fail their health checks or the load balancer answers with errors.
  const alarm = (
    suffix: string,
    alarmArgs: Omit<cloudwatch.MetricAlarmArgs, "namespace">,
    dependsOn: pulumi.Resource[] = [],
  ) =>
    new cloudwatch.MetricAlarm(
      `${name}-server-${suffix}`,
      {
        namespace: "AWS/ApplicationELB",
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
        treatMissingData: "notBreaching",
        tags,
        ...alarmArgs,
      },
      { ...opts, dependsOn },
    );
  alarm("unhealthy", {
    alarmDescription: "MLflow: a task has failed its load balancer health checks for 5 minutes",
    metricName: "UnHealthyHostCount",
    dimensions: { LoadBalancer: loadBalancer.arnSuffix, TargetGroup: targetGroup.arnSuffix },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 5,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
  });
  // With every task gone there is no unhealthy host and no target error: only the healthy count (no data at
  // all then, hence breaching) and the load balancer's own 5xx see a full outage. Created after the service
  // is steady, so a first deployment does not page.
  alarm(
    "no-healthy-host",
    {
      alarmDescription: "MLflow: no task has passed its load balancer health checks for 3 minutes",
      metricName: "HealthyHostCount",
      dimensions: { LoadBalancer: loadBalancer.arnSuffix, TargetGroup: targetGroup.arnSuffix },
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: 3,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    },
    [service],
  );
  alarm("elb-5xx", {
    alarmDescription: "MLflow: the load balancer answered more than 10 requests itself with 5xx in 5 minutes",
    metricName: "HTTPCode_ELB_5XX_Count",
    dimensions: { LoadBalancer: loadBalancer.arnSuffix },
    statistic: "Sum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 10,
    comparisonOperator: "GreaterThanThreshold",
  });
  alarm("5xx", {
    alarmDescription: "MLflow: more than 10 server errors in 5 minutes",
    metricName: "HTTPCode_Target_5XX_Count",
    dimensions: { LoadBalancer: loadBalancer.arnSuffix },
    statistic: "Sum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 10,
    comparisonOperator: "GreaterThanThreshold",
  });
}

/** A log line the server writes when something is wrong that no load balancer metric shows. */
interface LogAlarm {
  /** The metric filter is `<name>-<suffix>-failures`, the alarm `<name>-<alarmSuffix>`. */
  suffix: string;
  alarmSuffix: string;
  metricName: string;
  /** CloudWatch Logs filter pattern (a quoted phrase). */
  pattern: string;
  alarmDescription: string;
  /** The alarm fires when more lines than this match in one hour. */
  threshold: number;
}

function createLogAlarm({ name, args, opts }: Builder, logGroup: cloudwatch.LogGroup, spec: LogAlarm): void {
  const metric = { name: spec.metricName, namespace: `MLflow/${name}` };
  new cloudwatch.LogMetricFilter(
    `${name}-${spec.suffix}-failures`,
    {
      logGroupName: logGroup.name,
      pattern: spec.pattern,
      metricTransformation: { ...metric, value: "1" },
    },
    opts,
  );
  new cloudwatch.MetricAlarm(
    `${name}-${spec.alarmSuffix}`,
    {
      alarmDescription: spec.alarmDescription,
      namespace: metric.namespace,
      metricName: metric.name,
      statistic: "Sum",
      period: 3600,
      evaluationPeriods: 1,
      threshold: spec.threshold,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [args.alarmTopicArn],
      tags: args.tags,
    },
    opts,
  );
}

/** A failing weekly gc leaves deleted runs and their artifacts in place: count its errors and tell someone. */
export const GC_FAILURE_ALARM: LogAlarm = {
  suffix: "gc",
  alarmSuffix: "gc-failed",
  metricName: "GcFailures",
  pattern: '"mlflow-gc: ERROR"',
  alarmDescription: "MLflow: the weekly gc of deleted runs failed (see the log group, lines mlflow-gc:)",
  threshold: 0,
};

/**
 * The server re-reads the artifact store's credential every few minutes (server/runtime_helper.py
 * watch_credential). If it cannot, a renewed SAS or key never reaches it and the old one's expiry is an
 * outage: more than half of an hour's reads failing alarms well before that (a failed read or two is noise).
 */
export const CREDENTIAL_READ_ALARM: LogAlarm = {
  suffix: "credential",
  alarmSuffix: "credential-stale",
  metricName: "CredentialReadFailures",
  pattern: '"mlflow-start: WARNING: cannot re-read"',
  alarmDescription:
    "MLflow: the servers cannot re-read the artifact store's credential from Secrets Manager, so a renewed one " +
    "does not reach them (see the log group, lines mlflow-start: WARNING: cannot re-read)",
  threshold: 5,
};

/** The container command of the weekly garbage-collection task (arguments to the ENTRYPOINT start.sh). */
export const GC_COMMAND = ["gc"];

/** What the gc schedule may do: start this task definition family in this cluster, handing it its two roles. */
export function gcSchedulerStatements(
  clusterArn: string,
  family: string,
  passRoleArns: string[],
): IamStatement[] {
  const [, partition, , region, account] = clusterArn.split(":");
  return [
    {
      Sid: "RunGcTask",
      Effect: "Allow",
      Action: "ecs:RunTask",
      Resource: `arn:${partition}:ecs:${region}:${account}:task-definition/${family}:*`,
      Condition: { ArnEquals: { "ecs:cluster": clusterArn } },
    },
    {
      Sid: "PassTaskRoles",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: passRoleArns,
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    },
  ];
}

/** What the ECS agent may do for the tasks, and nothing more. */
export function executionRoleStatements(
  repositoryArn: string,
  logGroupArn: string,
  secretArns: string[],
): IamStatement[] {
  return [
    // GetAuthorizationToken has no resource-level permissions.
    { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
    {
      Sid: "PullServerImage",
      Effect: "Allow",
      Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
      Resource: repositoryArn,
    },
    {
      Sid: "WriteServerLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${logGroupArn.replace(/:\*$/, "")}:log-stream:*`,
    },
    {
      Sid: "InjectServerSecrets",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: secretArns,
    },
  ];
}

export const computeMode: ComputeModeModule = {
  name: "container",
  assumedBy: "ecs-tasks.amazonaws.com",
  // Fargate is not in EC2's instance type offerings; tasks in private subnets reach out through NAT.
  networkNeeds: () => ({ natGateway: true }),
  create: createContainerServer,
};
