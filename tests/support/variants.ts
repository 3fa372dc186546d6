// Every stack variant the program must handle: the shipped stacks and example stack files as they are, and
// the matrix of artifact backend x compute mode x environment built from the shipped stacks.
import * as fs from "fs";
import * as path from "path";
import { EVALUATION_NOW, ROOT, readStackFile, stackFile } from "./mockRuntime";

export const BACKENDS = ["s3", "azureBlob", "gcs"] as const;
export const COMPUTE_MODES = ["ec2", "container"] as const;
export const ENVIRONMENTS = ["dev", "prod"] as const;

/** The backend-specific settings a matrix variant adds to the shipped stack's artifactStore. */
export const BACKEND_SETTINGS: Record<(typeof BACKENDS)[number], Record<string, unknown>> = {
  s3: {},
  azureBlob: { azureBlob: { location: "westeurope" } },
  gcs: { gcs: { project: "mlflow-example-123", location: "EU" } },
};

export interface StackVariant {
  id: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  /** The clock the program sees: EVALUATION_NOW, so no variant changes with the day a test runs. */
  now: string;
}

/** The shipped `Pulumi.<stack>.yaml` files and `examples/Pulumi.*.yaml`, unchanged. */
export function fileVariants(): StackVariant[] {
  const files = [stackFile("dev"), stackFile("prod")];
  const examples = path.join(ROOT, "examples");
  if (fs.existsSync(examples)) {
    for (const f of fs.readdirSync(examples).sort()) {
      if (/^Pulumi\..+\.yaml$/.test(f)) files.push(path.join(examples, f));
    }
  }
  return files.map((file) => {
    const stack = path.basename(file).replace(/^Pulumi\.|\.yaml$/g, "");
    return { id: path.relative(ROOT, file), stack, now: EVALUATION_NOW, ...readStackFile(file) };
  });
}

/** One variant of the matrix: the shipped `env` stack with another backend and compute mode. */
export function matrixVariant(
  env: (typeof ENVIRONMENTS)[number],
  backend: (typeof BACKENDS)[number],
  compute: (typeof COMPUTE_MODES)[number],
): StackVariant {
  const { config, secretKeys } = readStackFile(stackFile(env));
  const store = JSON.parse(config["mlflow-platform:artifactStore"] ?? "{}");
  const server = JSON.parse(config["mlflow-platform:server"] ?? "{}");
  const { azureBlob: _a, gcs: _g, ...storeRest } = store;
  return {
    id: `${env}/${backend}/${compute}`,
    stack: env,
    now: EVALUATION_NOW,
    secretKeys,
    config: {
      ...config,
      "mlflow-platform:artifactStore": JSON.stringify({
        ...storeRest,
        backend,
        ...BACKEND_SETTINGS[backend],
      }),
      "mlflow-platform:server": JSON.stringify({ ...withoutComputeSpecific(server, compute), compute }),
    },
  };
}

function withoutComputeSpecific(server: Record<string, unknown>, compute: string): Record<string, unknown> {
  const { container, domain, hostedZoneId, ...rest } = server;
  return compute === "container" ? { ...rest, container, domain, hostedZoneId } : rest;
}

/** The matrix, or the part of it with the given environment, backend and/or compute mode. */
export function matrixVariants(
  only: {
    env?: (typeof ENVIRONMENTS)[number];
    backend?: (typeof BACKENDS)[number];
    compute?: (typeof COMPUTE_MODES)[number];
  } = {},
): StackVariant[] {
  const pick = <T>(all: readonly T[], one: T | undefined): readonly T[] => (one === undefined ? all : [one]);
  return pick(ENVIRONMENTS, only.env).flatMap((env) =>
    pick(BACKENDS, only.backend).flatMap((backend) =>
      pick(COMPUTE_MODES, only.compute).map((compute) => matrixVariant(env, backend, compute)),
    ),
  );
}
