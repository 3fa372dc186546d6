import * as pulumi from "@pulumi/pulumi";
import { ArtifactBackendName } from "../stacks/settings";
import type { ArtifactBackend, ArtifactStoreArgs } from "./contracts";
import { IamStatement } from "./iam";
import { artifactBackend } from "./registry";
import { ServerSecret } from "./secret";

export type {
  ArtifactBackend,
  ArtifactBackendContext,
  ArtifactBackendModule,
  ArtifactStoreArgs,
  ServerIdentity,
} from "./contracts";

/**
 * Where MLflow keeps artifacts: private, encrypted, versioned storage on S3, Azure Blob or GCS. One backend
 * per file in `artifact-backends/`, loaded through `registry.ts` only when a stack uses it.
 */
export class ArtifactStore extends pulumi.ComponentResource implements ArtifactBackend {
  readonly backend: ArtifactBackendName;
  readonly artifactRoot: pulumi.Output<string>;
  readonly serverPolicyStatements: pulumi.Output<IamStatement[]>;
  readonly serverEnvironment: pulumi.Output<Record<string, string>>;
  readonly serverSecrets: ServerSecret[];

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    // The backend checks its arguments before the component registers anything.
    const implementation = artifactBackend(args.settings.backend);
    implementation.checkArgs(args);
    super("mlflow-platform:index:ArtifactStore", name, {}, opts);
    const backend = implementation.create({ name, args, parent: this });
    this.backend = args.settings.backend;
    this.artifactRoot = backend.artifactRoot;
    this.serverPolicyStatements = backend.serverPolicyStatements;
    this.serverEnvironment = backend.serverEnvironment;
    this.serverSecrets = backend.serverSecrets;
    this.registerOutputs({ artifactRoot: this.artifactRoot });
  }
}
