// Config that is valid but cannot be what the operator meant: warned at every preview and up (the shipped
// example stacks carry such placeholders, and a refusal would break their offline plan and preview).
import { cidrContains } from "../components/ipv4";
import { PlatformSettings } from "./settings";

/** RFC 5737's documentation ranges: no real client's address is in them. */
const DOCUMENTATION_RANGES: [name: string, network: string][] = [
  ["TEST-NET-1", "192.0.2.0/24"],
  ["TEST-NET-2", "198.51.100.0/24"],
  ["TEST-NET-3", "203.0.113.0/24"],
];
/** RFC 2606's reserved documentation domains: mail to them reaches nobody. */
const DOCUMENTATION_DOMAINS = /@(.+\.)?example\.(com|net|org)$/i;

/** The RFC 5737 range a CIDR lies in, if it lies in one. */
export function documentationRange(cidr: string): string | undefined {
  return DOCUMENTATION_RANGES.find(([, network]) => cidrContains(network, cidr))?.[0];
}

/** Warnings about placeholders left in the config, each naming the key, the value and what to do. */
export function configWarnings(settings: PlatformSettings): string[] {
  // The config namespace is the project's name (a project renamed by `pulumi new` reads its own).
  const ns = settings.project;
  const warnings: string[] = [];
  settings.server.allowedCidrs.forEach((cidr, i) => {
    const range = documentationRange(cidr);
    if (range) {
      warnings.push(
        `${ns}:server.allowedCidrs[${i}]: "${cidr}" is ${range}, a documentation range (RFC 5737) that no client comes from, so nobody can reach the server; set your clients' egress ranges (office, VPN, CI runners)`,
      );
    }
  });
  settings.alarmEmails.forEach((email, i) => {
    if (DOCUMENTATION_DOMAINS.test(email)) {
      warnings.push(
        `${ns}:alarmEmails[${i}]: "${email}" is at a reserved documentation domain (RFC 2606) that receives no mail, so these alarms reach nobody; set your team's address, or ${ns}:alarmTopicArn`,
      );
    }
  });
  return warnings;
}
