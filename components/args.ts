// The components' public options: the resolved settings (settings.ts) with every field optional and its
// default documented. defaults.ts holds the defaults and fills them in; a stack program or another Pulumi
// program (any language, through the component package) passes only what it wants to change.
// Types here are ones Pulumi's schema analyzer accepts: interfaces, `as const` enums, plain maps and lists.
import type * as pulumi from "@pulumi/pulumi";
import type { AcmeChallenge, ArtifactBackendName, ServerCompute } from "./enums";

/** The VPC: a new one (the default), or yours when `vpcId` and its subnets are given. */
export interface NetworkOptions {
  /** CIDR block of the new VPC. @default "10.42.0.0/16" */
  cidrBlock?: string;
  /** Availability zones the new VPC's subnets span (RDS needs two). @default 2 */
  availabilityZoneCount?: number;
  /**
   * Zone ids (`use1-az1`) to pin the new VPC's subnets to, in subnet order.
   * @default chosen at deploy time among the zones that offer the EC2 instance type
   */
  availabilityZoneIds?: string[];
  /** An existing VPC to use instead of creating one; give its subnets too. @default a new VPC */
  vpcId?: pulumi.Input<string>;
  /** The existing VPC's CIDR block (container mode: the load balancer's egress to the tasks). */
  vpcCidrBlock?: pulumi.Input<string>;
  /**
   * Public subnets of the existing VPC, routed to an internet gateway (the server or load balancer): a list,
   * or an Output of one.
   */
  publicSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Private subnets of the existing VPC in two or more zones (the database; container tasks, which need a
   * NAT route to pull images and reach AWS APIs).
   */
  privateSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
}

/** The Azure Blob backend's settings. */
export interface AzureBlobOptions {
  /** Azure region of the storage account, e.g. `westeurope`. */
  location: string;
  /** Subscription to deploy into. @default the azure-native provider's (ARM_SUBSCRIPTION_ID, az login) */
  subscriptionId?: string;
  /** An existing resource group to use. @default a new resource group */
  resourceGroupName?: string;
  /** Expiry (YYYY-MM-DD, UTC) of the server's container SAS. @default 1 January of the year after next */
  sasExpiresOn?: string;
}

/** The GCS backend's settings. */
export interface GcsOptions {
  /** GCP project that owns the bucket and the service account. */
  project: string;
  /** Bucket location: a multi-region such as `US` or a region such as `europe-west1`. @default "US" */
  location?: string;
}

/** What every artifact backend takes. */
export interface ArtifactStoreCommonOptions {
  /** The storage backend. @default "s3" */
  backend?: ArtifactBackendName;
  /** Key prefix under which MLflow writes artifacts. @default "mlflow" */
  prefix?: string;
  /** Days after which noncurrent (overwritten or deleted) object versions are removed. @default 30 */
  noncurrentVersionExpirationDays?: number;
  /** Days after which incomplete multipart uploads are aborted. @default 7 */
  abortIncompleteUploadDays?: number;
}

/**
 * Where and how MLflow keeps artifacts: the common options, and one property per backend that has options
 * of its own, named as the backend (enums.ts). Its file in artifact-backends/ reads, defaults and checks them.
 */
export interface ArtifactStoreOptions extends ArtifactStoreCommonOptions {
  /** Required when `backend` is `azureBlob`. */
  azureBlob?: AzureBlobOptions;
  /** Required when `backend` is `gcs`. */
  gcs?: GcsOptions;
}

/** The RDS PostgreSQL instance. */
export interface DatabaseOptions {
  /** RDS instance class. @default "db.t4g.micro" */
  instanceClass?: string;
  /** PostgreSQL major version. @default "17" */
  engineVersion?: string;
  /** Initial storage in GiB. @default 20 */
  allocatedStorageGb?: number;
  /**
   * Upper bound of storage autoscaling in GiB; equal to allocatedStorageGb turns it off. RDS needs it 10% above
   * the allocation. @default 100, or autoscaling off when allocatedStorageGb is over 90
   */
  maxAllocatedStorageGb?: number;
  /** Days of automated backups. @default 7 */
  backupRetentionDays?: number;
  /** A standby in a second zone. @default false */
  multiAz?: boolean;
}

/** Fargate sizing and scaling (compute `container`). */
export interface ContainerOptions {
  /** Task CPU units (256 = 0.25 vCPU). @default 1024 */
  cpu?: number;
  /** Task memory in MiB. @default 2048 */
  memoryMb?: number;
  /** Tasks at deploy time. @default 2 */
  desiredCount?: number;
  /** Fewest tasks autoscaling keeps. @default 2 */
  minCount?: number;
  /** Most tasks autoscaling starts. @default 4 */
  maxCount?: number;
  /** Average CPU utilisation the service scales to. @default 60 */
  targetCpuPercent?: number;
  /** Images ECR keeps. @default 10 */
  imageRetentionCount?: number;
}

/** The EC2 server's ACME client (its publicly trusted certificate). */
export interface AcmeOptions {
  /** ACME directory URL (https). @default "https://acme-v02.api.letsencrypt.org/directory" */
  directoryUrl?: string;
  /** Account contact address. @default none */
  email?: string;
  /** `http-01` (port 80 open to the CA) or `dns-01` (needs `domain` in Route 53). @default "http-01" */
  challenge?: AcmeChallenge;
}

/** The MLflow tracking server. */
export interface ServerOptions {
  /** Where the server runs. @default "ec2" */
  compute?: ServerCompute;
  /** MLflow version; must be the one server/requirements.txt locks. @default the locked version */
  mlflowVersion?: string;
  /** IPv4 CIDRs allowed to reach the server's HTTP(S) ports. @default ["0.0.0.0/0"] */
  allowedCidrs?: string[];
  /** The MLflow admin user. @default "admin" */
  adminUsername?: string;
  /** uvicorn workers per server (instance or task). @default 2 */
  workers?: number;
  /** EC2 instance type (compute `ec2`). @default "t3.small" */
  instanceType?: string;
  /** EC2 root volume in GiB. @default 20 */
  rootVolumeGb?: number;
  /**
   * Public DNS name of the server, in `hostedZoneId` (container: required, ACM on the load balancer; ec2:
   * an ACME certificate for it and an A record). @default none: EC2's certificate names its Elastic IP
   */
  domain?: string;
  /** Route 53 hosted zone holding `domain`. @default none */
  hostedZoneId?: string;
  /** Serve plain HTTP instead of HTTPS: the only way to turn TLS off. @default false */
  allowPlainHttp?: boolean;
  /** EC2's ACME settings. @default Let's Encrypt, http-01 */
  acme?: AcmeOptions;
  /** Days CloudWatch keeps the server's and the database's logs. @default 30 */
  logRetentionDays?: number;
  /** Runs deleted longer ago than this many days are purged (rows and artifacts) weekly. @default 30 */
  gcRetentionDays?: number;
  /** Fargate sizing (compute `container`). */
  container?: ContainerOptions;
}

/** Arguments every component takes. */
export interface CommonArgs {
  /**
   * AWS region of the resources: that of the AWS provider they are created with (the server's user data,
   * logs and alarm actions name it; a different one fails the preview).
   * @default the `aws:region` config, else AWS_REGION / AWS_DEFAULT_REGION
   */
  awsRegion?: string;
  /** Deletion protection, retained storage, final snapshots, recoverable secrets. @default false */
  protect?: boolean;
  /** Tags on every taggable resource. @default none */
  tags?: { [key: string]: string };
}
