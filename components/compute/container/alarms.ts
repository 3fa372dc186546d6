// The container server's alarms, all to the stack's alarm topic: tasks failing their health checks, no
// healthy task at all, 5xx from the load balancer or the server, and log lines no metric shows (a failed
// weekly gc, a credential the servers cannot re-read).
import * as pulumi from "@pulumi/pulumi";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ecs from "@pulumi/aws/ecs";
import * as lb from "@pulumi/aws/lb";
import { type Builder, ContainerPart, type ServerArgs } from "./part";

export interface AlarmsArgs {
  args: ServerArgs;
  loadBalancer: lb.LoadBalancer;
  targetGroup: lb.TargetGroup;
  /** The no-healthy-host alarm is created once the service is steady. */
  service: ecs.Service;
  /** The tasks' log group (the gc task's too). */
  logGroup: cloudwatch.LogGroup;
  /** Whether the servers re-read a credential while they run: then its read failures alarm too. */
  rereadsSecrets: boolean;
}

export class Alarms extends ContainerPart {
  constructor(name: string, alarms: AlarmsArgs, parent: pulumi.ComponentResource) {
    super("Alarms", name, alarms.args, parent);
    createLoadBalancerAlarms(this.b, alarms.loadBalancer, alarms.targetGroup, alarms.service);
    createLogAlarm(this.b, alarms.logGroup, GC_FAILURE_ALARM);
    if (alarms.rereadsSecrets) createLogAlarm(this.b, alarms.logGroup, CREDENTIAL_READ_ALARM);
    this.registerOutputs({});
  }
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
  // More than 10 5xx answers in 5 minutes: from the load balancer itself, and from the tasks.
  const fiveXx = (suffix: string, metricName: string, description: string) =>
    alarm(suffix, {
      alarmDescription: `MLflow: ${description}`,
      metricName,
      dimensions: { LoadBalancer: loadBalancer.arnSuffix },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 10,
      comparisonOperator: "GreaterThanThreshold",
    });
  fiveXx(
    "elb-5xx",
    "HTTPCode_ELB_5XX_Count",
    "the load balancer answered more than 10 requests itself with 5xx in 5 minutes",
  );
  fiveXx("5xx", "HTTPCode_Target_5XX_Count", "more than 10 server errors in 5 minutes");
}

/** A log line the server writes when something is wrong that no load balancer metric shows. */
export interface LogAlarm {
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
