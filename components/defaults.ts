// The components' defaults, and the functions that fill them into the options a caller gave. The stack
// config (stacks/config.ts) validates its keys against the same values; a library caller gets them here.
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_WORKERS, LETS_ENCRYPT_DIRECTORY, pinnedMlflowVersion } from "../server/render";
import type {
  ArtifactStoreOptions,
  CommonArgs,
  ContainerOptions,
  DatabaseOptions,
  NetworkOptions,
  ServerOptions,
} from "./args";
import { ARTIFACT_BACKENDS, ArtifactBackendName } from "./enums";
import type {
  AcmeSettings,
  ArtifactStoreSettings,
  BackendOptions,
  ContainerSettings,
  DatabaseSettings,
  NetworkSettings,
  ServerSettings,
} from "./settings";

/** Every default of the components (DESIGN.md's config contract documents the same values). */
export const DEFAULTS = {
  network: { cidrBlock: "10.42.0.0/16", availabilityZoneCount: 2 } satisfies NetworkSettings,
  artifactStore: {
    backend: ArtifactBackendName.S3 as ArtifactBackendName,
    prefix: "mlflow",
    noncurrentVersionExpirationDays: 30,
    abortIncompleteUploadDays: 7,
  } satisfies ArtifactStoreSettings,
  database: {
    instanceClass: "db.t4g.micro",
    engineVersion: "17",
    allocatedStorageGb: 20,
    maxAllocatedStorageGb: 100,
    backupRetentionDays: 7,
    multiAz: false,
  } satisfies DatabaseSettings,
  server: {
    compute: "ec2",
    // The version server/requirements.txt locks (DESIGN.md says 3.18.0; see server/requirements.in for why not).
    mlflowVersion: pinnedMlflowVersion(),
    allowedCidrs: ["0.0.0.0/0"],
    adminUsername: "admin",
    workers: DEFAULT_WORKERS,
    instanceType: "t3.small",
    rootVolumeGb: 20,
    logRetentionDays: 30,
    gcRetentionDays: 30,
    allowPlainHttp: false,
    acme: { directoryUrl: LETS_ENCRYPT_DIRECTORY, challenge: "http-01" } as AcmeSettings,
    container: {
      cpu: 1024,
      memoryMb: 2048,
      desiredCount: 2,
      minCount: 2,
      maxCount: 4,
      targetCpuPercent: 60,
      imageRetentionCount: 10,
    },
  } satisfies ServerSettings,
  protect: false,
};

/** `defaults` with every field of `given` that is set (undefined and null, as YAML may pass, are not). */
export function withDefaults<T extends object>(defaults: T, given: Partial<T> | undefined): T {
  const set = Object.entries(given ?? {}).filter(([, v]) => v !== undefined && v !== null);
  return { ...defaults, ...Object.fromEntries(set) } as T;
}

export function networkSettings(options: NetworkOptions | undefined): NetworkSettings {
  const { cidrBlock, availabilityZoneIds } = options ?? {};
  // Pinned zones decide the count unless it is given.
  const availabilityZoneCount = options?.availabilityZoneCount ?? availabilityZoneIds?.length;
  return withDefaults<NetworkSettings>(DEFAULTS.network, {
    cidrBlock,
    availabilityZoneCount,
    availabilityZoneIds,
  });
}

/** The common settings with their defaults, and the backends' own options as given (each backend defaults its own). */
export function artifactStoreSettings(options: ArtifactStoreOptions | undefined): ArtifactStoreSettings {
  const { backend, prefix, noncurrentVersionExpirationDays, abortIncompleteUploadDays } = options ?? {};
  const common = withDefaults<Omit<ArtifactStoreSettings, keyof BackendOptions>>(DEFAULTS.artifactStore, {
    backend,
    prefix,
    noncurrentVersionExpirationDays,
    abortIncompleteUploadDays,
  });
  // Only the backends' option keys: the options may be a component's whole args (awsRegion, tags, ...).
  const byBackend = ARTIFACT_BACKENDS.map((name) => [name, (options as Record<string, unknown>)?.[name]]);
  return { ...withDefaults({}, Object.fromEntries(byBackend)), ...common };
}

export function databaseSettings(options: DatabaseOptions | undefined): DatabaseSettings {
  const {
    instanceClass,
    engineVersion,
    allocatedStorageGb,
    maxAllocatedStorageGb,
    backupRetentionDays,
    multiAz,
  } = options ?? {};
  const d = DEFAULTS.database;
  const settings = withDefaults<DatabaseSettings>(d, {
    instanceClass,
    engineVersion,
    allocatedStorageGb,
    backupRetentionDays,
    multiAz,
  });
  // The default autoscaling ceiling where RDS takes it (10% above the allocation), else autoscaling off.
  const allocated = settings.allocatedStorageGb;
  const derivedCeiling =
    d.maxAllocatedStorageGb >= lowestStorageCeiling(allocated) ? d.maxAllocatedStorageGb : allocated;
  return { ...settings, maxAllocatedStorageGb: maxAllocatedStorageGb ?? derivedCeiling };
}

/** RDS refuses an autoscaling ceiling less than 10% above the allocation ("Invalid max storage size"). */
export function lowestStorageCeiling(allocatedStorageGb: number): number {
  return Math.ceil((allocatedStorageGb * 11) / 10);
}

export function serverSettings(options: ServerOptions | undefined): ServerSettings {
  const { acme, container, ...rest } = options ?? {};
  const d = DEFAULTS.server;
  return {
    ...withDefaults<ServerSettings>(d, rest),
    acme: withDefaults(d.acme, acme),
    container: containerSettings(container),
  };
}

/** Fargate sizing, the defaults following what is given: memory from CPU, counts from each other. */
function containerSettings(options: ContainerOptions | undefined): ContainerSettings {
  const d = DEFAULTS.server.container;
  const given = withDefaults<Partial<ContainerSettings>>({}, options);
  const cpu = given.cpu ?? d.cpu;
  const minCount = given.minCount ?? d.minCount;
  const maxCount = given.maxCount ?? Math.max(d.maxCount, minCount);
  return {
    ...d,
    ...given,
    cpu,
    memoryMb: given.memoryMb ?? Math.max(d.memoryMb, cpu * 2),
    minCount,
    maxCount,
    desiredCount: given.desiredCount ?? Math.min(Math.max(d.desiredCount, minCount), maxCount),
  };
}

/** The AWS region: the caller's, else the AWS provider's configuration, else the environment's. */
export function awsRegion(args: CommonArgs, component: string): string {
  const region =
    args.awsRegion ??
    new pulumi.Config("aws").get("region") ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION;
  if (!region)
    throw new Error(
      `${component}: no AWS region; pass awsRegion, or set aws:region (pulumi config set aws:region us-east-1)`,
    );
  return region;
}

/** Tags with the project, stack and `ManagedBy: pulumi`, which the caller's tags may override. */
export function defaultTags(tags: { [key: string]: string } | undefined): Record<string, string> {
  return { Project: pulumi.getProject(), Stack: pulumi.getStack(), ManagedBy: "pulumi", ...tags };
}
