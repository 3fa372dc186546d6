import * as pulumi from "@pulumi/pulumi";
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as rds from "@pulumi/aws/rds";
import * as random from "@pulumi/random";
import { DatabaseSettings } from "../stacks/settings";
import { storeSecret } from "./secret";

export interface MetadataDatabaseArgs {
  settings: DatabaseSettings;
  vpcId: pulumi.Input<string>;
  /** Private subnets in two or more availability zones. */
  subnetIds: pulumi.Input<string>[];
  /** SNS topic the database's alarms notify. */
  alarmTopicArn: pulumi.Input<string>;
  /** Deletion protection, a final snapshot on delete, and a recoverable secret. */
  protect: boolean;
  tags: Record<string, string>;
}

export const DATABASE_NAME = "mlflow";
export const DATABASE_USER = "mlflow";
export const DATABASE_PORT = 5432;

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
  /** Secrets Manager secret holding the SQLAlchemy URI (`postgresql://…?sslmode=require`). */
  readonly connectionSecret: ReturnType<typeof storeSecret>;
  /** The SQLAlchemy URI, as a Pulumi secret. */
  readonly connectionUri: pulumi.Output<string>;

  constructor(name: string, args: MetadataDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlflow-platform:index:MetadataDatabase", name, {}, opts);
    const { settings, protect, tags } = args;
    const parent = { parent: this };

    const securityGroup = new ec2.SecurityGroup(
      `${name}-db`,
      {
        vpcId: args.vpcId,
        description: "MLflow metadata database: PostgreSQL from the tracking server only",
        // No rules here: the ingress rule from the server's group is added by the platform; no egress.
        tags: { ...tags, Name: `${name}-db` },
      },
      parent,
    );
    const subnetGroup = new rds.SubnetGroup(`${name}-db`, { subnetIds: args.subnetIds, tags }, parent);
    const parameterGroup = new rds.ParameterGroup(
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
      parent,
    );
    // URL-safe: the password goes into a SQLAlchemy URI.
    const password = new random.RandomPassword(`${name}-db`, { length: 40, special: false }, parent);
    const snapshotSuffix = new random.RandomId(`${name}-db-final-snapshot`, { byteLength: 4 }, parent);

    const instance = new rds.Instance(
      `${name}-db`,
      {
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
        password: pulumi.secret(password.result),
        port: DATABASE_PORT,
        dbSubnetGroupName: subnetGroup.name,
        parameterGroupName: parameterGroup.name,
        vpcSecurityGroupIds: [securityGroup.id],
        publiclyAccessible: false,
        multiAz: settings.multiAz,
        backupRetentionPeriod: settings.backupRetentionDays,
        backupWindow: "03:00-04:00",
        maintenanceWindow: "sun:04:30-sun:05:30",
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
          ? pulumi.interpolate`${name}-db-final-${snapshotSuffix.hex}`
          : undefined,
        deleteAutomatedBackups: !protect,
        performanceInsightsEnabled: true,
        enabledCloudwatchLogsExports: ["postgresql"],
        tags: { ...tags, Name: `${name}-db` },
      },
      { ...parent, protect },
    );

    // Storage autoscaling grows the disk, but only up to the ceiling; CPU saturation shows before timeouts do.
    const alarm = (suffix: string, alarmArgs: Omit<cloudwatch.MetricAlarmArgs, "namespace" | "dimensions">) =>
      new cloudwatch.MetricAlarm(
        `${name}-db-${suffix}`,
        {
          namespace: "AWS/RDS",
          dimensions: { DBInstanceIdentifier: instance.identifier },
          alarmActions: [args.alarmTopicArn],
          okActions: [args.alarmTopicArn],
          tags,
          ...alarmArgs,
        },
        parent,
      );
    alarm("free-storage", {
      alarmDescription: `MLflow database: less than ${settings.allocatedStorageGb / 10} GiB of storage free (10% of the initial allocation)`,
      metricName: "FreeStorageSpace",
      statistic: "Minimum",
      period: 300,
      evaluationPeriods: 2,
      threshold: settings.allocatedStorageGb * 1024 ** 3 * 0.1,
      comparisonOperator: "LessThanThreshold",
    });
    alarm("cpu", {
      alarmDescription: "MLflow database: CPU above 80% for 15 minutes",
      metricName: "CPUUtilization",
      statistic: "Average",
      period: 300,
      evaluationPeriods: 3,
      threshold: 80,
      comparisonOperator: "GreaterThanThreshold",
    });

    this.address = instance.address;
    this.endpoint = pulumi.interpolate`${instance.address}:${instance.port}`;
    this.securityGroupId = securityGroup.id;
    this.connectionUri = pulumi.secret(
      pulumi.interpolate`postgresql://${DATABASE_USER}:${password.result}@${instance.address}:${instance.port}/${DATABASE_NAME}?sslmode=require`,
    );
    this.connectionSecret = storeSecret(
      `${name}-db-uri`,
      { description: "MLflow backend store URI (SQLAlchemy)", value: this.connectionUri, protect, tags },
      parent,
    );
    this.registerOutputs({ endpoint: this.endpoint, connectionSecretArn: this.connectionSecret.arn });
  }
}
