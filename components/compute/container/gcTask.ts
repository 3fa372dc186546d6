// The weekly garbage collection of the container server: the server's own task definition, started once a
// week by EventBridge Scheduler with `start.sh gc` (MLflow only soft-deletes runs; without it, deleted runs'
// rows and artifacts stay forever). Its failures are counted by the Alarms part, from the tasks' log group.
import * as pulumi from "@pulumi/pulumi";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as scheduler from "@pulumi/aws/scheduler";
import { GC_SCHEDULE } from "../../../server/render";
import { IamStatement, policyDocument } from "../../iam";
import { CONTAINER_NAME } from "./constants";
import { type Builder, ContainerPart, type ServerArgs } from "./part";
import type { TaskStart } from "./workload";

export interface GcTaskArgs {
  args: ServerArgs;
  /** The server's task: the gc runs the same definition, in the same network, after the same resources. */
  taskStart: TaskStart;
  cluster: ecs.Cluster;
  /** The task's execution role and the role it runs as: the schedule passes both to ECS. */
  passRoleArns: pulumi.Output<string>[];
}

/** The schedule that runs the gc task, and the role it runs it with. Named `<server>-gc`. */
export class GcTask extends ContainerPart {
  constructor(
    name: string,
    { args, taskStart, cluster, passRoleArns }: GcTaskArgs,
    parent: pulumi.ComponentResource,
  ) {
    super("GcTask", name, args, parent);
    createGcSchedule(this.b, taskStart, cluster, passRoleArns);
    this.registerOutputs({});
  }
}

function createGcSchedule(
  { name, args, opts }: Builder,
  { taskDefinition, taskSecurityGroup, dependencies }: TaskStart,
  cluster: ecs.Cluster,
  passRoleArns: pulumi.Output<string>[],
): void {
  const { settings, tags } = args;
  // ---- weekly garbage collection: the same task definition, run once with `start.sh gc` ----
  // MLflow only soft-deletes runs; without this, deleted runs' rows and artifacts stay forever.
  const schedulerRole = new iam.Role(
    `${name}-scheduler`,
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
    `${name}-scheduler`,
    {
      role: schedulerRole.name,
      policy: pulumi
        .all([cluster.arn, taskDefinition.family, pulumi.all(passRoleArns)])
        .apply(([clusterArn, family, roleArns]) =>
          policyDocument(gcSchedulerStatements(clusterArn, family, roleArns)),
        ),
    },
    opts,
  );
  new scheduler.Schedule(
    name,
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
