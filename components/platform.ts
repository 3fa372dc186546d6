import * as pulumi from "@pulumi/pulumi";
import * as sns from "@pulumi/aws/sns";
import type {
  ArtifactStoreOptions,
  CommonArgs,
  DatabaseOptions,
  NetworkOptions,
  ServerOptions,
} from "./args";
import { ArtifactStore, checkArtifactStoreArgs } from "./artifactStore";
import { awsRegion, DEFAULTS, defaultTags, networkSettings } from "./defaults";
import { checkDatabaseArgs, MetadataDatabase } from "./metadataDatabase";
import { Network } from "./network";
import { computeMode } from "./registry";
import type { DatabaseSettings, ServerSettings } from "./settings";
import { checkServerArgs, TrackingServer, TrackingServerNetwork, createServerRole } from "./trackingServer";
import { knownCount } from "./subnets";
import { checkNetwork, connectionBudget, refuser } from "./validate";

/** Arguments of the whole platform: every one optional; `{}` is the dev-sized S3 + EC2 platform. */
export interface MlflowPlatformArgs extends CommonArgs {
  /** The VPC: a new one, or yours. @default a new VPC across 2 zones */
  network?: NetworkOptions;
  /** The artifact store. @default S3 */
  artifactStore?: ArtifactStoreOptions;
  /** The metadata database. @default db.t4g.micro, PostgreSQL 17, 20-100 GiB, 7 days of backups */
  database?: DatabaseOptions;
  /** The tracking server. @default one t3.small EC2 instance, HTTPS with an ACME certificate for its IP */
  server?: ServerOptions;
  /** Addresses subscribed (by email) to the alarm topic. @default none */
  alarmEmails?: string[];
  /** An existing SNS topic the alarms notify (e.g. the team's pager). @default a new topic */
  alarmTopicArn?: pulumi.Input<string>;
  /** The MLflow admin password. @default a generated 32-character password */
  adminPassword?: pulumi.Input<string>;
}

/** The whole MLflow tracking service: network, artifact store, metadata database and tracking server. */
export class MlflowPlatform extends pulumi.ComponentResource {
  readonly trackingUri: pulumi.Output<string>;
  readonly artifactRoot: pulumi.Output<string>;
  readonly databaseEndpoint: pulumi.Output<string>;
  readonly serverCompute: string;
  /** SNS topic every CloudWatch alarm of the platform notifies. */
  readonly alarmTopicArn: pulumi.Output<string>;
  /** The `.env` a client or container uses (a Pulumi secret). */
  readonly clientEnv: pulumi.Output<string>;

  constructor(name: string, args: MlflowPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    // Bad args stop the program before anything is registered: each component's own checks, first.
    const region = awsRegion(args, "MlflowPlatform");
    const protect = args.protect ?? DEFAULTS.protect;
    const server = checkServerArgs({ ...args.server, adminPassword: args.adminPassword });
    const databaseSettings = checkDatabaseArgs({ ...args.database, protect });
    checkArtifactStoreArgs({ ...args.artifactStore, awsRegion: region, tags: args.tags, protect });
    checkNetworkArgs(args.network, server);
    checkAcrossComponents(args, server, databaseSettings, protect);
    super("mlflow-platform:index:MlflowPlatform", name, {}, opts);
    const parent = { parent: this };
    const tags = defaultTags(args.tags);
    const common = { awsRegion: region, protect, tags };

    const alarmTopicArn = alarmTopic(name, args, tags, parent);
    const network = platformNetwork(name, args.network, server, tags, this);
    const role = createServerRole(name, server.compute, tags, parent);
    const artifactStore = new ArtifactStore(
      name,
      { ...args.artifactStore, ...common, alarmTopicArn },
      parent,
    );
    const artifactAccess = artifactStore.grantReadWrite({ role, compute: server.compute });
    const database = new MetadataDatabase(
      name,
      {
        ...args.database,
        ...common,
        vpcId: network.vpcId,
        subnetIds: network.privateSubnetIds,
        alarmTopicArn,
        logRetentionDays: server.logRetentionDays,
      },
      parent,
    );
    const trackingServer = new TrackingServer(
      name,
      {
        ...server,
        ...common,
        vpcId: network.vpcId,
        vpcCidrBlock: network.vpcCidrBlock,
        publicSubnetIds: network.publicSubnetIds,
        privateSubnetIds: network.privateSubnetIds,
        role,
        artifactRoot: artifactStore.artifactRoot,
        artifactEnvironment: artifactAccess.environment,
        artifactSecrets: artifactAccess.secrets,
        backendStoreUri: database.connectionSecret,
        adminPassword: args.adminPassword,
        alarmTopicArn,
      },
      // cloud-init installs packages at first boot: the public subnets' internet routes must exist by then.
      { ...parent, dependsOn: network.publicRoutes ?? [] },
    );
    // The one way into the database: PostgreSQL from the server's security group.
    database.allowConnectionsFrom(`${name}-db-from-server`, trackingServer.securityGroupId);

    this.trackingUri = trackingServer.trackingUri;
    this.artifactRoot = artifactStore.artifactRoot;
    this.databaseEndpoint = database.endpoint;
    this.serverCompute = trackingServer.compute;
    this.alarmTopicArn = alarmTopicArn;
    this.clientEnv = pulumi.secret(
      pulumi.interpolate`MLFLOW_TRACKING_URI=${trackingServer.trackingUri}
MLFLOW_TRACKING_USERNAME=${trackingServer.adminUsername}
MLFLOW_TRACKING_PASSWORD=${trackingServer.adminPassword}
`,
    );
    this.registerOutputs({
      trackingUri: this.trackingUri,
      artifactRoot: this.artifactRoot,
      databaseEndpoint: this.databaseEndpoint,
      serverCompute: this.serverCompute,
      clientEnv: this.clientEnv,
      alarmTopicArn: this.alarmTopicArn,
    });
  }
}

/** What only the whole platform sees: alarms that reach someone when protected; the database's connections. */
function checkAcrossComponents(
  args: MlflowPlatformArgs,
  server: ServerSettings,
  database: DatabaseSettings,
  protect: boolean,
): void {
  const refuse = refuser("MlflowPlatform");
  if (protect && !args.alarmEmails?.length && args.alarmTopicArn === undefined)
    refuse(
      "alarmEmails",
      args.alarmEmails ?? [],
      "at least one address, or alarmTopicArn (a topic that pages your team), while protect is true: " +
        "a protected platform's alarms must reach someone",
    );
  const budget = connectionBudget(database.instanceClass, server);
  if (budget && !budget.fits)
    refuse(
      "database.instanceClass",
      database.instanceClass,
      `a class with more memory (this one allows about ${budget.maxConnections} connections; the servers may ` +
        `open ${budget.needed}: ${budget.servers} x ${server.workers} workers x ${budget.perWorker}), or fewer ` +
        "server.workers or server.container.maxCount",
    );
}

/** Refuses a new VPC's bad sizing, or an existing VPC given without what the database and the server need. */
function checkNetworkArgs(options: NetworkOptions | undefined, server: ServerSettings): void {
  if (!options?.vpcId) return checkNetwork("MlflowPlatform", networkSettings(options));
  const { publicSubnetIds = [], privateSubnetIds = [] } = options;
  // An Output of a list is counted by the cloud (RDS refuses a subnet group in fewer than two zones).
  if (knownCount(publicSubnetIds) === 0 || (knownCount(privateSubnetIds) ?? 2) < 2)
    throw new Error(
      "MlflowPlatform: network.vpcId needs network.publicSubnetIds (the server or load balancer) and " +
        "network.privateSubnetIds in two or more availability zones (the database)",
    );
  if (server.compute === "container" && options.vpcCidrBlock === undefined)
    throw new Error("MlflowPlatform: network.vpcId with container compute needs network.vpcCidrBlock");
}

/** The caller's VPC (`network.vpcId`), or a new one sized for the server's compute mode. */
function platformNetwork(
  name: string,
  options: NetworkOptions | undefined,
  server: ServerSettings,
  tags: Record<string, string>,
  parent: MlflowPlatform,
): TrackingServerNetwork {
  if (options?.vpcId) {
    return {
      vpcId: pulumi.output(options.vpcId),
      vpcCidrBlock: options.vpcCidrBlock === undefined ? undefined : pulumi.output(options.vpcCidrBlock),
      publicSubnetIds: options.publicSubnetIds ?? [],
      privateSubnetIds: options.privateSubnetIds ?? [],
    };
  }
  return new Network(
    name,
    { ...networkSettings(options), ...computeMode(server.compute).networkNeeds(server), tags },
    { parent },
  );
}

/**
 * The topic every alarm notifies: `alarmTopicArn` from config (an existing topic, e.g. the team's pager), or
 * a new one. `alarmEmails` subscribe to it either way.
 */
function alarmTopic(
  name: string,
  args: MlflowPlatformArgs,
  tags: Record<string, string>,
  parent: pulumi.ResourceOptions,
): pulumi.Output<string> {
  // Alarm messages carry no secrets; CloudWatch cannot publish to a topic under the AWS-managed SNS key.
  const arn = args.alarmTopicArn
    ? pulumi.output(args.alarmTopicArn)
    : new sns.Topic(`${name}-alarms`, { tags }, parent).arn;
  (args.alarmEmails ?? []).forEach(
    (email, i) =>
      new sns.TopicSubscription(
        `${name}-alarms-${i}`,
        { topic: arn, protocol: "email", endpoint: email },
        parent,
      ),
  );
  return arn;
}
