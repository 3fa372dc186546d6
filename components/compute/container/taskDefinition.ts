// The server's task: its definition (the image, the environment start.sh reads, the secrets ECS injects, the
// logs), the execution role ECS starts it with, and the policy of the role it runs as.
import * as pulumi from "@pulumi/pulumi";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import { renderServerEnvironment } from "../../../server/render";
import { IamStatement, afterArtifactGrant, assumeRolePolicy, policyDocument } from "../../iam";
import type { ServerSecret } from "../../secret";
import type { ServerImage } from "../image";
import { CONTAINER_NAME, CONTAINER_PORT, EPHEMERAL_STORAGE_GIB, STOP_TIMEOUT_SECONDS } from "./constants";
import type { Builder, ServerRole } from "./part";

/** The execution role (ECS's) with its policy, and the task role's (the server's) policy. */
export function createTaskRoles(
  { name, args, opts }: Builder,
  image: ServerImage,
  logGroup: cloudwatch.LogGroup,
  secrets: ServerSecret[],
  renewedSecrets: ServerSecret[],
  serverRole: ServerRole,
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
  // The task role (the server itself): reading the artifact store's credential (foreign clouds), nothing
  // else; the store grants its own access (S3). ECS injects the other secrets.
  const taskPolicy = new iam.RolePolicy(
    `${name}-server`,
    {
      role: serverRole.name,
      policy: afterArtifactGrant(
        renewedArns.apply((arns) =>
          policyDocument(
            arns.length > 0
              ? [
                  {
                    Sid: "ReadArtifactCredential",
                    Effect: "Allow",
                    Action: "secretsmanager:GetSecretValue",
                    Resource: arns,
                  },
                ]
              : // IAM rejects an empty policy, and a Deny here would override the store's grant (S3): this
                // allows only what every principal may do anyway.
                [
                  {
                    Sid: "NoOtherAwsAccessNeeded",
                    Effect: "Allow",
                    Action: "sts:GetCallerIdentity",
                    Resource: "*",
                  },
                ],
          ),
        ),
        args.artifactEnvironment,
      ),
    },
    opts,
  );
  return { executionRole, executionPolicy, taskPolicy };
}

export function createTaskDefinition(
  { name, args, opts }: Builder,
  inputs: {
    imageUri: pulumi.Output<string>;
    logGroup: cloudwatch.LogGroup;
    secrets: ServerSecret[];
    /** Given to start.sh as `<variable>_SECRET_ARN`: it reads them itself and re-reads them while it runs. */
    renewedSecrets: ServerSecret[];
    allowedHosts: pulumi.Output<string[]>;
    executionRole: iam.Role;
    serverRole: ServerRole;
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
      taskRoleArn: inputs.serverRole.arn,
      containerDefinitions,
      tags,
    },
    opts,
  );
  return taskDefinition;
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
