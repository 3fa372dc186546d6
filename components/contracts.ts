// The contracts between the components and their per-backend / per-mode implementations. Types only: this
// module imports no implementation, so `artifact-backends/*` and `compute/*` depend on it and on nothing that
// depends on them (tests/unit/lazy-backends.test.ts checks that the import graph has no cycle).
import type * as pulumi from "@pulumi/pulumi";
import type * as iam from "@pulumi/aws/iam";
import type {
  ArtifactBackendName,
  ArtifactStoreSettings,
  BackendOptions,
  ServerCompute,
  ServerSettings,
} from "./settings";
import type { ConfigKeyDoc, Raw } from "./configReader";
import type { RuntimeSecret, ServerSecret } from "./secret";
import type { SubnetIds } from "./subnets";

/** The identity a store grants access to: the server's role, and where it runs (GCS's credential depends on it). */
export interface ArtifactGrantee {
  role: iam.Role;
  compute: ServerCompute;
}

/** What the server needs to use the store once granted: plain environment and credential secrets. */
export interface ArtifactAccess {
  environment: pulumi.Output<Record<string, string>>;
  /** Credentials the server reads from Secrets Manager at start (foreign clouds). */
  secrets: ServerSecret[];
}

/** An ArtifactStore's resolved args: what its backend builds from. */
export interface ArtifactStoreConfig {
  settings: ArtifactStoreSettings;
  /** Retain the storage on `pulumi destroy` and protect it from deletion. */
  protect: boolean;
  /** AWS region of the S3 bucket; only the `s3` backend asks for it. */
  awsRegion?: string;
  tags: Record<string, string>;
  /** SNS topic for reminders the backend schedules (Azure: the SAS expiry, 30 days ahead). */
  alarmTopicArn?: pulumi.Input<string>;
}

/** What a backend builds: the storage, and the way a server identity is given access to it. */
export interface ArtifactStorage {
  /** The `--artifacts-destination`: `s3://…`, `wasbs://…` or `gs://…`. */
  artifactRoot: pulumi.Output<string>;
  /**
   * Gives `grantee` read and write access (S3: a policy on its role; GCS: federation or a key for it; Azure:
   * the container SAS) and returns what the server needs to use it. Resources it creates are the store's.
   */
  grantReadWrite(grantee: ArtifactGrantee): ArtifactAccess;
}

export interface ArtifactBackendContext {
  /** Name prefix for the backend's resources (the component's name). */
  name: string;
  args: ArtifactStoreConfig;
  /** Parent for every resource the backend creates. */
  parent: pulumi.ComponentResource;
}

/** The options of one backend (`ArtifactStoreOptions.<name>`). */
export type BackendOptionsOf = NonNullable<BackendOptions[keyof BackendOptions]>;

/** A backend's own options in the stack config, `artifactStore.<name>`: how stacks/config.ts reads them. */
export interface BackendStackConfig {
  /** What the README calls the options ("GCS" settings). */
  title: string;
  /**
   * The README's rows (stacks/reference.ts) of the options' keys, by their path below `artifactStore.<name>`.
   * The reader is given only these keys.
   */
  reference: readonly ConfigKeyDoc[];
  /** What the error for missing options shows as allowed, e.g. `{ project: <GCP project id> }`. */
  shape: string;
  /** The options, defaults filled in, from the config object at `key`; every error names its key. */
  read(key: string, raw: Raw, now: Date): BackendOptionsOf;
}

/** Tag names a backend's cloud refuses (the platform's tags reach its resources). */
export interface TagNameRule {
  /** The cloud, as the error names it ("Azure"). */
  cloud: string;
  /** Matches a name the cloud refuses. */
  refused: RegExp;
  /** What the error says is allowed. */
  allowed: string;
}

/**
 * One artifact backend: what `artifact-backends/<name>.ts` exports as `artifactBackend`, for the name in
 * `ArtifactBackendName` (enums.ts). The registry (`registry.ts`) loads the file only for a stack that uses
 * it, so its cloud SDK loads only then. Everything the program knows about a backend is here.
 */
export interface ArtifactBackendModule {
  name: ArtifactBackendName;
  /**
   * The environment variable the server's credential for a store in another cloud reaches it as (a secret
   * of the grant); one of the names server/start.sh resolves and re-reads. Absent when the server's AWS role
   * is the credential (s3).
   */
  credentialVariable?: string;
  /** Its storage lives in the component's AWS region (and so needs `awsRegion`). */
  inAwsRegion?: boolean;
  /** Its options with their defaults filled in; absent for a backend without options (s3). */
  withDefaults?(options: BackendOptionsOf): BackendOptionsOf;
  /** How the stack config spells its options; absent for a backend without options. */
  stackConfig?: BackendStackConfig;
  /** Tag names its cloud refuses; absent when the AWS rules (checked for every stack) are the only ones. */
  tagNames?: TagNameRule;
  /** Throws, naming the argument, when the component's args lack what this backend needs. */
  checkArgs(args: ArtifactStoreConfig): void;
  /** Creates the storage (every resource parented to `context.parent`). */
  create(context: ArtifactBackendContext): ArtifactStorage;
}

export interface TrackingServerNetwork {
  vpcId: pulumi.Output<string>;
  publicSubnetIds: SubnetIds;
  privateSubnetIds: SubnetIds;
  /** The VPC's CIDR (container mode: the load balancer's egress to the tasks). */
  vpcCidrBlock?: pulumi.Output<string>;
  /**
   * What the server must not boot before: the TrackingServer's `dependsOn`, e.g. the routes that give the
   * public subnets their internet route (cloud-init installs packages at first boot).
   */
  publicRoutes?: pulumi.Resource[];
}

/** A TrackingServer's resolved args: what its compute mode builds from. */
export interface TrackingServerConfig {
  settings: ServerSettings;
  awsRegion: string;
  network: TrackingServerNetwork;
  /** The role the server runs as. */
  role: iam.Role;
  /** `--artifacts-destination`. */
  artifactRoot: pulumi.Input<string>;
  /** Non-secret environment the artifact store needs. */
  artifactEnvironment: pulumi.Input<Record<string, string>>;
  /** SNS topic the server's alarms notify. */
  alarmTopicArn: pulumi.Input<string>;
  protect: boolean;
  tags: Record<string, string>;
}

/** Everything a compute mode needs to run the server; built once by TrackingServer. */
export interface ComputeContext {
  name: string;
  parent: pulumi.ComponentResource;
  args: TrackingServerConfig;
  /** All secrets the server reads: backend store URI, auth secrets, artifact credentials. */
  secrets: RuntimeSecret[];
}

/** What a compute mode gives back. */
export interface ServerDeployment {
  /** `http://<elastic ip>` or `https://<domain>`. */
  trackingUri: pulumi.Output<string>;
  /** The group the server (instance or tasks) runs in; the database admits it on 5432. */
  securityGroupId: pulumi.Output<string>;
}

/** What a compute mode asks of the network the platform builds for it. */
export interface ComputeNetworkNeeds {
  /** Subnets go only to zones that offer this EC2 instance type (none for Fargate). */
  instanceType?: string;
  /** Private subnets get a NAT gateway (tasks without public IPs pull images and reach AWS APIs). */
  natGateway: boolean;
}

/** One compute mode: what `compute/<mode>.ts` exports as `computeMode`, loaded lazily by `registry.ts`. */
export interface ComputeModeModule {
  name: ServerCompute;
  /** The AWS service principal the server's role trusts (`ec2.amazonaws.com`, `ecs-tasks.amazonaws.com`). */
  assumedBy: string;
  networkNeeds(settings: ServerSettings): ComputeNetworkNeeds;
  /** Runs the server (every resource parented to `context.parent`). */
  create(context: ComputeContext): ServerDeployment;
}
