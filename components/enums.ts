// The choices the components' args offer, as `as const` objects: the form Pulumi's schema analyzer turns
// into enums for other languages. In a module of their own, so the args (args.ts) and the resolved settings
// (settings.ts) can both name them without importing each other.

// The registry of artifact backends: each value names a file `artifact-backends/<value>.ts` (registry.ts
// loads it when a stack uses it) and, when the backend has options, the property of ArtifactStoreOptions
// that holds them (args.ts).
/** Where the artifacts are stored. */
export const ArtifactBackendName = { S3: "s3", AzureBlob: "azureBlob", Gcs: "gcs" } as const;
export type ArtifactBackendName = (typeof ArtifactBackendName)[keyof typeof ArtifactBackendName];
export const ARTIFACT_BACKENDS: readonly ArtifactBackendName[] = Object.freeze(
  Object.values(ArtifactBackendName),
);

/** Where the tracking server runs: one EC2 instance, or ECS Fargate tasks behind a load balancer. */
export const ServerCompute = { Ec2: "ec2", Container: "container" } as const;
export type ServerCompute = (typeof ServerCompute)[keyof typeof ServerCompute];
export const SERVER_COMPUTE_MODES: readonly ServerCompute[] = Object.freeze(Object.values(ServerCompute));

/** How the ACME CA checks the name: over HTTP on port 80, or a TXT record in Route 53. */
export const AcmeChallenge = { Http01: "http-01", Dns01: "dns-01" } as const;
export type AcmeChallenge = (typeof AcmeChallenge)[keyof typeof AcmeChallenge];
export const ACME_CHALLENGES: readonly AcmeChallenge[] = Object.freeze(Object.values(AcmeChallenge));
