// The library's entry point: the four components and their args types, nothing that registers resources
// when imported. `package.json` `exports` points here (built to dist/), and the multi-language component
// package (PulumiPlugin.yaml) serves the classes exported here.
export { MlflowPlatform } from "./platform";
export type { MlflowPlatformArgs } from "./platform";
export { ArtifactStore } from "./artifactStore";
export type { ArtifactStoreArgs } from "./artifactStore";
export { MetadataDatabase } from "./metadataDatabase";
export type { MetadataDatabaseArgs } from "./metadataDatabase";
export { TrackingServer } from "./trackingServer";
export type { TrackingServerArgs } from "./trackingServer";
