import * as pulumi from "@pulumi/pulumi";
import * as iam from "@pulumi/aws/iam";
import * as sns from "@pulumi/aws/sns";
import * as random from "@pulumi/random";
import type { CommonArgs, ServerOptions } from "./args";
import type { TrackingServerConfig, TrackingServerNetwork } from "./contracts";
import { awsRegion, defaultTags, DEFAULTS, networkSettings, serverSettings } from "./defaults";
import { inProviderRegion } from "./region";
import { knownCount } from "./subnets";
import { checkAdminPassword, checkServer } from "./validate";
import { assumeRolePolicy } from "./iam";
import { Network } from "./network";
import { computeMode } from "./registry";
import { RuntimeSecret, ServerSecret, StoredSecret, storeSecret } from "./secret";
import { ServerCompute, ServerSettings } from "./settings";

export type {
  ComputeContext,
  ComputeModeModule,
  ServerDeployment,
  TrackingServerConfig,
  TrackingServerNetwork,
} from "./contracts";

/** Arguments of a TrackingServer: what it serves (undefaultable), where, and how. */
export interface TrackingServerArgs extends ServerOptions, CommonArgs {
  /** MLflow's `--artifacts-destination` (an ArtifactStore's `artifactRoot`). */
  artifactRoot: pulumi.Input<string>;
  /** Plain environment the artifact store needs (from `ArtifactStore.grantReadWrite`). @default none */
  artifactEnvironment?: pulumi.Input<{ [key: string]: string }>;
  /** Credentials the artifact store needs (from `ArtifactStore.grantReadWrite`). @default none */
  artifactSecrets?: ServerSecret[];
  /** The secret holding the backend store URI (a MetadataDatabase's `connectionSecret`). */
  backendStoreUri: StoredSecret;
  /**
   * The IAM role the server runs as; the store grants it access. @default a new role trusting the compute
   * mode's service
   */
  role?: iam.Role;
  /** An existing VPC; give its subnets too. @default a new VPC (a child Network) */
  vpcId?: pulumi.Input<string>;
  /** The existing VPC's CIDR (container mode: the load balancer's egress to the tasks). */
  vpcCidrBlock?: pulumi.Input<string>;
  /** Public subnets of `vpcId` (the EC2 instance or the load balancer): a list, or an Output of one. */
  publicSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Private subnets of `vpcId` with a NAT route (container tasks): a list, or an Output of one. */
  privateSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** The MLflow admin password. @default a generated 32-character password */
  adminPassword?: pulumi.Input<string>;
  /** SNS topic the server's alarms notify. @default a new topic */
  alarmTopicArn?: pulumi.Input<string>;
}

/**
 * The IAM role the tracking server runs as. The platform creates it before the artifact store grants it
 * access (GCP federation trusts this role, and only it).
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
  /** `https://<elastic ip or domain>` (`http://` only with allowPlainHttp). */
  readonly trackingUri: pulumi.Output<string>;
  /** The security group the server (instance or tasks) runs in: what a database admits. */
  readonly securityGroupId: pulumi.Output<string>;
  /** The IAM role the server runs as. */
  readonly role: iam.Role;
  readonly adminUsername: string;
  /** The admin password, as a Pulumi secret. */
  readonly adminPassword: pulumi.Output<string>;
  /** Where the server runs. */
  readonly compute: ServerCompute;
  /** The SNS topic its alarms notify: `alarmTopicArn`, or the topic it created (subscribe someone to it). */
  readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: TrackingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const settings = checkServerArgs(args);
    const region = awsRegion(args, "TrackingServer");
    super("mlflow-platform:index:TrackingServer", name, {}, opts);
    const tags = defaultTags(args.tags);
    const protect = args.protect ?? DEFAULTS.protect;
    const parent = { parent: this };

    this.role = args.role ?? createServerRole(name, settings.compute, tags, parent);
    this.adminPassword = pulumi.secret(
      args.adminPassword ??
        new random.RandomPassword(`${name}-admin`, { length: 32, special: false }, parent).result,
    );
    const secrets = serverSecrets(name, args, this.adminPassword, { protect, tags, parent });
    const network = serverNetwork(name, args, settings, { tags, parent: this, bootAfter: opts?.dependsOn });
    this.alarmTopicArn = pulumi.output(
      args.alarmTopicArn ?? new sns.Topic(`${name}-alarms`, { tags }, parent).arn,
    );
    const config: TrackingServerConfig = {
      settings,
      awsRegion: region,
      network,
      role: this.role,
      // What the server runs from names the region: nothing of it is created before the provider's is known.
      artifactRoot: inProviderRegion("TrackingServer", region, this, pulumi.output(args.artifactRoot)),
      artifactEnvironment: args.artifactEnvironment ?? {},
      alarmTopicArn: this.alarmTopicArn,
      protect,
      tags,
    };
    const deployment = computeMode(settings.compute).create({ name, parent: this, args: config, secrets });

    this.compute = settings.compute;
    this.adminUsername = settings.adminUsername;
    this.trackingUri = deployment.trackingUri;
    this.securityGroupId = deployment.securityGroupId;
    this.registerOutputs({
      trackingUri: this.trackingUri,
      securityGroupId: this.securityGroupId,
      alarmTopicArn: this.alarmTopicArn,
    });
  }
}

/** The server's settings, refused (naming the arg) before anything is registered if they will not do. */
export function checkServerArgs(
  args: TrackingServerArgs | (ServerOptions & { adminPassword?: unknown }),
): ServerSettings {
  const settings = serverSettings(args);
  checkServer("TrackingServer", settings);
  checkAdminPassword("TrackingServer", args.adminPassword);
  if ("vpcId" in args && args.vpcId) {
    if (args.publicSubnetIds === undefined || knownCount(args.publicSubnetIds) === 0)
      throw new Error(
        "TrackingServer: vpcId needs publicSubnetIds (and privateSubnetIds for container compute)",
      );
    const noPrivate = args.privateSubnetIds === undefined || knownCount(args.privateSubnetIds) === 0;
    if (settings.compute === "container" && (noPrivate || !args.vpcCidrBlock))
      throw new Error(
        "TrackingServer: container compute in an existing VPC needs privateSubnetIds and vpcCidrBlock",
      );
  }
  return settings;
}

/** Every secret the server reads: the backend store URI, its auth secrets, the artifact credentials. */
function serverSecrets(
  name: string,
  args: TrackingServerArgs,
  adminPassword: pulumi.Output<string>,
  {
    protect,
    tags,
    parent,
  }: { protect: boolean; tags: Record<string, string>; parent: pulumi.ResourceOptions },
): RuntimeSecret[] {
  // Signs the auth app's sessions; the same on every replica.
  const flaskSecretKey = new random.RandomPassword(
    `${name}-flask-key`,
    { length: 64, special: false },
    parent,
  );
  const stored = (suffix: string, description: string, value: pulumi.Input<string>) =>
    storeSecret(`${name}-${suffix}`, { description, value, protect, tags }, parent);
  const readAtStart: ServerSecret[] = [
    { variable: "MLFLOW_BACKEND_STORE_URI", ...args.backendStoreUri },
    {
      variable: "MLFLOW_AUTH_ADMIN_PASSWORD",
      ...stored("admin-password", "MLflow admin password", adminPassword),
    },
    {
      variable: "MLFLOW_FLASK_SERVER_SECRET_KEY",
      ...stored("flask-key", "MLflow auth session signing key", flaskSecretKey.result),
    },
  ];
  return [
    ...readAtStart.map((s) => ({ ...s, rereadWhileRunning: false })),
    // The store's credentials: start.sh re-reads them while the server runs (a renewed SAS or key).
    ...(args.artifactSecrets ?? []).map((s) => ({ ...s, rereadWhileRunning: true })),
  ];
}

/**
 * The caller's VPC, or a Network of the server's own sized for its compute mode. `bootAfter` (the
 * component's dependsOn, e.g. the platform's public routes) is what the server must not boot before.
 */
function serverNetwork(
  name: string,
  args: TrackingServerArgs,
  settings: ServerSettings,
  { tags, parent, bootAfter }: { tags: Record<string, string>; parent: TrackingServer; bootAfter: unknown },
): TrackingServerNetwork {
  const publicRoutes = (Array.isArray(bootAfter) ? bootAfter : [bootAfter]).filter(
    pulumi.Resource.isInstance,
  );
  // checkServerArgs made sure an existing VPC comes with its subnets.
  if (args.vpcId && args.publicSubnetIds) {
    return {
      vpcId: pulumi.output(args.vpcId),
      vpcCidrBlock: args.vpcCidrBlock === undefined ? undefined : pulumi.output(args.vpcCidrBlock),
      publicSubnetIds: args.publicSubnetIds,
      privateSubnetIds: args.privateSubnetIds ?? [],
      publicRoutes,
    };
  }
  const network = new Network(
    name,
    { ...networkSettings(undefined), ...computeMode(settings.compute).networkNeeds(settings), tags },
    { parent },
  );
  return {
    vpcId: network.vpcId,
    vpcCidrBlock: network.vpcCidrBlock,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    publicRoutes: [...publicRoutes, ...network.publicRoutes],
  };
}
