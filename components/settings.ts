// The resolved settings the components build from: every common field present (a backend's own options are
// as given; its file fills in their defaults). The components' public args (args.ts) are these with every
// field optional; defaults.ts fills them in. The enums live in enums.ts and are re-exported here.

export {
  ACME_CHALLENGES,
  ARTIFACT_BACKENDS,
  AcmeChallenge,
  ArtifactBackendName,
  SERVER_COMPUTE_MODES,
  ServerCompute,
} from "./enums";
import type { AcmeChallenge, ArtifactBackendName, ServerCompute } from "./enums";
import type { ArtifactStoreCommonOptions, ArtifactStoreOptions } from "./args";

export interface NetworkSettings {
  /** CIDR block of the VPC. */
  cidrBlock: string;
  /** How many availability zones the subnets span (RDS needs at least two). */
  availabilityZoneCount: number;
  /**
   * Zone ids (`use1-az1`, the same physical zone in every account) the subnets are pinned to, in subnet
   * order; default: chosen at deploy time (standard zones by name that offer the EC2 instance type).
   */
  availabilityZoneIds?: string[];
}

/**
 * The backends' own options, by backend name (`azureBlob`, `gcs`): ArtifactStoreOptions without its common
 * keys. A backend fills in its options' defaults itself (its file in artifact-backends/).
 */
export type BackendOptions = Omit<ArtifactStoreOptions, keyof ArtifactStoreCommonOptions>;

export interface ArtifactStoreSettings extends BackendOptions {
  backend: ArtifactBackendName;
  /** Key prefix under which MLflow writes artifacts. */
  prefix: string;
  /** Days after which noncurrent (overwritten or deleted) object versions are removed. */
  noncurrentVersionExpirationDays: number;
  /** Days after which incomplete multipart uploads are aborted (S3 only). */
  abortIncompleteUploadDays: number;
}

export interface DatabaseSettings {
  instanceClass: string;
  /** PostgreSQL major version, e.g. `17`. */
  engineVersion: string;
  allocatedStorageGb: number;
  /** Upper bound for storage autoscaling; equal to allocatedStorageGb turns autoscaling off. */
  maxAllocatedStorageGb: number;
  backupRetentionDays: number;
  multiAz: boolean;
}

export interface ContainerSettings {
  /** Fargate task CPU units (256 = 0.25 vCPU). */
  cpu: number;
  /** Fargate task memory in MiB. */
  memoryMb: number;
  desiredCount: number;
  minCount: number;
  maxCount: number;
  /** Average CPU utilisation the service scales to. */
  targetCpuPercent: number;
  /** How many images ECR keeps. */
  imageRetentionCount: number;
}

/** How the EC2 server gets its publicly trusted certificate (compute: ec2, unless allowPlainHttp). */
export interface AcmeSettings {
  /** ACME directory (https); default Let's Encrypt production. */
  directoryUrl: string;
  /** Account contact; optional. */
  email?: string;
  /** `http-01` (port 80 open to the CA) or `dns-01` (needs `domain` in Route 53; port 80 stays closed). */
  challenge: AcmeChallenge;
}

export interface ServerSettings {
  compute: ServerCompute;
  mlflowVersion: string;
  /** CIDRs allowed to reach the server's HTTP(S) ports. */
  allowedCidrs: string[];
  adminUsername: string;
  /** uvicorn workers per server (EC2 instance or container). */
  workers: number;
  /** EC2 instance type (compute: ec2). */
  instanceType: string;
  rootVolumeGb: number;
  /**
   * Public DNS name the certificate names (container: ACM on the load balancer; ec2: ACME, with an A record
   * to the Elastic IP). Without it, EC2's certificate names its Elastic IP.
   */
  domain?: string;
  /** Route 53 hosted zone that holds `domain`. */
  hostedZoneId?: string;
  /** Serve plain HTTP instead of HTTPS: the only way to turn TLS off (default false). */
  allowPlainHttp: boolean;
  /** EC2's ACME client settings (ignored by container mode and by plain HTTP). */
  acme: AcmeSettings;
  logRetentionDays: number;
  /** Runs deleted longer ago than this many days are purged (rows and artifacts) by the weekly gc. */
  gcRetentionDays: number;
  container: ContainerSettings;
}

export interface PlatformSettings {
  /** Pulumi project name. */
  project: string;
  /** Pulumi stack name. */
  stack: string;
  /** AWS region of the compute, database and S3 bucket. */
  awsRegion: string;
  /** Deletion protection, retained buckets, final snapshots. */
  protect: boolean;
  /** Tags applied to every taggable resource. */
  tags: Record<string, string>;
  /** Addresses subscribed (by email) to the platform's CloudWatch alarms. */
  alarmEmails: string[];
  /** An existing SNS topic the alarms notify instead of one the platform creates. */
  alarmTopicArn?: string;
  network: NetworkSettings;
  artifactStore: ArtifactStoreSettings;
  database: DatabaseSettings;
  server: ServerSettings;
}
