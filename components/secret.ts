import * as pulumi from "@pulumi/pulumi";
import * as secretsmanager from "@pulumi/aws/secretsmanager";

import { SecretVariable } from "../server/render";

/** The server environment variable a secret is delivered as: the names server/start.sh resolves. */
export { SecretVariable };

/**
 * A Secrets Manager secret and the version that holds its value. The secret (its ARN) exists seconds after
 * creation, its value only once the version is written, which for the database URI is after RDS is
 * available: whatever reads the value when it starts must depend on `version`, not only use the ARN.
 */
export interface StoredSecret {
  secret: secretsmanager.Secret;
  /** The version holding the value; absent for a secret written outside this program. */
  version?: secretsmanager.SecretVersion;
}

/** A value the tracking server reads from AWS Secrets Manager at start. */
export interface ServerSecret extends StoredSecret {
  /**
   * The environment variable server/start.sh exports it as: a SecretVariable, or an artifact backend's
   * `credentialVariable` (one of the names start.sh resolves; another is refused when the server is rendered).
   */
  variable: string;
}

/** A secret as the compute modes get it: whether the server re-reads it while it runs. */
export interface RuntimeSecret extends ServerSecret {
  /**
   * The artifact store's credential, which server/start.sh (step 6) watches in Secrets Manager when it is
   * given as `<variable>_SECRET_ARN`, so a renewed SAS or key reaches the running server without a restart.
   * The others are read once, when the server starts.
   */
  rereadWhileRunning: boolean;
}

/** The versions of the given secrets: the `dependsOn` of anything that reads them when it starts. */
export function secretVersions(secrets: StoredSecret[]): secretsmanager.SecretVersion[] {
  return secrets.flatMap((s) => (s.version ? [s.version] : []));
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
): Required<StoredSecret> {
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
  return { secret, version };
}
