// Clear text to the world carries nothing but the ACME http-01 challenge and a redirect to HTTPS (issue 11:
// HTTPS by default). An internet-facing load balancer's HTTP listener that the world can reach only
// redirects; an EC2 instance whose security group opens port 80 to the world runs an nginx whose port-80
// server serves only the challenge and the redirect (read from the nginx.conf in its user data). A stack that
// serves plain HTTP on purpose (server.allowPlainHttp) passes only while its allowed CIDRs exclude the world.
import { PolicyResource, ReportViolation } from "@pulumi/policy";
import { userDataTexts, EC2_INSTANCE } from "./aws-ec2";
import { LB_LISTENER_TYPES, redirectsToHttps } from "./aws-lb";
import {
  SECURITY_GROUP,
  SECURITY_GROUP_INGRESS_RULE,
  SECURITY_GROUP_RULE,
  coversPort,
  ingressRules,
  isWorld,
} from "./aws-security-groups";
import {
  listensPublicly,
  nginxConfigsInCloudConfig,
  parseNginx,
  port80Problems,
  serverBlocks,
} from "./nginx";
import { asArray, describe, isOneOf, known, stackPolicy, UNKNOWN } from "./util";

export const LOAD_BALANCER_TYPES = ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"];
export const HTTP_PORT = 80;

/** The resources an input names: through the engine's property dependencies, else by equal id/arn values. */
function referenced(
  from: PolicyResource,
  key: string,
  candidates: PolicyResource[],
  candidateKey: "id" | "arn",
): PolicyResource[] {
  const viaProperty = (from.propertyDependencies?.[key] ?? []).filter((d) => candidates.includes(d));
  if (viaProperty.length > 0) return viaProperty;
  const values = known(() => asArray(from.props[key]).map(String));
  if (values === UNKNOWN) return [];
  return candidates.filter((c) => {
    const value = known(() => c.props[candidateKey]);
    return typeof value === "string" && values.includes(value);
  });
}

/**
 * Whether any of the groups admits `port` from 0.0.0.0/0 or ::/0: their inline ingress, and the separate
 * rule resources (`securityGroupId`) that add to them.
 */
function worldReaches(groups: PolicyResource[], port: number, resources: PolicyResource[]): boolean {
  const attached = resources.filter(
    (r) =>
      isOneOf(r.type, [SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS_RULE]) &&
      referenced(r, "securityGroupId", groups, "id").length > 0,
  );
  return [...groups, ...attached].some(
    (g) =>
      known(() =>
        ingressRules({ type: g.type, props: g.props }).some(
          (r) => coversPort(r, port) && r.cidrs.some(isWorld),
        ),
      ) === true,
  );
}

function checkListeners(
  resources: PolicyResource[],
  groups: PolicyResource[],
  report: ReportViolation,
): void {
  const balancers = resources.filter(
    (r) => isOneOf(r.type, LOAD_BALANCER_TYPES) && known(() => r.props.internal) !== true,
  );
  for (const listener of resources.filter((r) => isOneOf(r.type, LB_LISTENER_TYPES))) {
    const protocol = known(() => String(listener.props.protocol ?? "HTTP").toUpperCase());
    const port = known(() => Number(listener.props.port ?? HTTP_PORT));
    if (protocol !== "HTTP" || port === UNKNOWN) continue;
    const balancer = referenced(listener, "loadBalancerArn", balancers, "arn")[0];
    if (!balancer) continue; // internal, or not this stack's: not public
    const balancerGroups = referenced(balancer, "securityGroups", groups, "id");
    // A group outside the stack cannot be read: treat the listener as reachable by the world.
    const public_ = balancerGroups.length === 0 || worldReaches(balancerGroups, port, resources);
    if (public_ && known(() => redirectsToHttps(listener.props)) === false) {
      report(
        `${describe(listener)} serves plain HTTP on port ${port} of an internet-facing load balancer open to the world: ` +
          `make its only default action a redirect to HTTPS (server.domain), or restrict server.allowedCidrs to private ranges when server.allowPlainHttp is meant.`,
        listener.urn,
      );
    }
  }
}

function checkInstances(
  resources: PolicyResource[],
  groups: PolicyResource[],
  report: ReportViolation,
): void {
  for (const instance of resources.filter((r) => isOneOf(r.type, [EC2_INSTANCE]))) {
    const instanceGroups = referenced(instance, "vpcSecurityGroupIds", groups, "id");
    if (!worldReaches(instanceGroups, HTTP_PORT, resources)) continue;
    const texts = known(() => userDataTexts(instance.type, instance.props));
    if (texts === UNKNOWN) continue; // preview of a new user data: the update re-runs the policy
    const configs = texts.flatMap(nginxConfigsInCloudConfig);
    const problems: string[] = [];
    for (const config of configs) {
      try {
        for (const server of serverBlocks(parseNginx(config.text)).filter((s) =>
          listensPublicly(s, HTTP_PORT),
        )) {
          problems.push(...port80Problems(server).map((p) => `${config.path}: ${p}`));
        }
      } catch (e) {
        problems.push(`${config.path} cannot be read (${(e as Error).message})`);
      }
    }
    if (configs.length === 0)
      problems.push("its user data carries no nginx.conf to show what port 80 serves");
    if (problems.length > 0) {
      report(
        `${describe(instance)} has port ${HTTP_PORT} open to the world, where only the ACME http-01 challenge and a redirect to HTTPS may be served, but ${problems.join("; ")}: ` +
          `serve HTTPS (the default; without server.allowPlainHttp), or restrict server.allowedCidrs to private ranges when plain HTTP is meant.`,
        instance.urn,
      );
    }
  }
}

export const publicHttpOnlyRedirects = stackPolicy(
  {
    name: "public-http-only-redirects",
    description:
      "Port 80 open to the world serves only the ACME http-01 challenge and a redirect to HTTPS: internet-facing load balancer HTTP listeners redirect; an EC2 server's nginx port-80 server has no other location.",
  },
  (args, report) => {
    const groups = args.resources.filter((r) => isOneOf(r.type, [SECURITY_GROUP]));
    checkListeners(args.resources, groups, report);
    checkInstances(args.resources, groups, report);
  },
);

export const publicHttpPolicies = [publicHttpOnlyRedirects];
