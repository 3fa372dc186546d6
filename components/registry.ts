// The registries of artifact backends and compute modes are their enums (enums.ts): the value `gcs` is the
// file `artifact-backends/gcs.ts`, the value `container` the file `compute/container.ts`. Each file is loaded
// on first use (a synchronous `require`, which a Pulumi program may do while it registers resources), so a
// stack loads the cloud SDK of its own backend only: an S3 stack never imports @pulumi/azure-native or
// @pulumi/gcp (tests/unit/lazy-backends.test.ts). Adding a backend or a compute mode: its file, and its value
// in the enum.
/* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
import { ARTIFACT_BACKENDS, ArtifactBackendName, SERVER_COMPUTE_MODES, ServerCompute } from "./enums";
import type { ArtifactBackendModule, ComputeModeModule } from "./contracts";

/** One registry: the names its enum allows, and how the file of a name is loaded. */
interface Registry<T> {
  /** What the error calls an entry. */
  what: string;
  names: readonly string[];
  /** The file's module (a literal folder, so the import graph's tests see every file it may load). */
  require(name: string): Record<string, T | undefined>;
  /** The export that is the entry. */
  exported: string;
}

const BACKENDS: Registry<ArtifactBackendModule> = {
  what: "artifact backend",
  names: ARTIFACT_BACKENDS,
  require: (name) => require(`./artifact-backends/${name}`) as Record<string, ArtifactBackendModule>,
  exported: "artifactBackend",
};

const COMPUTE_MODES: Registry<ComputeModeModule> = {
  what: "server compute",
  names: SERVER_COMPUTE_MODES,
  require: (name) => require(`./compute/${name}`) as Record<string, ComputeModeModule>,
  exported: "computeMode",
};

/** The entry named `name`, its file loaded now; refused unless the enum has `name`. */
function load<T extends { name: string }>(registry: Registry<T>, name: string): T {
  const { what, names, exported } = registry;
  if (!names.includes(name))
    throw new Error(`${what} "${name}" is not available; allowed: ${names.join(", ")}`);
  const entry = registry.require(name)[exported];
  if (entry?.name !== name)
    throw new Error(`the ${what} file of "${name}" must export ${exported} named "${name}"`);
  return entry;
}

/** The backend named `name`, loaded now. */
export function artifactBackend(name: ArtifactBackendName): ArtifactBackendModule {
  return load(BACKENDS, name);
}

/** The compute mode named `name`, loaded now. */
export function computeMode(name: ServerCompute): ComputeModeModule {
  return load(COMPUTE_MODES, name);
}
