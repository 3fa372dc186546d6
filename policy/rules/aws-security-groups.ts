// Security groups: no SSH/RDP/PostgreSQL open to the world, the world reaches only HTTP(S), and PostgreSQL
// only from security groups (DESIGN.md "Server", "Database").
import { ResourceValidationArgs } from "@pulumi/policy";
import { asArray, asString, describe, resourcePolicy } from "./util";

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
export const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
export const SECURITY_GROUP_TYPES = [
  SECURITY_GROUP,
  DEFAULT_SECURITY_GROUP,
  SECURITY_GROUP_RULE,
  SECURITY_GROUP_INGRESS_RULE,
] as const;

/** Ports that must never be reachable from the internet, with what to do instead. */
export const ADMIN_PORTS: Record<number, string> = {
  22: "use SSM Session Manager instead of SSH",
  3389: "use SSM Session Manager instead of RDP",
  5432: "allow PostgreSQL only from the tracking server's security group",
};
/** The only ports the internet may reach (TCP). */
export const WORLD_PORTS = [80, 443];
export const POSTGRES_PORT = 5432;

export interface Ingress {
  /** "all", "tcp", "udp", "icmp", "icmpv6" or the raw protocol. */
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrs: string[];
  prefixLists: string[];
  /** The rule's own label for messages. */
  label: string;
}

function normalizeProtocol(p: unknown): string {
  const v = String(p ?? "").toLowerCase();
  return (
    (
      { "-1": "all", all: "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" } as Record<
        string,
        string
      >
    )[v] ?? v
  );
}

function strings(v: unknown): string[] {
  return asArray(v).filter((x): x is string => typeof x === "string" && x !== "");
}

function ingress(raw: Record<string, unknown>, label: string, shape: "inline" | "rule" | "vpc"): Ingress {
  const protocol = normalizeProtocol(shape === "vpc" ? raw.ipProtocol : raw.protocol);
  const all = protocol === "all";
  const from = typeof raw.fromPort === "number" ? raw.fromPort : 0;
  const to = typeof raw.toPort === "number" ? raw.toPort : 65535;
  return {
    protocol,
    fromPort: all ? 0 : from,
    toPort: all ? 65535 : to,
    cidrs:
      shape === "vpc"
        ? [...strings(raw.cidrIpv4), ...strings(raw.cidrIpv6)]
        : [...strings(raw.cidrBlocks), ...strings(raw.ipv6CidrBlocks)],
    prefixLists: shape === "vpc" ? strings(raw.prefixListId) : strings(raw.prefixListIds),
    label,
  };
}

/** The ingress rules a resource defines (inline rules of a group, or the rule resource itself). */
export function ingressRules(args: { type: string; props: Record<string, unknown> }): Ingress[] {
  const p = args.props;
  switch (args.type) {
    case SECURITY_GROUP:
    case DEFAULT_SECURITY_GROUP:
      return asArray(p.ingress).map((raw, i) => {
        const r = raw as Record<string, unknown>;
        const description = asString(r.description);
        return ingress(r, description ? `ingress[${i}] ("${description}")` : `ingress[${i}]`, "inline");
      });
    case SECURITY_GROUP_RULE:
      return p.type === "ingress" ? [ingress(p, "the rule", "rule")] : [];
    case SECURITY_GROUP_INGRESS_RULE:
      return [ingress(p, "the rule", "vpc")];
    default:
      return [];
  }
}

export function isWorld(cidr: string): boolean {
  return /^(0\.0\.0\.0|::|0:0:0:0:0:0:0:0)\/0$/.test(cidr.trim());
}

/** Whether the rule admits traffic to `port` (TCP or UDP; "all" admits every port). */
export function coversPort(rule: Ingress, port: number): boolean {
  if (rule.protocol === "all") {
    return true;
  }
  return (rule.protocol === "tcp" || rule.protocol === "udp") && rule.fromPort <= port && port <= rule.toPort;
}

function portText(r: Ingress): string {
  if (r.protocol === "all") {
    return "all protocols and ports";
  }
  return r.fromPort === r.toPort ? `${r.protocol} ${r.fromPort}` : `${r.protocol} ${r.fromPort}-${r.toPort}`;
}

function eachIngress(args: ResourceValidationArgs, visit: (rule: Ingress) => void): void {
  ingressRules(args).forEach(visit);
}

export const sgNoWorldAdminPorts = resourcePolicy(
  {
    name: "sg-no-world-admin-ports",
    description: "No security group opens SSH (22), RDP (3389) or PostgreSQL (5432) to 0.0.0.0/0 or ::/0.",
    types: SECURITY_GROUP_TYPES,
  },
  (_props, args, report) =>
    eachIngress(args, (rule) => {
      const world = rule.cidrs.filter(isWorld);
      if (world.length === 0) {
        return;
      }
      for (const [port, advice] of Object.entries(ADMIN_PORTS)) {
        if (coversPort(rule, Number(port))) {
          report(
            `${describe(args)} ${rule.label} opens port ${port} (${portText(rule)}) to ${world.join(", ")}: remove it and ${advice}.`,
          );
        }
      }
    }),
);

export const sgWorldOnlyHttpHttps = resourcePolicy(
  {
    name: "sg-world-only-http-https",
    description: "Ingress from 0.0.0.0/0 or ::/0 is allowed only on TCP 80 and 443 (one port per rule).",
    types: SECURITY_GROUP_TYPES,
  },
  (_props, args, report) =>
    eachIngress(args, (rule) => {
      const world = rule.cidrs.filter(isWorld);
      if (world.length === 0) {
        return;
      }
      const ok =
        rule.protocol === "tcp" && rule.fromPort === rule.toPort && WORLD_PORTS.includes(rule.fromPort);
      if (!ok) {
        report(
          `${describe(args)} ${rule.label} opens ${portText(rule)} to ${world.join(", ")}: ` +
            `only TCP 80 and 443 may be open to the world; restrict the source to the allowed CIDRs or a security group.`,
        );
      }
    }),
);

export const sgPostgresFromSecurityGroupsOnly = resourcePolicy(
  {
    name: "sg-postgres-from-security-groups-only",
    description:
      "Ingress to PostgreSQL (5432, or all ports) comes from security groups only, never from CIDR blocks or prefix lists.",
    types: SECURITY_GROUP_TYPES,
  },
  (_props, args, report) =>
    eachIngress(args, (rule) => {
      const sources = [...rule.cidrs, ...rule.prefixLists];
      if (sources.length > 0 && rule.protocol !== "udp" && coversPort(rule, POSTGRES_PORT)) {
        report(
          `${describe(args)} ${rule.label} admits ${sources.join(", ")} to port ${POSTGRES_PORT} (${portText(rule)}): ` +
            `reference the tracking server's security group (referencedSecurityGroupId / sourceSecurityGroupId) instead.`,
        );
      }
    }),
);

export const securityGroupPolicies = [
  sgNoWorldAdminPorts,
  sgWorldOnlyHttpHttps,
  sgPostgresFromSecurityGroupsOnly,
];
