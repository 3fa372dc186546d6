// The registries of artifact backends and compute modes are their enums (enums.ts): the value `gcs` is the
// file `artifact-backends/gcs.ts`, the value `container` the file `compute/container.ts`. Each file is loaded
// on first use (a synchronous `require`, which a Pulumi program may do while it registers resources), so a
// stack loads the cloud SDK of its own backend only: an S3 stack never imports @pulumi/azure-native or
// @pulumi/gcp (tests/unit/lazy-backends.test.ts). Adding a backend or a compute mode: its file, and its value
// in the enum.
/* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
import { ARTIFACT_BACKENDS, ArtifactBackendName, SERVER_COMPUTE_MODES, ServerCompute } from "./enums";
import type { ArtifactBackendModule, ComputeModeModule } from "./contracts";

/** `exported` of `<folder>/<name>`, loaded now; refused unless `name` is one of `names`. */
function load<T extends { name: string }>(
  what: string,
  folder: string,
  exported: string,
  name: string,
  names: readonly string[],
): T {
  if (!names.includes(name))
    throw new Error(`${what} "${name}" is not available; allowed: ${names.join(", ")}`);
  const module = require(`./${folder}/${name}`) as Record<string, T | undefined>;
  const found = module[exported];
  if (found?.name !== name)
    throw new Error(`components/${folder}/${name} must export ${exported} with name "${name}"`);
  return found;
}

/** The backend named `name`, loaded now. */
export function artifactBackend(name: ArtifactBackendName): ArtifactBackendModule {
  return load("artifact backend", "artifact-backends", "artifactBackend", name, ARTIFACT_BACKENDS);
}

/** The compute mode named `name`, loaded now. */
export function computeMode(name: ServerCompute): ComputeModeModule {
  return load("server compute", "compute", "computeMode", name, SERVER_COMPUTE_MODES);
}
