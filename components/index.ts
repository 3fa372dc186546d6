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
// Every public options type (a backend's options type is exported with it).
export type * from "./args";
export { AcmeChallenge, ArtifactBackendName, ServerCompute } from "./enums";
export { SecretVariable } from "./secret";
export type { ServerSecret, StoredSecret } from "./secret";
