// The load-balanced endpoint of the container server: the load balancer (the only public thing), its
// security group, the target group the tasks register in, and how clients reach it: HTTPS on `server.domain`
// (ACM certificate validated in Route 53, an alias record, HTTP redirecting) or, only with
// `server.allowPlainHttp`, plain HTTP on the load balancer's DNS name.
import * as pulumi from "@pulumi/pulumi";
import * as acm from "@pulumi/aws/acm";
import * as ec2 from "@pulumi/aws/ec2";
import * as lb from "@pulumi/aws/lb";
import * as route53 from "@pulumi/aws/route53";
import {
  CONTAINER_PORT,
  DEREGISTRATION_DELAY_SECONDS,
  HEALTHY_THRESHOLD,
  HEALTH_CHECK_INTERVAL_SECONDS,
  HEALTH_CHECK_PATH,
  IDLE_TIMEOUT_SECONDS,
  TLS_POLICY,
} from "./constants";
import { type Builder, ContainerPart, type ServerArgs } from "./part";

export interface LoadBalancedEndpointArgs {
  args: ServerArgs;
  /** HTTPS on `server.domain`; else plain HTTP (checked by the caller). */
  tls: boolean;
  /** The load balancer reaches the tasks anywhere in the VPC. */
  vpcCidrBlock: pulumi.Input<string>;
}

/** The load balancer in front of the tasks, and the name and listeners clients reach it by. */
export class LoadBalancedEndpoint extends ContainerPart {
  readonly securityGroup: ec2.SecurityGroup;
  readonly loadBalancer: lb.LoadBalancer;
  readonly targetGroup: lb.TargetGroup;
  /** What the tasks' service waits for: a target group serves only once a listener forwards to it. */
  readonly listeners: lb.Listener[];
  readonly trackingUri: pulumi.Output<string>;
  /** The names MLflow must accept as its host (`--allowed-hosts`). */
  readonly allowedHosts: pulumi.Output<string[]>;

  constructor(
    name: string,
    { args, tls, vpcCidrBlock }: LoadBalancedEndpointArgs,
    parent: pulumi.ComponentResource,
  ) {
    super("LoadBalancedEndpoint", name, args, parent);
    this.securityGroup = createLoadBalancerSecurityGroup(this.b, tls, vpcCidrBlock);
    const { loadBalancer, targetGroup } = createLoadBalancer(this.b, this.securityGroup);
    const entry = tls
      ? createHttpsEntry(this.b, loadBalancer, targetGroup)
      : createHttpEntry(this.b, loadBalancer, targetGroup);
    this.loadBalancer = loadBalancer;
    this.targetGroup = targetGroup;
    this.listeners = entry.listeners;
    this.trackingUri = entry.trackingUri;
    this.allowedHosts = entry.allowedHosts;
    this.registerOutputs({ trackingUri: this.trackingUri });
  }
}

/** The load balancer's group: the listener ports from the allowed CIDRs in, the MLflow port to the VPC out. */
function createLoadBalancerSecurityGroup(
  { name, args, opts }: Builder,
  tls: boolean,
  vpcCidrBlock: pulumi.Input<string>,
): ec2.SecurityGroup {
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
  return albSecurityGroup;
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
