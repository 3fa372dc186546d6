// The container server's workload: the tasks' security group, the image, the log group, the task definition
// and its roles, and the ECS cluster and service that run it behind the endpoint's target group, scaled on CPU.
import * as pulumi from "@pulumi/pulumi";
import * as appautoscaling from "@pulumi/aws/appautoscaling";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as lb from "@pulumi/aws/lb";
import { RuntimeSecret, secretVersions } from "../../secret";
import { buildServerImage } from "../image";
import {
  CONTAINER_NAME,
  CONTAINER_PORT,
  DEPLOYMENT_MAXIMUM_PERCENT,
  DEPLOYMENT_MINIMUM_HEALTHY_PERCENT,
  HEALTH_CHECK_GRACE_SECONDS,
  serviceName,
} from "./constants";
import { type Builder, ContainerPart, type ServerArgs, type ServerRole } from "./part";
import { createTaskDefinition, createTaskRoles } from "./taskDefinition";

export interface WorkloadArgs {
  args: ServerArgs;
  /** The endpoint the tasks serve behind (see LoadBalancedEndpoint). */
  endpoint: {
    securityGroup: ec2.SecurityGroup;
    targetGroup: lb.TargetGroup;
    listeners: lb.Listener[];
    allowedHosts: pulumi.Output<string[]>;
  };
  /** All secrets the server reads. */
  secrets: RuntimeSecret[];
  serverRole: ServerRole;
}

/** The ECS service running the server's tasks, and what a task needs to start. */
export class Workload extends ContainerPart {
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: cloudwatch.LogGroup;
  readonly cluster: ecs.Cluster;
  readonly service: ecs.Service;
  /** What another task of the same definition (the gc task) starts with. */
  readonly taskStart: TaskStart;
  readonly executionRole: iam.Role;
  /** Whether the server re-reads a secret while it runs (the artifact store's credential). */
  readonly rereadsSecrets: boolean;

  constructor(
    name: string,
    { args, endpoint, secrets, serverRole }: WorkloadArgs,
    parent: pulumi.ComponentResource,
  ) {
    super("Workload", name, args, parent);
    const b = this.b;
    const { settings } = args;
    this.securityGroup = createTaskSecurityGroup(b, endpoint.securityGroup);
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
    this.logGroup = new cloudwatch.LogGroup(
      `${name}-server`,
      { retentionInDays: settings.logRetentionDays, tags: args.tags },
      b.opts,
    );
    // ECS injects a secret once, when a task starts. The artifact store's credential is instead read by the
    // server (the task role) from Secrets Manager and re-read while it runs, as on EC2 (server/start.sh).
    const renewed = secrets.filter((s) => s.rereadWhileRunning);
    const injected = secrets.filter((s) => !renewed.includes(s));
    // The execution role may still read the renewed credential: task definitions before that change injected
    // it, and a task of such a revision (a circuit-breaker rollback, a task replaced mid-rollout) must start.
    const roles = createTaskRoles(b, image, this.logGroup, secrets, renewed, serverRole);
    const taskDefinition = createTaskDefinition(b, {
      imageUri: image.imageUri,
      logGroup: this.logGroup,
      secrets: injected,
      renewedSecrets: renewed,
      allowedHosts: endpoint.allowedHosts,
      executionRole: roles.executionRole,
      serverRole,
    });
    // A task reads every secret (ECS or start.sh) and uses both roles the moment it starts: neither the
    // service nor the gc schedule may start one before the secrets have values and the policies exist. The
    // database URI's version is written only once RDS is available, long after its secret's ARN exists.
    this.taskStart = {
      taskDefinition,
      taskSecurityGroup: this.securityGroup,
      dependencies: [...secretVersions(secrets), roles.executionPolicy, roles.taskPolicy],
    };
    const { cluster, service } = createService(b, this.taskStart, endpoint.targetGroup, endpoint.listeners);
    createAutoscaling(b, cluster, service);
    this.cluster = cluster;
    this.service = service;
    this.executionRole = roles.executionRole;
    this.rereadsSecrets = renewed.length > 0;
    this.registerOutputs({});
  }
}

/** The tasks admit only the load balancer. */
function createTaskSecurityGroup(
  { name, args, opts }: Builder,
  albSecurityGroup: ec2.SecurityGroup,
): ec2.SecurityGroup {
  const { tags } = args;
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
  return taskSecurityGroup;
}

/** What starts a task (the service and the gc schedule): its definition, its network, what it needs first. */
export interface TaskStart {
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
