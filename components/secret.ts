import * as pulumi from "@pulumi/pulumi";
import * as secretsmanager from "@pulumi/aws/secretsmanager";

import type { SecretVariable } from "../server/render";

/** The server environment variable a secret is delivered as: the names server/start.sh resolves. */
export type { SecretVariable };

/**
 * A Secrets Manager secret and the version that holds its value. The secret (its ARN) exists seconds after
 * creation, its value only once the version is written, which for the database URI is after RDS is
 * available: whatever reads the value when it starts must depend on `version`, not only use the ARN.
 */
export type StoredSecret = secretsmanager.Secret & { readonly version: secretsmanager.SecretVersion };

/** A value the tracking server reads from AWS Secrets Manager at start. */
export interface ServerSecret {
  variable: SecretVariable;
  secret: StoredSecret;
}

/**
 * Secrets the server re-reads while it runs: the artifact store's credential, which server/start.sh (step 6)
 * watches in Secrets Manager when it is given as `<variable>_SECRET_ARN`, so a renewed SAS or key reaches
 * the running server without a restart. The others are read once, when the server starts.
 */
export const RENEWED_WHILE_RUNNING: readonly SecretVariable[] = Object.freeze([
  "AZURE_STORAGE_CONNECTION_STRING",
  "GOOGLE_CREDENTIALS_JSON",
]);

/** The versions of the given secrets: the `dependsOn` of anything that reads them when it starts. */
export function secretVersions(secrets: ServerSecret[]): secretsmanager.SecretVersion[] {
  return secrets.map((s) => s.secret.version);
}

export interface StoredSecretArgs {
  description: string;
  /** The value; always stored and passed on as a Pulumi secret. */
  value: pulumi.Input<string>;
  /** Protected stacks keep a deleted secret recoverable for 30 days; others delete it at once. */
  protect: boolean;
  tags: Record<string, string>;
}

/** A Secrets Manager secret holding one string, with the version that stores it. */
export function storeSecret(
  name: string,
  args: StoredSecretArgs,
  opts: pulumi.CustomResourceOptions,
): StoredSecret {
  const secret = new secretsmanager.Secret(
    name,
    {
      description: args.description,
      recoveryWindowInDays: args.protect ? 30 : 0,
      tags: args.tags,
    },
    { ...opts, protect: args.protect },
  );
  const version = new secretsmanager.SecretVersion(
    name,
    { secretId: secret.id, secretString: pulumi.secret(args.value) },
    opts,
  );
  // On the secret itself, so every caller that passes the secret on also passes its version.
  return Object.assign(secret, { version });
}
