// The mlflow-platform CrossGuard pack: `pulumi preview --policy-pack policy/`.
// Constructing a PolicyPack starts the policy server, so this is the only place that does it.
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules";

new PolicyPack("mlflow-platform-security", {
  description:
    "Security rules of mlflow-platform (DESIGN.md): private encrypted versioned TLS-only artifact stores, a private protected database, a locked-down server, least-privilege IAM and no secrets in plain text; and the cloud APIs' own limits (names, descriptions, tags) that preview does not check.",
  enforcementLevel: "mandatory",
  policies: allPolicies,
});
