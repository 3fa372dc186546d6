// Load balancer listeners: HTTPS with a TLS 1.3 policy; once a stack serves HTTPS, its HTTP listeners only
// redirect to HTTPS (DESIGN.md "Server": only the HTTP(S) ports; TLS where there is a domain).
import { PolicyResource } from "@pulumi/policy";
import { asArray, describe, dig, isOneOf, known, resourcePolicy, stackPolicy, UNKNOWN } from "./util";

export const LB_LISTENER_TYPES = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"] as const;
export const ACM_CERTIFICATE = "aws:acm/certificate:Certificate";
export const MODERN_SSL_POLICY_PREFIX = "ELBSecurityPolicy-TLS13-";

const TLS_PROTOCOLS = ["HTTPS", "TLS"];

export const lbHttpsModernTls = resourcePolicy(
  {
    name: "lb-https-modern-tls",
    description: `HTTPS/TLS listeners use a TLS 1.3 security policy (${MODERN_SSL_POLICY_PREFIX}*) and a certificate.`,
    types: LB_LISTENER_TYPES,
  },
  (props, args, report) => {
    if (!TLS_PROTOCOLS.includes(String(props.protocol))) {
      return;
    }
    const policy = String(props.sslPolicy ?? "");
    if (!policy.startsWith(MODERN_SSL_POLICY_PREFIX)) {
      report(
        `${describe(args)} uses sslPolicy "${policy || "(default)"}": set sslPolicy to "ELBSecurityPolicy-TLS13-1-2-2021-06" (or another ${MODERN_SSL_POLICY_PREFIX}* policy).`,
      );
    }
    if (!props.certificateArn) {
      report(
        `${describe(args)} has no certificateArn: give it the ACM certificate of the tracking server's domain.`,
      );
    }
  },
);

/** Whether every default action of a listener redirects to HTTPS. */
export function redirectsToHttps(listener: Record<string, unknown>): boolean {
  const actions = asArray(listener.defaultActions);
  return (
    actions.length > 0 &&
    actions.every(
      (a) =>
        dig(a, "type") === "redirect" && String(dig(a, "redirect", "protocol")).toUpperCase() === "HTTPS",
    )
  );
}

export const lbHttpRedirectsToHttps = stackPolicy(
  {
    name: "lb-http-redirects-to-https",
    description:
      "In a stack with an HTTPS listener or an ACM certificate, every HTTP listener only redirects to HTTPS.",
  },
  (args, report) => {
    const listeners = args.resources.filter((r) => isOneOf(r.type, LB_LISTENER_TYPES));
    const protocolOf = (r: PolicyResource) => known(() => String(r.props.protocol ?? "").toUpperCase());
    const servesTls =
      listeners.some((l) => {
        const p = protocolOf(l);
        return p !== UNKNOWN && TLS_PROTOCOLS.includes(p);
      }) || args.resources.some((r) => isOneOf(r.type, [ACM_CERTIFICATE]));
    if (!servesTls) {
      return; // An HTTP-only stack (no domain) may forward plain HTTP to its targets.
    }
    for (const l of listeners) {
      if (protocolOf(l) !== "HTTP") {
        continue;
      }
      const redirects = known(() => redirectsToHttps(l.props));
      if (redirects === false) {
        report(
          `${describe(l)} serves plain HTTP although the stack has HTTPS: make its only default action ` +
            `{type: "redirect", redirect: {protocol: "HTTPS", port: "443", statusCode: "HTTP_301"}}.`,
          l.urn,
        );
      }
    }
  },
);

export const lbPolicies = [lbHttpsModernTls, lbHttpRedirectsToHttps];
