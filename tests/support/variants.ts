// Every stack variant the program must handle: the shipped stacks and example stack files as they are, and
// the matrix of artifact backend x compute mode x environment built from the shipped stacks.
import { EVALUATION_NOW } from "../../scripts/offline/evaluate";
import { type StackVariant, readStackFile, stackFile } from "../../scripts/offline/stackFiles";

export { type StackVariant, fileVariants } from "../../scripts/offline/stackFiles";

export const BACKENDS = ["s3", "azureBlob", "gcs"] as const;
export const COMPUTE_MODES = ["ec2", "container"] as const;
export const ENVIRONMENTS = ["dev", "prod"] as const;

/** The backend-specific settings a matrix variant adds to the shipped stack's artifactStore. */
export const BACKEND_SETTINGS: Record<(typeof BACKENDS)[number], Record<string, unknown>> = {
  s3: {},
  azureBlob: { azureBlob: { location: "westeurope" } },
  gcs: { gcs: { project: "mlflow-example-123", location: "EU" } },
};

/** A Route 53 name and zone for variants that need a domain (nothing is resolved under mocks). */
export const TEST_DOMAIN = "mlflow.example.com";
export const TEST_ZONE = "Z0123456789ABCDEFGHIJ";
/** Plain HTTP variants reach only a private range (the policy pack refuses clear text to the world). */
export const PLAIN_HTTP_CIDRS = ["10.0.0.0/8"];

/**
 * How a variant's clients reach the server (issue 11: HTTPS by default), as `server` settings. The first
 * mode of each compute mode is what the matrix uses; `tlsVariants()` covers the others.
 */
export const TLS_MODES = {
  ec2: {
    // An ACME certificate for the Elastic IP, http-01: what an EC2 stack gets without any setting.
    "ip-http01": {},
    "domain-http01": { domain: TEST_DOMAIN, hostedZoneId: TEST_ZONE },
    "domain-dns01": { domain: TEST_DOMAIN, hostedZoneId: TEST_ZONE, acme: { challenge: "dns-01" } },
    plain: { allowPlainHttp: true, allowedCidrs: PLAIN_HTTP_CIDRS },
  },
  container: {
    // ACM on the load balancer: a container stack needs a domain unless it asks for plain HTTP.
    domain: { domain: TEST_DOMAIN, hostedZoneId: TEST_ZONE },
    plain: { allowPlainHttp: true, allowedCidrs: PLAIN_HTTP_CIDRS },
  },
} as const satisfies Record<(typeof COMPUTE_MODES)[number], Record<string, Record<string, unknown>>>;
export type TlsMode<C extends (typeof COMPUTE_MODES)[number]> = keyof (typeof TLS_MODES)[C];

function defaultTlsMode(compute: (typeof COMPUTE_MODES)[number]): string {
  return Object.keys(TLS_MODES[compute])[0];
}

/**
 * One variant of the matrix: the shipped `env` stack with another backend and compute mode, served over
 * HTTPS as the compute mode's first TLS mode does unless another is given.
 */
export function matrixVariant<C extends (typeof COMPUTE_MODES)[number]>(
  env: (typeof ENVIRONMENTS)[number],
  backend: (typeof BACKENDS)[number],
  compute: C,
  tls: TlsMode<C> = defaultTlsMode(compute) as TlsMode<C>,
): StackVariant {
  const { config, secretKeys } = readStackFile(stackFile(env));
  const store = JSON.parse(config["mlflow-platform:artifactStore"] ?? "{}");
  const server = JSON.parse(config["mlflow-platform:server"] ?? "{}");
  const { azureBlob: _a, gcs: _g, ...storeRest } = store;
  const tlsSettings = (TLS_MODES[compute] as Record<string, Record<string, unknown>>)[tls as string];
  const tlsSuffix = tls === defaultTlsMode(compute) ? "" : `/${String(tls)}`;
  return {
    id: `${env}/${backend}/${compute}${tlsSuffix}`,
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
      "mlflow-platform:server": JSON.stringify({
        ...withoutComputeSpecific(server, compute),
        compute,
        ...tlsSettings,
      }),
    },
  };
}

function withoutComputeSpecific(server: Record<string, unknown>, compute: string): Record<string, unknown> {
  const { container, domain: _d, hostedZoneId: _z, allowPlainHttp: _p, acme: _a, ...rest } = server;
  return compute === "container" ? { ...rest, container } : rest;
}

/** The dev/s3 stack in every TLS mode the matrix's defaults do not cover, for each compute mode. */
export function tlsVariants(): StackVariant[] {
  return COMPUTE_MODES.flatMap((compute) =>
    Object.keys(TLS_MODES[compute])
      .slice(1)
      .map((tls) => matrixVariant("dev", "s3", compute, tls as TlsMode<typeof compute>)),
  );
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
