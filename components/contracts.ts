// The contracts between the components and their per-backend / per-mode implementations. Types only: this
// module imports no implementation, so `artifact-backends/*` and `compute/*` depend on it and on nothing that
// depends on them (tests/unit/lazy-backends.test.ts checks that the import graph has no cycle).
import type * as pulumi from "@pulumi/pulumi";
import type * as iam from "@pulumi/aws/iam";
import type {
  ArtifactBackendName,
  ArtifactStoreSettings,
  ServerCompute,
  ServerSettings,
} from "../stacks/settings";
import type { IamStatement } from "./iam";
import type { ServerSecret } from "./secret";

/** The identity the tracking server runs as on AWS; foreign clouds trust it through federation. */
export interface ServerIdentity {
  roleName: pulumi.Input<string>;
  roleArn: pulumi.Input<string>;
  awsAccountId: pulumi.Input<string>;
}

export interface ArtifactStoreArgs {
  /** Backend and its settings (from `mlflow-platform:artifactStore`). */
  settings: ArtifactStoreSettings;
  /** Retain the storage on `pulumi destroy` and protect it from deletion. */
  protect: boolean;
  /** AWS region of the S3 bucket; only the `s3` backend needs it. */
  awsRegion?: string;
  tags: Record<string, string>;
  /**
   * The identity GCP federation trusts (the `gcs` backend). S3 and Azure grant through what they return
   * (the role's statements, a SAS in a server secret) and need none.
   */
  server?: ServerIdentity;
  /** Where the server runs; decides GCS's credential (ECS tasks have no EC2 metadata service). `gcs` only. */
  compute?: ServerCompute;
  /** SNS topic for reminders the backend schedules (Azure: the SAS expiry, 30 days ahead). */
  alarmTopicArn?: pulumi.Input<string>;
}

/** What a backend gives the tracking server. */
export interface ArtifactBackend {
  /** The `--artifacts-destination`: `s3://…`, `wasbs://…` or `gs://…`. */
  artifactRoot: pulumi.Output<string>;
  /** Statements for the server's AWS role (S3: the bucket prefix; others: none). */
  serverPolicyStatements: pulumi.Output<IamStatement[]>;
  /** Non-secret environment the server needs for this backend. */
  serverEnvironment: pulumi.Output<Record<string, string>>;
  /** Credentials the server reads from Secrets Manager at start (foreign clouds). */
  serverSecrets: ServerSecret[];
}

export interface ArtifactBackendContext {
  /** Name prefix for the backend's resources (the component's name). */
  name: string;
  args: ArtifactStoreArgs;
  /** Parent for every resource the backend creates. */
  parent: pulumi.ComponentResource;
}

/**
 * One artifact backend: what `artifact-backends/<name>.ts` exports as `artifactBackend`. The registry
 * (`registry.ts`) loads the file only for a stack that uses it, so its cloud SDK loads only then.
 */
export interface ArtifactBackendModule {
  name: ArtifactBackendName;
  /** Throws, naming the argument, when the component's args lack what this backend needs. */
  checkArgs(args: ArtifactStoreArgs): void;
  /** Creates the storage and the server's access to it (every resource parented to `context.parent`). */
  create(context: ArtifactBackendContext): ArtifactBackend;
}

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
