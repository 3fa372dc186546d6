// The library's entry point: the four components, their args types and the enums those use; nothing that
// registers resources when imported. `package.json` `exports` points here (built to dist/), and the
// multi-language component package (PulumiPlugin.yaml) serves the component classes exported here.
export { MlflowPlatform } from "./platform";
export type { MlflowPlatformArgs } from "./platform";
export { ArtifactStore } from "./artifactStore";
export type { ArtifactAccess, ArtifactGrantee, ArtifactStoreArgs } from "./artifactStore";
export { MetadataDatabase } from "./metadataDatabase";
export type { MetadataDatabaseArgs } from "./metadataDatabase";
export { TrackingServer } from "./trackingServer";
export type { TrackingServerArgs } from "./trackingServer";
export type {
  AcmeOptions,
  ArtifactStoreOptions,
  AzureBlobOptions,
  CommonArgs,
  ContainerOptions,
  DatabaseOptions,
  GcsOptions,
  NetworkOptions,
  ServerOptions,
} from "./args";
export { AcmeChallenge, ArtifactBackendName, ServerCompute } from "./settings";
export { SecretVariable } from "./secret";
export type { ServerSecret, StoredSecret } from "./secret";
