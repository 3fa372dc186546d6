import * as pulumi from "@pulumi/pulumi";
import type { ArtifactStoreOptions, CommonArgs } from "./args";
import type { ArtifactAccess, ArtifactGrantee, ArtifactStorage, ArtifactStoreConfig } from "./contracts";
import { artifactStoreSettings, awsRegion, defaultTags, DEFAULTS } from "./defaults";
import { inProviderRegion } from "./region";
import { artifactBackend } from "./registry";
import { ArtifactBackendName, BackendOptions } from "./settings";
import { checkArtifactStore } from "./validate";

export type {
  ArtifactAccess,
  ArtifactBackendContext,
  ArtifactBackendModule,
  ArtifactGrantee,
  ArtifactStorage,
} from "./contracts";

/** Arguments of an ArtifactStore: the backend and its settings, all defaulted but a foreign cloud's place. */
export interface ArtifactStoreArgs extends ArtifactStoreOptions, CommonArgs {
  /** SNS topic for reminders the backend schedules (Azure: 30 days before the SAS expires). @default none */
  alarmTopicArn?: pulumi.Input<string>;
}

/** What each store's backend built, out of sight of the class's (schema-visible) properties. */
const storages = new WeakMap<ArtifactStore, ArtifactStorage>();

/**
 * Where MLflow keeps artifacts: private, encrypted, versioned storage on S3, Azure Blob or GCS. One backend
 * per file in `artifact-backends/`, loaded through `registry.ts` only when used. A server gets access
 * through `grantReadWrite`.
 */
export class ArtifactStore extends pulumi.ComponentResource {
  /** The storage backend. */
  readonly backend: ArtifactBackendName;
  /** MLflow's `--artifacts-destination`: `s3://…`, `wasbs://…` or `gs://…`. */
  readonly artifactRoot: pulumi.Output<string>;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    // The backend checks its arguments before the component registers anything.
    const config = checkArtifactStoreArgs(args);
    const implementation = artifactBackend(config.settings.backend);
    super("mlflow-platform:index:ArtifactStore", name, {}, opts);
    const storage = implementation.create({ name, args: config, parent: this });
    storages.set(this, storage);
    this.backend = config.settings.backend;
    this.artifactRoot =
      config.awsRegion === undefined
        ? storage.artifactRoot
        : inProviderRegion("ArtifactStore", config.awsRegion, this, storage.artifactRoot);
    this.registerOutputs({ artifactRoot: this.artifactRoot });
  }

  /**
   * Gives the server that runs as `grantee.role` read and write access to the artifacts (S3: a policy on the
   * role, for the prefix only; GCS: federation trusting the role, or a key in a container; Azure: the
   * container SAS), and returns what that server needs to use it.
   */
  grantReadWrite(grantee: ArtifactGrantee): ArtifactAccess {
    return storages.get(this)!.grantReadWrite(grantee);
  }
}

/** The resolved args, once the backend has checked them (throws, naming the arg, if they will not do). */
export function checkArtifactStoreArgs(args: ArtifactStoreArgs): ArtifactStoreConfig {
  const config = resolve(args);
  checkArtifactStore("ArtifactStore", config.settings);
  artifactBackend(config.settings.backend).checkArgs(config);
  return config;
}

function resolve(args: ArtifactStoreArgs): ArtifactStoreConfig {
  const given = artifactStoreSettings(args);
  const backend = artifactBackend(given.backend);
  const own = given[backend.name as keyof BackendOptions];
  const settings =
    own && backend.withDefaults ? { ...given, [backend.name]: backend.withDefaults(own) } : given;
  return {
    settings,
    protect: args.protect ?? DEFAULTS.protect,
    // A store in another cloud (Azure, GCS) asks nothing of AWS.
    awsRegion: backend.inAwsRegion ? awsRegion(args, "ArtifactStore") : args.awsRegion,
    tags: defaultTags(args.tags),
    alarmTopicArn: args.alarmTopicArn,
  };
}
