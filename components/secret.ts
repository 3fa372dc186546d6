import * as pulumi from "@pulumi/pulumi";
import * as secretsmanager from "@pulumi/aws/secretsmanager";

import type { SecretVariable } from "../server/render";

/** The server environment variable a secret is delivered as: the names server/start.sh resolves. */
export type { SecretVariable };

/** A value the tracking server reads from AWS Secrets Manager at start. */
export interface ServerSecret {
  variable: SecretVariable;
  secret: secretsmanager.Secret;
}

export interface StoredSecretArgs {
  description: string;
  /** The value; always stored and passed on as a Pulumi secret. */
  value: pulumi.Input<string>;
  /** Protected stacks keep a deleted secret recoverable for 30 days; others delete it at once. */
  protect: boolean;
  tags: Record<string, string>;
}

/** A Secrets Manager secret holding one string. */
export function storeSecret(
  name: string,
  args: StoredSecretArgs,
  opts: pulumi.CustomResourceOptions,
): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(
    name,
    {
      description: args.description,
      recoveryWindowInDays: args.protect ? 30 : 0,
      tags: args.tags,
    },
    { ...opts, protect: args.protect },
  );
  new secretsmanager.SecretVersion(
    name,
    { secretId: secret.id, secretString: pulumi.secret(args.value) },
    opts,
  );
  return secret;
}
