// The container compute mode: MLflow on ECS Fargate behind an Application Load Balancer, as four child
// components of the TrackingServer (components/compute/container/): the LoadBalancedEndpoint, the Workload
// (image, task definition, service, autoscaling), the weekly GcTask and the Alarms.
import type { ComputeContext, ComputeModeModule, ServerDeployment } from "../contracts";
import { Alarms } from "./container/alarms";
import { LoadBalancedEndpoint } from "./container/endpoint";
import { GcTask } from "./container/gcTask";
import { serverRoleOf } from "./container/part";
import { Workload } from "./container/workload";

export * from "./container/constants";
export { CREDENTIAL_READ_ALARM, GC_FAILURE_ALARM, type LogAlarm } from "./container/alarms";
export { GC_COMMAND, gcSchedulerStatements } from "./container/gcTask";
export { executionRoleStatements } from "./container/taskDefinition";

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
  const endpoint = new LoadBalancedEndpoint(
    name,
    { args, tls, vpcCidrBlock: args.network.vpcCidrBlock },
    parent,
  );
  const serverRole = serverRoleOf(args);
  const workload = new Workload(name, { args, endpoint, secrets, serverRole }, parent);
  new GcTask(
    `${name}-gc`,
    {
      args,
      taskStart: workload.taskStart,
      cluster: workload.cluster,
      passRoleArns: [workload.executionRole.arn, serverRole.arn],
    },
    parent,
  );
  new Alarms(
    name,
    {
      args,
      loadBalancer: endpoint.loadBalancer,
      targetGroup: endpoint.targetGroup,
      service: workload.service,
      logGroup: workload.logGroup,
      rereadsSecrets: workload.rereadsSecrets,
    },
    parent,
  );
  return { trackingUri: endpoint.trackingUri, securityGroupId: workload.securityGroup.id };
}

export const computeMode: ComputeModeModule = {
  name: "container",
  assumedBy: "ecs-tasks.amazonaws.com",
  // Fargate is not in EC2's instance type offerings; tasks in private subnets reach out through NAT.
  networkNeeds: () => ({ natGateway: true }),
  create: createContainerServer,
};
