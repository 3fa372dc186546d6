// No secret in tags or labels, on any resource (DESIGN.md "No secret in user data, tags, ...").
// Note: Secrets Manager secret values cannot be checked here — the policy server hands policies plain
// values with the secret marking removed, so whether a SecretVersion's secretString was a Pulumi secret is
// not visible (covered by the program's unit tests instead).
import {
  asArray,
  asObject,
  describe,
  dig,
  findSecrets,
  isPlaceholderOrReference,
  isSecretName,
  Props,
} from "./util";
import { ResourceValidationPolicy } from "@pulumi/policy";

/** Tag-like maps of a resource: tags, EC2 volumeTags, GCP labels, launch template tagSpecifications. */
function tagMaps(props: Props): Props[] {
  const maps = [
    props.tags,
    props.volumeTags,
    props.labels,
    ...asArray(props.tagSpecifications).map((t) => dig(t, "tags")),
  ];
  return maps.map(asObject).filter((m): m is Props => m !== undefined);
}

export function secretTags(props: Props): string[] {
  const found: string[] = [];
  for (const map of tagMaps(props)) {
    for (const [key, raw] of Object.entries(map)) {
      const value = typeof raw === "string" ? raw : JSON.stringify(raw ?? "");
      if (
        (isSecretName(key) && !isPlaceholderOrReference(value)) ||
        findSecrets(`${key}=${value}`).length > 0
      ) {
        found.push(key);
      }
    }
  }
  return [...new Set(found)];
}

export const noSecretsInTags: ResourceValidationPolicy = {
  name: "no-secrets-in-tags",
  description: "No resource has a tag or label whose name or value looks like a secret.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    const keys = secretTags(args.props);
    if (keys.length > 0) {
      report(
        `${describe(args)} has tags that look secret (${keys.join(", ")}): tags are readable by anyone who can list resources; remove them and keep the value in Secrets Manager.`,
      );
    }
  },
};

export const tagPolicies = [noSecretsInTags];
