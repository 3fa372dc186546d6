import * as pulumi from "@pulumi/pulumi";
import * as iam from "@pulumi/aws/iam";
import * as random from "@pulumi/random";
import { ServerCompute, ServerSettings } from "../stacks/settings";
import { IamStatement, assumeRolePolicy } from "./iam";
import { ServerSecret, storeSecret } from "./secret";
import { createEc2Server } from "./compute/ec2";
import { createContainerServer } from "./compute/container";

export interface TrackingServerNetwork {
  vpcId: pulumi.Output<string>;
  publicSubnetIds: pulumi.Output<string>[];
  privateSubnetIds: pulumi.Output<string>[];
  /** The VPC's CIDR (container mode: the load balancer's egress to the tasks). */
  vpcCidrBlock?: pulumi.Output<string>;
  /** Resources that give the public subnets their internet route (EC2 boots only after them). */
  publicRoutes?: pulumi.Resource[];
}

export interface TrackingServerArgs {
  settings: ServerSettings;
  awsRegion: string;
  network: TrackingServerNetwork;
  /** The role the server runs as (see `createServerRole`). */
  role: iam.Role;
  /** `--artifacts-destination`. */
  artifactRoot: pulumi.Input<string>;
  /** What the artifact backend needs: AWS permissions, plain environment, credential secrets. */
  artifactPolicyStatements: pulumi.Input<IamStatement[]>;
  artifactEnvironment: pulumi.Input<Record<string, string>>;
  artifactSecrets: ServerSecret[];
  /** The Secrets Manager secret holding the backend store URI. */
  databaseSecret: ServerSecret["secret"];
  /** Admin password from `pulumi config set --secret mlflow-platform:adminPassword`; generated if absent. */
  adminPassword?: pulumi.Output<string>;
  /** SNS topic the server's alarms notify. */
  alarmTopicArn: pulumi.Input<string>;
  protect: boolean;
  tags: Record<string, string>;
}

/** Everything a compute mode needs to run the server; built once by TrackingServer. */
export interface ComputeContext {
  name: string;
  parent: pulumi.ComponentResource;
  args: TrackingServerArgs;
  /** All secrets the server reads: backend store URI, auth secrets, artifact credentials. */
  secrets: ServerSecret[];
}

/** What a compute mode gives back. One implementation per file in `compute/`. */
export interface ServerDeployment {
  /** `http://<elastic ip>` or `https://<domain>`. */
  trackingUri: pulumi.Output<string>;
  /** The group the server (instance or tasks) runs in; the database admits it on 5432. */
  securityGroupId: pulumi.Output<string>;
}

export type ComputeFactory = (context: ComputeContext) => ServerDeployment;

/** Adding a compute mode: one file in `compute/` and one line here. */
const COMPUTE: Partial<Record<ServerCompute, ComputeFactory>> = {
  ec2: createEc2Server,
  container: createContainerServer,
};

const ASSUMED_BY: Record<ServerCompute, string> = {
  ec2: "ec2.amazonaws.com",
  container: "ecs-tasks.amazonaws.com",
};

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
      assumeRolePolicy: assumeRolePolicy(ASSUMED_BY[compute]),
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

    const factory = COMPUTE[settings.compute];
    if (!factory) throw new Error(`server compute "${settings.compute}" is not available`);
    const deployment = factory({ name, parent: this, args, secrets });

    this.compute = settings.compute;
    this.adminUsername = settings.adminUsername;
    this.trackingUri = deployment.trackingUri;
    this.securityGroupId = deployment.securityGroupId;
    this.registerOutputs({ trackingUri: this.trackingUri, securityGroupId: this.securityGroupId });
  }
}
