// The registries of artifact backends and compute modes. Each entry loads its file on first use (a
// synchronous `require`, which a Pulumi program may do while it registers resources), so a stack loads the
// cloud SDK of its own backend only: an S3 stack never imports @pulumi/azure-native or @pulumi/gcp
// (tests/unit/lazy-backends.test.ts). Adding a backend or a compute mode: one file and one line here.
/* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
import type { ArtifactBackendName, ServerCompute } from "./settings";
import type { ArtifactBackendModule, ComputeModeModule } from "./contracts";

const BACKEND_MODULES: Record<ArtifactBackendName, () => ArtifactBackendModule> = {
  s3: () => (require("./artifact-backends/s3") as typeof import("./artifact-backends/s3")).artifactBackend,
  azureBlob: () =>
    (require("./artifact-backends/azureBlob") as typeof import("./artifact-backends/azureBlob"))
      .artifactBackend,
  gcs: () => (require("./artifact-backends/gcs") as typeof import("./artifact-backends/gcs")).artifactBackend,
};

const COMPUTE_MODULES: Record<ServerCompute, () => ComputeModeModule> = {
  ec2: () => (require("./compute/ec2") as typeof import("./compute/ec2")).computeMode,
  container: () => (require("./compute/container") as typeof import("./compute/container")).computeMode,
};

/** The backend named `name`, loaded now. */
export function artifactBackend(name: ArtifactBackendName): ArtifactBackendModule {
  const load = Object.hasOwn(BACKEND_MODULES, name) ? BACKEND_MODULES[name] : undefined;
  if (!load)
    throw new Error(
      `artifact backend "${name}" is not available; allowed: ${Object.keys(BACKEND_MODULES).join(", ")}`,
    );
  return load();
}

/** The compute mode named `name`, loaded now. */
export function computeMode(name: ServerCompute): ComputeModeModule {
  const load = Object.hasOwn(COMPUTE_MODULES, name) ? COMPUTE_MODULES[name] : undefined;
  if (!load)
    throw new Error(
      `server compute "${name}" is not available; allowed: ${Object.keys(COMPUTE_MODULES).join(", ")}`,
    );
  return load();
}
