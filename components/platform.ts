import * as pulumi from "@pulumi/pulumi";
import * as sns from "@pulumi/aws/sns";
import * as vpc from "@pulumi/aws/vpc";
import { PlatformSettings } from "../stacks/settings";
import { ArtifactStore } from "./artifactStore";
import { MetadataDatabase, DATABASE_PORT } from "./metadataDatabase";
import { Network } from "./network";
import { computeMode } from "./registry";
import { TrackingServer, createServerRole } from "./trackingServer";

export interface MlflowPlatformArgs {
  settings: PlatformSettings;
  /** From `pulumi config set --secret mlflow-platform:adminPassword`; generated when absent. */
  adminPassword?: pulumi.Output<string>;
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
    super("mlflow-platform:index:MlflowPlatform", name, {}, opts);
    const { settings } = args;
    const parent = { parent: this };
    const tags = { Project: settings.project, Stack: settings.stack, ManagedBy: "pulumi", ...settings.tags };

    const alarmTopicArn = alarmTopic(name, settings, tags, parent);

    const network = new Network(
      name,
      {
        cidrBlock: settings.network.cidrBlock,
        availabilityZoneCount: settings.network.availabilityZoneCount,
        availabilityZoneIds: settings.network.availabilityZoneIds,
        ...computeMode(settings.server.compute).networkNeeds(settings.server),
        tags,
      },
      parent,
    );
    const role = createServerRole(name, settings.server.compute, tags, parent);
    const artifactStore = new ArtifactStore(
      name,
      {
        settings: settings.artifactStore,
        protect: settings.protect,
        awsRegion: settings.awsRegion,
        tags,
        compute: settings.server.compute,
        alarmTopicArn,
        server: {
          roleName: role.name,
          roleArn: role.arn,
          awsAccountId: role.arn.apply((arn) => arn.split(":")[4]),
        },
      },
      parent,
    );
    const database = new MetadataDatabase(
      name,
      {
        settings: settings.database,
        awsRegion: settings.awsRegion,
        vpcId: network.vpcId,
        subnetIds: network.privateSubnetIds,
        alarmTopicArn,
        protect: settings.protect,
        logRetentionDays: settings.server.logRetentionDays,
        tags,
      },
      parent,
    );
    const server = new TrackingServer(
      name,
      {
        settings: settings.server,
        awsRegion: settings.awsRegion,
        network,
        role,
        artifactRoot: artifactStore.artifactRoot,
        artifactPolicyStatements: artifactStore.serverPolicyStatements,
        artifactEnvironment: artifactStore.serverEnvironment,
        artifactSecrets: artifactStore.serverSecrets,
        databaseSecret: database.connectionSecret,
        adminPassword: args.adminPassword,
        alarmTopicArn,
        protect: settings.protect,
        tags,
      },
      parent,
    );
    // The one way into the database: PostgreSQL from the server's security group.
    new vpc.SecurityGroupIngressRule(
      `${name}-db-from-server`,
      {
        securityGroupId: database.securityGroupId,
        referencedSecurityGroupId: server.securityGroupId,
        ipProtocol: "tcp",
        fromPort: DATABASE_PORT,
        toPort: DATABASE_PORT,
        description: "PostgreSQL from the MLflow tracking server",
        tags,
      },
      parent,
    );

    this.trackingUri = server.trackingUri;
    this.artifactRoot = artifactStore.artifactRoot;
    this.databaseEndpoint = database.endpoint;
    this.serverCompute = server.compute;
    this.alarmTopicArn = alarmTopicArn;
    this.clientEnv = pulumi.secret(
      pulumi.interpolate`MLFLOW_TRACKING_URI=${server.trackingUri}
MLFLOW_TRACKING_USERNAME=${server.adminUsername}
MLFLOW_TRACKING_PASSWORD=${server.adminPassword}
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

/**
 * The topic every alarm notifies: `alarmTopicArn` from config (an existing topic, e.g. the team's pager), or
 * a new one. `alarmEmails` subscribe to it either way.
 */
function alarmTopic(
  name: string,
  settings: PlatformSettings,
  tags: Record<string, string>,
  parent: pulumi.ResourceOptions,
): pulumi.Output<string> {
  // Alarm messages carry no secrets; CloudWatch cannot publish to a topic under the AWS-managed SNS key.
  const arn = settings.alarmTopicArn
    ? pulumi.output(settings.alarmTopicArn)
    : new sns.Topic(`${name}-alarms`, { tags }, parent).arn;
  settings.alarmEmails.forEach(
    (email, i) =>
      new sns.TopicSubscription(
        `${name}-alarms-${i}`,
        { topic: arn, protocol: "email", endpoint: email },
        parent,
      ),
  );
  return arn;
}
