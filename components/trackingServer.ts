import * as pulumi from "@pulumi/pulumi";
import * as iam from "@pulumi/aws/iam";
import * as random from "@pulumi/random";
import { ServerCompute } from "../stacks/settings";
import type { TrackingServerArgs } from "./contracts";
import { assumeRolePolicy } from "./iam";
import { computeMode } from "./registry";
import { ServerSecret, storeSecret } from "./secret";

export type {
  ComputeContext,
  ComputeModeModule,
  ServerDeployment,
  TrackingServerArgs,
  TrackingServerNetwork,
} from "./contracts";

/**
 * The IAM role the tracking server runs as. Created before the artifact store, which grants this role (and
 * only it) access, including through federation on Azure and GCP.
 */
export function createServerRole(
  name: string,
  compute: ServerCompute,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): iam.Role {
  return new iam.Role(
    `${name}-server`,
    {
      description: `MLflow tracking server (${compute})`,
      assumeRolePolicy: assumeRolePolicy(computeMode(compute).assumedBy),
      tags,
    },
    opts,
  );
}

/**
 * The MLflow tracking server with authentication on, run from the files in `server/` on EC2 or as a
 * container. It reads every secret from Secrets Manager at start; none is ever in user data or plain env.
 */
export class TrackingServer extends pulumi.ComponentResource {
  readonly trackingUri: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly adminUsername: string;
  /** The admin password, as a Pulumi secret. */
  readonly adminPassword: pulumi.Output<string>;
  readonly compute: ServerCompute;

  constructor(name: string, args: TrackingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlflow-platform:index:TrackingServer", name, {}, opts);
    const { settings, protect, tags } = args;
    const parent = { parent: this };

    this.adminPassword = pulumi.secret(
      args.adminPassword ??
        new random.RandomPassword(`${name}-admin`, { length: 32, special: false }, parent).result,
    );
    // Signs the auth app's sessions; the same on every replica.
    const flaskSecretKey = new random.RandomPassword(
      `${name}-flask-key`,
      { length: 64, special: false },
      parent,
    );
    const secrets: ServerSecret[] = [
      { variable: "MLFLOW_BACKEND_STORE_URI", secret: args.databaseSecret },
      {
        variable: "MLFLOW_AUTH_ADMIN_PASSWORD",
        secret: storeSecret(
          `${name}-admin-password`,
          { description: "MLflow admin password", value: this.adminPassword, protect, tags },
          parent,
        ),
      },
      {
        variable: "MLFLOW_FLASK_SERVER_SECRET_KEY",
        secret: storeSecret(
          `${name}-flask-key`,
          { description: "MLflow auth session signing key", value: flaskSecretKey.result, protect, tags },
          parent,
        ),
      },
      ...args.artifactSecrets,
    ];

    const deployment = computeMode(settings.compute).create({ name, parent: this, args, secrets });

    this.compute = settings.compute;
    this.adminUsername = settings.adminUsername;
    this.trackingUri = deployment.trackingUri;
    this.securityGroupId = deployment.securityGroupId;
    this.registerOutputs({ trackingUri: this.trackingUri, securityGroupId: this.securityGroupId });
  }
}
