import * as pulumi from "@pulumi/pulumi";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as rds from "@pulumi/aws/rds";
import * as random from "@pulumi/random";
import { RDS_CA_BUNDLE_PATH } from "../server/render";
import { rdsCaRegions } from "./rdsCaBundle";
import * as sns from "@pulumi/aws/sns";
import * as vpc from "@pulumi/aws/vpc";
import type { CommonArgs, DatabaseOptions } from "./args";
import { awsRegion, databaseSettings, defaultTags, DEFAULTS, networkSettings } from "./defaults";
import { inProviderRegion } from "./region";
import { knownCount } from "./subnets";
import { checkDatabase, LOG_RETENTION_DAYS, refuser } from "./validate";
import { Network } from "./network";
import { DatabaseSettings } from "./settings";
import { StoredSecret, storeSecret } from "./secret";

/** Arguments of a MetadataDatabase: its size and protection, and the network it lives in. */
export interface MetadataDatabaseArgs extends DatabaseOptions, CommonArgs {
  /** An existing VPC; give `subnetIds` too. @default a new VPC (a child Network) */
  vpcId?: pulumi.Input<string>;
  /** Private subnets of `vpcId` in two or more availability zones: a list, or an Output of one. */
  subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** SNS topic the database's alarms notify. @default a new topic */
  alarmTopicArn?: pulumi.Input<string>;
  /** Days CloudWatch keeps the instance's PostgreSQL log. @default 30 */
  logRetentionDays?: number;
}

/** A MetadataDatabase's resolved args. */
interface DatabaseConfig {
  settings: DatabaseSettings;
  /** The region: whether the vendored RDS CA bundle can verify its databases (databaseTls). */
  awsRegion: string;
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  alarmTopicArn: pulumi.Input<string>;
  protect: boolean;
  logRetentionDays: number;
  tags: Record<string, string>;
}

/** Where each database's ingress rules go: its security group, and the parent it was created under. */
const ingressScopes = new WeakMap<
  MetadataDatabase,
  { parent?: pulumi.Resource; tags: Record<string, string> }
>();

export const DATABASE_NAME = "mlflow";
export const DATABASE_USER = "mlflow";
export const DATABASE_PORT = 5432;
/**
 * libpq's TLS settings of the database URI: verify RDS's certificate against AWS's RDS CA bundle and its
 * name against the URI's host. `require` would only encrypt, to whoever answers on the address. The path is
 * on every server (RDS_CA_BUNDLE_PATH), so the URI also works for psql on the EC2 server.
 */
export const VERIFIED_TLS = `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`;

/**
 * The URI's TLS settings for a database in `region`: VERIFIED_TLS where the vendored bundle holds the
 * region's RDS root CAs (every commercial region). GovCloud and China publish their own bundles, not
 * vendored yet: there the connection stays encrypted but unverified, and every deployment says so.
 */
export function databaseTls(region: string, regions: Set<string> = rdsCaRegions()): string {
  if (regions.has(region)) return VERIFIED_TLS;
  pulumi.log.warn(
    `aws:region ${region}: server/rds-ca-bundle.pem holds no RDS root CA of this region, so the database ` +
      "connection is encrypted but does not verify the server (sslmode=require); see docs/aws-operations.md",
  );
  return "sslmode=require";
}

/** Bytes of free storage below which the database alarms, and the alarm's description. */
export function freeStorageAlarm(settings: DatabaseSettings): {
  thresholdBytes: number;
  description: string;
} {
  const gib = 1024 ** 3;
  if (settings.maxAllocatedStorageGb <= settings.allocatedStorageGb) {
    // No autoscaling: nothing acts before someone does.
    return {
      thresholdBytes: settings.allocatedStorageGb * gib * 0.1,
      description: `MLflow database: less than ${settings.allocatedStorageGb / 10} GiB of storage free (10% of its ${settings.allocatedStorageGb} GiB; storage autoscaling is off)`,
    };
  }
  // Autoscaling grows the disk when free space is at most 10% of the allocation, which only ever grows:
  // half of 10% of the initial allocation is always below that trigger, so the alarm pages only when
  // autoscaling did not keep up (its 6-hour cooldown, a failure, or the ceiling).
  return {
    thresholdBytes: settings.allocatedStorageGb * gib * 0.05,
    description: `MLflow database: less than ${settings.allocatedStorageGb / 20} GiB of storage free although storage autoscaling (up to ${settings.maxAllocatedStorageGb} GiB) adds space at 10% free`,
  };
}

/**
 * RDS PostgreSQL for MLflow's tracking metadata: private, encrypted, TLS enforced, backed up. Its security
 * group admits nobody; the platform opens 5432 to the tracking server's security group only.
 */
export class MetadataDatabase extends pulumi.ComponentResource {
  /** Host name of the instance (private). */
  readonly address: pulumi.Output<string>;
  /** `host:port`. */
  readonly endpoint: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** Secrets Manager secret holding the SQLAlchemy URI (`postgresql://…?sslmode=verify-full&sslrootcert=…`). */
  readonly connectionSecret: StoredSecret;
  /** The SQLAlchemy URI, as a Pulumi secret. */
  readonly connectionUri: pulumi.Output<string>;
  /** The SNS topic its alarms notify: `alarmTopicArn`, or the topic it created (subscribe someone to it). */
  readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: MetadataDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    const settings = checkDatabaseArgs(args);
    super("mlflow-platform:index:MetadataDatabase", name, {}, opts);
    const config = resolve(name, args, settings, this);
    const { protect, tags } = config;
    const parent = { parent: this };
    ingressScopes.set(this, { parent: opts?.parent, tags });

    const securityGroup = new ec2.SecurityGroup(
      `${name}-db`,
      {
        vpcId: config.vpcId,
        description: "MLflow metadata database: PostgreSQL from the tracking server only",
        // No rules here: the ingress rule from the server's group is added by the platform; no egress.
        tags: { ...tags, Name: `${name}-db` },
      },
      parent,
    );
    const subnetGroup = new rds.SubnetGroup(`${name}-db`, { subnetIds: config.subnetIds, tags }, parent);
    const parameterGroup = createParameterGroup(name, config, parent);
    // URL-safe: the password goes into a SQLAlchemy URI.
    const password = new random.RandomPassword(`${name}-db`, { length: 40, special: false }, parent);
    const snapshotSuffix = new random.RandomId(`${name}-db-final-snapshot`, { byteLength: 4 }, parent);
    const identifier = plannedIdentifier(name, this);
    const postgresLog = postgresLogGroup(name, identifier, config, parent);

    const instance = createDatabaseInstance(
      name,
      config,
      { identifier, password, snapshotSuffix, securityGroup, subnetGroup, parameterGroup, postgresLog },
      parent,
    );
    warnOnLegacyIdentifier(instance, identifier);
    if (protect) warnOnQueuedChanges(instance, config.settings);
    createDatabaseAlarms(name, config, instance, parent);

    this.address = instance.address;
    this.endpoint = pulumi.interpolate`${instance.address}:${instance.port}`;
    this.securityGroupId = securityGroup.id;
    // The URI names the region's CA bundle: it waits until the provider is known to deploy there.
    this.connectionUri = pulumi.secret(
      inProviderRegion(
        "MetadataDatabase",
        config.awsRegion,
        this,
        pulumi.interpolate`postgresql://${DATABASE_USER}:${password.result}@${instance.address}:${instance.port}/${DATABASE_NAME}?${databaseTls(config.awsRegion)}`,
      ),
    );
    this.connectionSecret = storeSecret(
      `${name}-db-uri`,
      { description: "MLflow backend store URI (SQLAlchemy)", value: this.connectionUri, protect, tags },
      parent,
    );
    this.alarmTopicArn = pulumi.output(config.alarmTopicArn);
    this.registerOutputs({
      endpoint: this.endpoint,
      connectionSecretArn: this.connectionSecret.secret.arn,
      alarmTopicArn: this.alarmTopicArn,
    });
  }

  /**
   * Opens PostgreSQL to the members of `securityGroupId` (the database's group admits nobody else). The rule
   * is the database's; `name` names it. Rules the platform made before this method existed keep their place
   * through an alias to the database's own parent.
   */
  allowConnectionsFrom(
    name: string,
    securityGroupId: pulumi.Input<string>,
    description = "PostgreSQL from the MLflow tracking server",
  ): vpc.SecurityGroupIngressRule {
    const scope = ingressScopes.get(this)!;
    return new vpc.SecurityGroupIngressRule(
      name,
      {
        securityGroupId: this.securityGroupId,
        referencedSecurityGroupId: securityGroupId,
        ipProtocol: "tcp",
        fromPort: DATABASE_PORT,
        toPort: DATABASE_PORT,
        description,
        tags: scope.tags,
      },
      { parent: this, aliases: scope.parent ? [{ parent: scope.parent }] : [] },
    );
  }
}

/** The database's settings, refused (naming the arg) before anything is registered if they will not do. */
export function checkDatabaseArgs(args: MetadataDatabaseArgs): DatabaseSettings {
  const settings = databaseSettings(args);
  checkDatabase("MetadataDatabase", settings, args.protect ?? DEFAULTS.protect);
  if (args.logRetentionDays !== undefined && !LOG_RETENTION_DAYS.includes(args.logRetentionDays))
    refuser("MetadataDatabase")("logRetentionDays", args.logRetentionDays, LOG_RETENTION_DAYS.join(", "));
  if (args.vpcId && (args.subnetIds === undefined || (knownCount(args.subnetIds) ?? 2) < 2))
    throw new Error(
      "MetadataDatabase: vpcId needs subnetIds, private subnets in two or more availability zones",
    );
  return settings;
}

function resolve(
  name: string,
  args: MetadataDatabaseArgs,
  settings: DatabaseSettings,
  parent: MetadataDatabase,
): DatabaseConfig {
  const tags = defaultTags(args.tags);
  const network =
    args.vpcId && args.subnetIds
      ? { vpcId: args.vpcId, subnetIds: args.subnetIds }
      : ownNetwork(name, tags, parent);
  return {
    settings,
    awsRegion: awsRegion(args, "MetadataDatabase"),
    ...network,
    alarmTopicArn: args.alarmTopicArn ?? new sns.Topic(`${name}-db-alarms`, { tags }, { parent }).arn,
    protect: args.protect ?? DEFAULTS.protect,
    logRetentionDays: args.logRetentionDays ?? DEFAULTS.server.logRetentionDays,
    tags,
  };
}

function ownNetwork(name: string, tags: Record<string, string>, parent: MetadataDatabase) {
  const network = new Network(name, { ...networkSettings(undefined), natGateway: false, tags }, { parent });
  return { vpcId: network.vpcId, subnetIds: network.privateSubnetIds };
}

/**
 * TLS required, slow queries logged. A major upgrade (engineVersion) replaces the group: the new one is
 * created, the instance moved to it, the old one deleted. A protected stack defers the instance change to the
 * maintenance window (applyImmediately false), so the old group stays attached and its delete would fail the
 * up until the window has run ("InvalidDBParameterGroupState"). Retained, it is only forgotten: delete it by
 * hand after the upgrade (docs/aws-operations.md). Unprotected stacks apply at once and delete it cleanly.
 */
function createParameterGroup(
  name: string,
  { settings, protect, tags }: DatabaseConfig,
  parent: pulumi.ResourceOptions,
): rds.ParameterGroup {
  return new rds.ParameterGroup(
    `${name}-db`,
    {
      family: `postgres${settings.engineVersion}`,
      description: "MLflow: TLS required, slow queries logged",
      parameters: [
        { name: "rds.force_ssl", value: "1" },
        { name: "log_min_duration_statement", value: "1000" },
      ],
      tags,
    },
    { ...parent, retainOnDelete: protect },
  );
}

/** What the instance is made with, created before it. */
interface DatabaseInstanceParts {
  identifier: pulumi.Output<string>;
  password: random.RandomPassword;
  /** Makes the final snapshot's name unique per instance. */
  snapshotSuffix: random.RandomId;
  securityGroup: ec2.SecurityGroup;
  subnetGroup: rds.SubnetGroup;
  parameterGroup: rds.ParameterGroup;
  /** The group RDS writes the PostgreSQL log to: it must exist first. */
  postgresLog: cloudwatch.LogGroup;
}

/** The PostgreSQL instance: private, encrypted, backed up; protected stacks keep it and a final snapshot. */
function createDatabaseInstance(
  name: string,
  { settings, protect, tags }: DatabaseConfig,
  parts: DatabaseInstanceParts,
  parent: pulumi.ResourceOptions,
): rds.Instance {
  return new rds.Instance(
    `${name}-db`,
    {
      identifier: parts.identifier,
      engine: "postgres",
      engineVersion: settings.engineVersion,
      instanceClass: settings.instanceClass,
      allocatedStorage: settings.allocatedStorageGb,
      // RDS reads 0 as "no storage autoscaling"; a ceiling equal to the allocation would still enable it.
      maxAllocatedStorage:
        settings.maxAllocatedStorageGb > settings.allocatedStorageGb ? settings.maxAllocatedStorageGb : 0,
      storageType: "gp3",
      storageEncrypted: true,
      dbName: DATABASE_NAME,
      username: DATABASE_USER,
      password: pulumi.secret(parts.password.result),
      port: DATABASE_PORT,
      dbSubnetGroupName: parts.subnetGroup.name,
      parameterGroupName: parts.parameterGroup.name,
      vpcSecurityGroupIds: [parts.securityGroup.id],
      publiclyAccessible: false,
      multiAz: settings.multiAz,
      backupRetentionPeriod: settings.backupRetentionDays,
      backupWindow: "03:00-04:00",
      maintenanceWindow: MAINTENANCE_WINDOW,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      // engineVersion is a validated major version, so a major upgrade happens only when config changes it;
      // RDS refuses that change unless this is true.
      allowMajorVersionUpgrade: true,
      applyImmediately: !protect,
      deletionProtection: protect,
      skipFinalSnapshot: !protect,
      // Unique per instance: a recreated stack's final snapshot must not collide with the last one's.
      finalSnapshotIdentifier: protect
        ? pulumi.interpolate`${name}-db-final-${parts.snapshotSuffix.hex}`
        : undefined,
      deleteAutomatedBackups: !protect,
      performanceInsightsEnabled: true,
      enabledCloudwatchLogsExports: ["postgresql"],
      tags: { ...tags, Name: `${name}-db` },
    },
    // Instances created before the identifier was explicit keep their autonamed one: a new identifier
    // would replace the database. RDS writes its log into the group made above, created first.
    // The identifier is explicit and survives a replacement (`pulumi up --replace`, or a replace-triggering
    // input): created first, the new instance would collide with the old one (DBInstanceAlreadyExists), so
    // the old one goes first. A protected database is never replaced (protect, deletionProtection).
    {
      ...parent,
      protect,
      ignoreChanges: ["identifier"],
      dependsOn: [parts.postgresLog],
      deleteBeforeReplace: true,
    },
  );
}

/** Free storage, RDS's storage events, and CPU (saturation shows before timeouts do), to the alarm topic. */
function createDatabaseAlarms(
  name: string,
  args: DatabaseConfig,
  instance: rds.Instance,
  parent: pulumi.ResourceOptions,
): void {
  const alarm = (suffix: string, alarmArgs: Omit<cloudwatch.MetricAlarmArgs, "namespace" | "dimensions">) =>
    new cloudwatch.MetricAlarm(
      `${name}-db-${suffix}`,
      {
        namespace: "AWS/RDS",
        dimensions: { DBInstanceIdentifier: instance.identifier },
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
        tags: args.tags,
        ...alarmArgs,
      },
      parent,
    );
  const storage = freeStorageAlarm(args.settings);
  alarm("free-storage", {
    alarmDescription: storage.description,
    metricName: "FreeStorageSpace",
    statistic: "Minimum",
    period: 300,
    evaluationPeriods: 2,
    threshold: storage.thresholdBytes,
    comparisonOperator: "LessThanThreshold",
  });
  // CloudWatch has no allocated-storage metric, so only RDS can tell how close the autoscaled disk is to
  // its ceiling: its "low storage" events include RDS-EVENT-0225 (storage approaching the maximum
  // threshold), RDS-EVENT-0089 (over 90% used) and RDS-EVENT-0007 (storage exhausted).
  new rds.EventSubscription(
    `${name}-db-storage`,
    {
      snsTopic: args.alarmTopicArn,
      sourceType: "db-instance",
      sourceIds: [instance.identifier],
      eventCategories: ["low storage"],
      tags: args.tags,
    },
    parent,
  );
  alarm("cpu", {
    alarmDescription: "MLflow database: CPU above 80% for 15 minutes",
    metricName: "CPUUtilization",
    statistic: "Average",
    period: 300,
    evaluationPeriods: 3,
    threshold: 80,
    comparisonOperator: "GreaterThanThreshold",
  });
}

/**
 * The instance identifier `<name>-db-<8 hex>`: explicit, so the log group RDS writes to can be created (with
 * a retention) before the instance; random, so a recreated stack does not collide with a deleting instance.
 */
function plannedIdentifier(name: string, parent: pulumi.Resource): pulumi.Output<string> {
  const suffix = new random.RandomId(`${name}-db-identifier`, { byteLength: 4 }, { parent });
  return suffix.hex.apply((hex) => rdsIdentifier(name, hex));
}

/** An RDS identifier: 1-63 lower-case letters, digits and single hyphens, starting with a letter. */
export function rdsIdentifier(name: string, hex: string): string {
  const base = `${name}-db`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z]+/, "");
  return `${base.slice(0, 63 - hex.length - 1).replace(/-+$/, "")}-${hex}`;
}

/**
 * The group RDS exports the PostgreSQL log to. Made by RDS itself it never expires and outlives the stack;
 * made here first, it has the stack's retention and is deleted with the stack (kept when protected).
 */
function postgresLogGroup(
  name: string,
  identifier: pulumi.Output<string>,
  args: DatabaseConfig,
  parent: pulumi.ResourceOptions,
): cloudwatch.LogGroup {
  return new cloudwatch.LogGroup(
    `${name}-db-postgresql`,
    {
      name: pulumi.interpolate`/aws/rds/instance/${identifier}/postgresql`,
      retentionInDays: args.logRetentionDays,
      tags: args.tags,
    },
    { ...parent, retainOnDelete: args.protect },
  );
}

/** The protected instance's maintenance window (applyImmediately false queues changes until then). */
export const MAINTENANCE_WINDOW = "sun:04:30-sun:05:30";

/** What the instance reports after an `up`, beside what the config asks for. */
export interface RunningDatabase {
  instanceClass: string;
  engineVersionActual: string;
  allocatedStorage: number;
  backupRetentionPeriod: number;
  multiAz: boolean;
}

/**
 * The config changes RDS has queued for the maintenance window: the provider reads the instance's current
 * values back, so they differ from the config until the window has run (and every preview shows the diff).
 * Storage above the configured allocation is autoscaling's growth, not a queued change.
 */
export function queuedChanges(wanted: DatabaseSettings, running: RunningDatabase): string[] {
  const changes: string[] = [];
  const differs = (key: string, want: unknown, now: unknown) => {
    if (want !== now)
      changes.push(`database.${key} ${JSON.stringify(want)} (running: ${JSON.stringify(now)})`);
  };
  differs("instanceClass", wanted.instanceClass, running.instanceClass);
  differs("engineVersion", wanted.engineVersion, running.engineVersionActual.split(".")[0]);
  if (running.allocatedStorage < wanted.allocatedStorageGb) {
    differs("allocatedStorageGb", wanted.allocatedStorageGb, running.allocatedStorage);
  }
  differs("backupRetentionDays", wanted.backupRetentionDays, running.backupRetentionPeriod);
  differs("multiAz", wanted.multiAz, running.multiAz);
  return changes;
}

/** After an `up` of a protected stack, say which changes wait for the maintenance window. */
function warnOnQueuedChanges(instance: rds.Instance, settings: DatabaseSettings): void {
  pulumi
    .all([
      instance.identifier,
      instance.instanceClass,
      instance.engineVersionActual,
      instance.allocatedStorage,
      instance.backupRetentionPeriod,
      instance.multiAz,
    ])
    .apply(
      ([
        identifier,
        instanceClass,
        engineVersionActual,
        allocatedStorage,
        backupRetentionPeriod,
        multiAz,
      ]) => {
        if (!instanceClass || !engineVersionActual) return; // not created yet
        const queued = queuedChanges(settings, {
          instanceClass,
          engineVersionActual,
          allocatedStorage,
          backupRetentionPeriod,
          multiAz,
        });
        if (queued.length > 0) {
          pulumi.log.warn(
            `database ${identifier}: ${queued.join(", ")} queued by RDS for the maintenance window (${MAINTENANCE_WINDOW} UTC, protect: true); previews show this change until then. To apply it now, with everything else queued: aws rds modify-db-instance --db-instance-identifier ${identifier} --apply-immediately plus the change (docs/aws-operations.md)`,
            instance,
          );
        }
      },
    );
}

/**
 * A database created before identifiers were explicit keeps its autonamed identifier (ignoreChanges), so its
 * log group is still the one RDS made; say how to give it a retention.
 */
function warnOnLegacyIdentifier(instance: rds.Instance, planned: pulumi.Output<string>): void {
  pulumi.all([instance.identifier, planned]).apply(([actual, expected]) => {
    if (actual && actual !== expected) {
      pulumi.log.warn(
        `database ${actual} predates explicit identifiers: its log group /aws/rds/instance/${actual}/postgresql was created by RDS and never expires; set a retention once with \`aws logs put-retention-policy --log-group-name /aws/rds/instance/${actual}/postgresql --retention-in-days <days>\` (the group /aws/rds/instance/${expected}/postgresql made for a new identifier stays empty)`,
        instance,
      );
    }
  });
}
