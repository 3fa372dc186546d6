import * as pulumi from "@pulumi/pulumi";
import { ArtifactBackendName, ArtifactStoreSettings, ServerCompute } from "../stacks/settings";
import { IamStatement } from "./iam";
import { ServerSecret } from "./secret";
import { createS3Backend } from "./artifact-backends/s3";
import { createAzureBlobBackend } from "./artifact-backends/azureBlob";
import { createGcsBackend } from "./artifact-backends/gcs";

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
  /** AWS region (S3 bucket, Secrets Manager secrets for foreign-cloud credentials). */
  awsRegion: string;
  tags: Record<string, string>;
  /** Who reads and writes the artifacts: only this identity is granted access. */
  server: ServerIdentity;
  /** Where the server runs; decides the foreign-cloud credential (ECS tasks have no EC2 metadata service). */
  compute: ServerCompute;
  /** SNS topic for reminders the backend schedules (Azure: the SAS expiry, 30 days ahead). */
  alarmTopicArn?: pulumi.Input<string>;
}

/** What a backend gives the tracking server. One implementation per file in `artifact-backends/`. */
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

export type ArtifactBackendFactory = (context: ArtifactBackendContext) => ArtifactBackend;

/** Adding a backend: one file in `artifact-backends/` and one line here. */
const BACKENDS: Partial<Record<ArtifactBackendName, ArtifactBackendFactory>> = {
  s3: createS3Backend,
  azureBlob: createAzureBlobBackend,
  gcs: createGcsBackend,
};

/** Where MLflow keeps artifacts: private, encrypted, versioned storage on S3, Azure Blob or GCS. */
export class ArtifactStore extends pulumi.ComponentResource implements ArtifactBackend {
  readonly backend: ArtifactBackendName;
  readonly artifactRoot: pulumi.Output<string>;
  readonly serverPolicyStatements: pulumi.Output<IamStatement[]>;
  readonly serverEnvironment: pulumi.Output<Record<string, string>>;
  readonly serverSecrets: ServerSecret[];

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlflow-platform:index:ArtifactStore", name, {}, opts);
    const factory = BACKENDS[args.settings.backend];
    if (!factory) throw new Error(`artifact backend "${args.settings.backend}" is not available`);
    const backend = factory({ name, args, parent: this });
    this.backend = args.settings.backend;
    this.artifactRoot = backend.artifactRoot;
    this.serverPolicyStatements = backend.serverPolicyStatements;
    this.serverEnvironment = backend.serverEnvironment;
    this.serverSecrets = backend.serverSecrets;
    this.registerOutputs({ artifactRoot: this.artifactRoot });
  }
}
