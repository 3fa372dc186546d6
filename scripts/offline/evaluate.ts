// The offline runtime: evaluates the real Pulumi program under `pulumi.runtime.setMocks`, with no cloud calls,
// and records every resource it registers. Used by `npm run plan`, `npm run docs`, `npm run bench:plan` and
// the unit tests (through tests/support/mockRuntime.ts): it lives here because scripts never import tests/.
import { ChildProcess, fork } from "child_process";
import * as path from "path";
import type * as pulumiType from "@pulumi/pulumi";
import { type UrnRequest, UrnBook } from "./urns";

export const PROJECT = "mlflow-platform";
export const ROOT = path.resolve(__dirname, "..", "..");
export const ACCOUNT_ID = "123456789012";
export const ELASTIC_IP = "203.0.113.10";

/** Pulumi's wire markers for a secret value inside mocked inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The key that marks a secret value in `wrappedInputs`. */
export const SECRET_WRAPPER = "__secret__";

export interface CapturedResource {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as the provider would get them, secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** Inputs with secret values still wrapped as `{ [SECRET_WRAPPER]: value }`; for leak checks. */
  wrappedInputs: Record<string, unknown>;
  /** Name and type of the parent resource (undefined for the stack's direct children). */
  parent?: { type: string; name: string };
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  /** Resource options that a mock cannot see otherwise. */
  ignoreChanges: string[];
  /** Explicit `dependsOn`, as type and name. */
  dependsOn: ResourceRef[];
  /**
   * What the engine waits for before creating this resource, as the RegisterResource request carries it:
   * `dependsOn` (components expanded to their custom resources) and the resources behind every Output input.
   * Sorted by type, then name. (Named apart from the URN lists `dependencies` of the policy harness.)
   */
  waitsFor: ResourceRef[];
  /** The resources behind each input property (the request's propertyDependencies), sorted. */
  inputDependencies: Record<string, ResourceRef[]>;
  /** Computed state the mock returned (inputs + ids, arns, ...). */
  state: Record<string, unknown>;
  /** The URN the engine gives the resource, parent types chained (scripts/offline/urns.ts). */
  urn: string;
  /** The parent's URN (undefined for the stack itself). */
  parentUrn?: string;
  /** The URNs its `aliases` option stands for, resolved as the engine does; sorted. */
  aliases: string[];
}

export interface ResourceRef {
  type: string;
  name: string;
}

export interface CapturedOutput {
  value: unknown;
  secret: boolean;
}

export interface Evaluation {
  resources: CapturedResource[];
  outputs: Record<string, CapturedOutput>;
  /** Provider functions the program called, by token. */
  calls: { token: string; inputs: Record<string, unknown> }[];
}

export interface EvaluateOptions {
  stack: string;
  /** Fully-qualified config, as `pulumi.runtime.allConfig()` returns it. */
  config: Record<string, string>;
  /** Config keys that hold secrets. */
  secretKeys?: string[];
  /** Where the program is; default: the repo's `index.ts`. */
  program?: string;
  /** Results of provider functions by token, instead of the mock's (e.g. fewer instance type offerings). */
  callResults?: Record<string, Record<string, unknown>>;
  /** The time the program reads from `Date` (ISO 8601); default: the real clock. */
  now?: string;
}

/**
 * The clock every stack variant is evaluated at (tests/support/variants.ts): results that depend on the
 * date (the Azure SAS window, its expiry checks and reminder) do not change with the day a test runs.
 */
export const EVALUATION_NOW = "2026-12-01T12:00:00Z";

/** The partition of the stack's `aws:region`, as the provider derives it: ARNs the mock makes use it. */
function mockPartition(config: Record<string, string>): string {
  const region = config["aws:region"] ?? "";
  return region.startsWith("us-gov-") ? "aws-us-gov" : region.startsWith("cn-") ? "aws-cn" : "aws";
}

/** A value every mocked random generator returns, so leak tests can search for it. */
export function markerFor(name: string): string {
  return `SECRETMARKER${name.replace(/[^A-Za-z0-9]/g, "")}`;
}

/** The type and name a URN names (`urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`). */
export function refOfUrn(urn: string): ResourceRef {
  const [, , qualifiedType, ...name] = urn.split("::");
  return { type: qualifiedType.split("$").pop() ?? qualifiedType, name: name.join("::") };
}

const byTypeAndName = (a: ResourceRef, b: ResourceRef) =>
  a.type < b.type ? -1 : a.type > b.type ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

function refsOfUrns(urns: string[]): ResourceRef[] {
  const unique = [...new Set(urns)];
  return unique.map(refOfUrn).sort(byTypeAndName);
}

/** The dependencies and URN parts a RegisterResource request carries (resource_pb RegisterResourceRequest). */
interface RegisterResourceRequest extends UrnRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(callback: (value: { getUrnsList(): string[] }, key: string) => void): void;
  };
}

type RecordedDependencies = Pick<CapturedResource, "waitsFor" | "inputDependencies">;
type RecordedRegistration = RecordedDependencies & Pick<CapturedResource, "urn" | "parentUrn" | "aliases">;

function dependenciesOf(req: RegisterResourceRequest): RecordedDependencies {
  const propertyDependencies: Record<string, ResourceRef[]> = {};
  req.getPropertydependenciesMap().forEach((value, key) => {
    const refs = refsOfUrns(value.getUrnsList());
    if (refs.length > 0) propertyDependencies[key] = refs;
  });
  const sorted = Object.fromEntries(
    Object.keys(propertyDependencies)
      .sort()
      .map((k) => [k, propertyDependencies[k]]),
  );
  return { waitsFor: refsOfUrns(req.getDependenciesList()), inputDependencies: sorted };
}

/**
 * Records the dependencies, engine URN and aliases of every registration: the mocks' `newResource` does not
 * see them, the mock monitor's `registerResource` gets the whole request.
 */
async function recordRegistrations(
  stack: string,
  record: (key: string, registration: RecordedRegistration) => void,
): Promise<void> {
  const settings = await import("@pulumi/pulumi/runtime/settings");
  type Callback = (error: unknown, response?: { getUrn(): string }) => void;
  const monitor = settings.getMonitor() as unknown as {
    registerResource(req: RegisterResourceRequest, callback: Callback): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  const urns = new UrnBook(PROJECT, stack);
  monitor.registerResource = (req, callback) => {
    const registration = urns.registration(req);
    record(`${req.getType()}::${req.getName()}`, { ...dependenciesOf(req), ...registration });
    return register(req, (error, response) => {
      // Children name this resource as their parent by the URN the mock made up.
      if (response) urns.learn(response.getUrn(), registration.urn);
      callback(error, response);
    });
  };
}

/** Computed properties a real provider would return, by resource type. */
function mockState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  partition = "aws",
): Record<string, unknown> {
  const physical = `${name}-0123abc`;
  const state = mockStateIn(type, name, inputs, physical);
  // Only the ARN the mock makes up: inputs echoed into the state keep what the program sent.
  if (partition !== "aws" && typeof state.arn === "string" && state.arn !== inputs.arn) {
    state.arn = state.arn.replace(/^arn:aws:/, `arn:${partition}:`);
  }
  return state;
}

function mockStateIn(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  physical: string,
): Record<string, unknown> {
  const service = type.split(":")[1]?.split("/")[0] ?? "x";
  const state: Record<string, unknown> = {
    ...inputs,
    arn: `arn:aws:${service}:us-east-1:${ACCOUNT_ID}:${name}`,
    name: inputs.name ?? physical,
  };
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { ...state, bucket: inputs.bucket ?? physical, arn: `arn:aws:s3:::${physical}` };
    case "aws:iam/role:Role":
      return { ...state, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${physical}`, uniqueId: "AROAEXAMPLE" };
    case "aws:ec2/eip:Eip":
      return {
        ...state,
        publicIp: ELASTIC_IP,
        allocationId: "eipalloc-0123",
        publicDns: "ec2-203-0-113-10.compute-1.amazonaws.com",
      };
    case "aws:rds/instance:Instance":
      return {
        ...state,
        identifier: inputs.identifier ?? physical,
        address: `${physical}.cabc123.us-east-1.rds.amazonaws.com`,
        port: inputs.port ?? 5432,
      };
    case "aws:ec2/vpc:Vpc":
      return { ...state, cidrBlock: inputs.cidrBlock };
    case "aws:secretsmanager/secret:Secret":
      return { ...state, arn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${physical}-AbCdEf` };
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        ...state,
        dnsName: `${physical.toLowerCase()}-1234567890.us-east-1.elb.amazonaws.com`,
        zoneId: "Z35SXDOTRQ7X7K",
        arnSuffix: `app/${physical}/50dc6c495c0c9188`,
      };
    case "aws:lb/targetGroup:TargetGroup":
      return { ...state, arnSuffix: `targetgroup/${physical}/73e2d6bc24d8a067` };
    case "aws:acm/certificate:Certificate":
      return {
        ...state,
        domainValidationOptions: [
          {
            domainName: inputs.domainName,
            resourceRecordName: `_a79865eb4cd1a6ab990a45779b4e0b96.${inputs.domainName}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: "_424c7224e9b0146f9a8808af955727d0.acm-validations.aws.",
          },
        ],
      };
    case "aws:route53/record:Record":
      return { ...state, fqdn: inputs.name };
    case "aws:ecr/repository:Repository":
      return {
        ...state,
        registryId: ACCOUNT_ID,
        repositoryUrl: `${ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/${physical}`,
      };
    case "docker-build:index:Image":
      return { ...state, digest: "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0" };
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      return { ...state, result: markerFor(name) };
    case "random:index/randomId:RandomId":
      return { ...state, hex: "0a1b2c3d", dec: "169552957", b64Url: "ChssPQ" };
    case "azure-native:storage:StorageAccount":
      return { ...state, name: inputs.accountName ?? physical };
    case "azure-native:storage:BlobContainer":
      return { ...state, name: inputs.containerName ?? physical };
    case "gcp:serviceaccount/account:Account": {
      const email = `${inputs.accountId}@${inputs.project ?? "mock-project"}.iam.gserviceaccount.com`;
      return {
        ...state,
        email,
        member: `serviceAccount:${email}`,
        name: `projects/${inputs.project ?? "mock-project"}/serviceAccounts/${email}`,
      };
    }
    case "gcp:serviceaccount/key:Key":
      return {
        ...state,
        privateKey: Buffer.from(
          JSON.stringify({ type: "service_account", private_key: markerFor("gcp-key") }),
        ).toString("base64"),
      };
    case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
      return {
        ...state,
        name: `projects/123456789/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}`,
      };
    case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
      return {
        ...state,
        name: `projects/123456789/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}/providers/${inputs.workloadIdentityPoolProviderId}`,
      };
    default:
      return state;
  }
}

function mockCall(
  token: string,
  inputs: Record<string, unknown>,
  partition = "aws",
  region = "us-east-1",
): Record<string, unknown> {
  switch (token) {
    case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
      // Every zone of the mocked region offers every instance type.
      const filters = (inputs.filters ?? []) as { name: string; values: string[] }[];
      const types = filters.find((f) => f.name === "instance-type")?.values ?? ["t3.small"];
      const byId = inputs.locationType === "availability-zone-id";
      const zones = byId ? ["use1-az1", "use1-az2", "use1-az3"] : ["us-east-1a", "us-east-1b", "us-east-1c"];
      const locations = zones.flatMap((zone) => types.map(() => zone));
      return {
        instanceTypes: zones.flatMap(() => types),
        locations,
        locationTypes: locations.map(() => inputs.locationType ?? "region"),
        id: "us-east-1",
      };
    }
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        names: ["us-east-1a", "us-east-1b", "us-east-1c"],
        zoneIds: ["use1-az1", "use1-az2", "use1-az3"],
        id: "us-east-1",
      };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: ACCOUNT_ID,
        arn: `arn:${partition}:iam::${ACCOUNT_ID}:user/ci`,
        userId: "AIDAEXAMPLE",
        id: ACCOUNT_ID,
      };
    case "aws:index/getRegion:getRegion":
      // The provider's region is the stack's aws:region.
      return { name: region, region, id: region };
    case "aws:index/getPartition:getPartition":
      return {
        partition,
        dnsSuffix: partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com",
        reverseDnsPrefix: partition === "aws-cn" ? "cn.com.amazonaws" : "com.amazonaws",
        id: partition,
      };
    case "azure-native:storage:listStorageAccountServiceSAS": {
      // Like ARM: without a start time the token carries (and its signature covers) st=<now>.
      const start = inputs.sharedAccessStartTime ?? new Date().toISOString();
      return {
        serviceSasToken: `sv=2024-11-04&sr=c&st=${start}&sp=${inputs.permissions}&spr=https&se=${inputs.sharedAccessExpiryTime}&sig=${markerFor("azure-sas")}`,
      };
    }
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        authorizationToken: "QVdTOm1vY2s=",
        password: "mock-ecr-password",
        userName: "AWS",
        proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com`,
        expiresAt: "2026-11-26T00:00:00Z",
        region: "us-east-1",
        id: "us-east-1",
      };
    case "aws:ec2/getAmi:getAmi":
      return {
        id: "ami-0123456789abcdef0",
        name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101",
        architecture: "x86_64",
      };
    default:
      throw new Error(
        `unmocked provider function ${token}(${JSON.stringify(inputs)}): add it to scripts/offline/evaluate.ts`,
      );
  }
}

function unwrapSecrets(value: unknown, wrap: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => unwrapSecrets(v, wrap));
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) {
      const inner = unwrapSecrets(record.value, wrap);
      return wrap ? { [SECRET_WRAPPER]: inner } : inner;
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v, wrap)]));
  }
  return value;
}

/**
 * Runs the program once for one stack's config and returns what it registered. Modules stay loaded: each
 * call sets new mocks and config and calls the program function again.
 */
export async function evaluateInProcess(options: EvaluateOptions): Promise<Evaluation> {
  return options.now === undefined ? evaluate(options) : atTime(options.now, () => evaluate(options));
}

/**
 * Runs `body` while `Date.now()` and `new Date()` return `now` (other uses of Date and all timers stay
 * real: the Pulumi runtime needs them). Only one evaluation runs at a time in a process.
 */
async function atTime<T>(now: string, body: () => Promise<T>): Promise<T> {
  const RealDate = globalThis.Date;
  const fixed = RealDate.parse(now);
  if (Number.isNaN(fixed)) throw new Error(`now: not a date: ${now}`);
  class FixedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(fixed);
      else super(...(args as [string]));
    }
    static now(): number {
      return fixed;
    }
  }
  globalThis.Date = FixedDate as DateConstructor;
  try {
    return await body();
  } finally {
    globalThis.Date = RealDate;
  }
}

async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
  const resources = new Map<string, CapturedResource>();
  const calls: Evaluation["calls"] = [];
  const key = (type: string, name: string) => `${type}::${name}`;
  const partition = mockPartition(options.config);
  /** The region of the AWS provider an invoke goes to (`<urn>::<id>`): its `region` input, else aws:region. */
  const providerRegion = (provider: string | undefined): string | undefined => {
    const providerName = /[:$]pulumi:providers:aws::([^:]+)::/.exec(provider ?? "")?.[1];
    const explicit = providerName && resources.get(key("pulumi:providers:aws", providerName))?.inputs.region;
    return typeof explicit === "string" ? explicit : options.config["aws:region"];
  };

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = mockState(
          args.type,
          args.name,
          unwrapSecrets(args.inputs, false) as Record<string, unknown>,
          partition,
        );
        const captured = resources.get(key(args.type, args.name));
        const record: CapturedResource = {
          type: args.type,
          name: args.name,
          custom: args.custom ?? true,
          inputs: unwrapSecrets(args.inputs, false) as Record<string, unknown>,
          wrappedInputs: unwrapSecrets(args.inputs, true) as Record<string, unknown>,
          parent: captured?.parent,
          protect: captured?.protect ?? false,
          retainOnDelete: captured?.retainOnDelete ?? false,
          deleteBeforeReplace: captured?.deleteBeforeReplace ?? false,
          ignoreChanges: captured?.ignoreChanges ?? [],
          dependsOn: captured?.dependsOn ?? [],
          waitsFor: [],
          inputDependencies: {},
          state,
          urn: "",
          aliases: [],
        };
        if (captured && captured.custom !== undefined && captured.state.__registered) {
          throw new Error(`duplicate resource ${args.type} ${args.name}`);
        }
        resources.set(key(args.type, args.name), { ...record, state: { ...state, __registered: true } });
        // Like the provider, a bucket's id is its name; other ids are `<name>-id`.
        const id = args.type === "aws:s3/bucket:Bucket" ? String(state.bucket) : `${args.name}-id`;
        return { id, state };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs });
        return (
          options.callResults?.[args.token] ??
          mockCall(args.token, args.inputs, partition, providerRegion(args.provider))
        );
      },
    },
    PROJECT,
    options.stack,
    false,
  );
  const registrations = new Map<string, RecordedRegistration>();
  await recordRegistrations(options.stack, (k, r) => registrations.set(k, r));
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);

  let exports: Record<string, unknown> = {};
  let programError: (Error & { registeredResources?: number }) | undefined;
  const run = pulumi.runtime.runInPulumiStack(async () => {
    // Resource options are not visible to mocks; a stack transformation sees them for every resource.
    pulumi.runtime.registerStackTransformation((t) => {
      type Named = pulumiType.Resource & { __name?: string; __pulumiType?: string };
      const parent = t.opts.parent as Named | undefined;
      const dependsOn = (
        Array.isArray(t.opts.dependsOn) ? t.opts.dependsOn : t.opts.dependsOn ? [t.opts.dependsOn] : []
      ) as Named[];
      resources.set(key(t.type, t.name), {
        type: t.type,
        name: t.name,
        custom: !(t.resource instanceof pulumi.ComponentResource),
        inputs: {},
        wrappedInputs: {},
        parent:
          parent?.__pulumiType && parent.__pulumiType !== "pulumi:pulumi:Stack"
            ? { type: parent.__pulumiType, name: parent.__name ?? "" }
            : undefined,
        protect: Boolean(t.opts.protect),
        retainOnDelete: Boolean(t.opts.retainOnDelete),
        deleteBeforeReplace: Boolean((t.opts as pulumiType.CustomResourceOptions).deleteBeforeReplace),
        ignoreChanges: t.opts.ignoreChanges ?? [],
        dependsOn: dependsOn.map((d) => ({ type: d.__pulumiType ?? "", name: d.__name ?? "" })),
        waitsFor: [],
        inputDependencies: {},
        state: {},
        urn: "",
        aliases: [],
      });
      return undefined;
    });
    // Keep the module's exports: runInPulumiStack hands back resolved values without their secret flags.
    try {
      // index.ts exports the program as a function (Pulumi calls it): modules load once per process.
      const loaded = await import(options.program ?? path.join(ROOT, "index.ts"));
      const program = (typeof loaded === "function" ? loaded : loaded.default) as () => Record<
        string,
        unknown
      >;
      exports = await program();
    } catch (error) {
      // Rethrown below: a rejection inside the stack would also surface as an unhandled one.
      programError = error as Error;
    }
    return exports;
  });
  await run;
  await (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs?.();
  if (programError) {
    // How far the program got: config errors must stop it before any cloud resource.
    programError.registeredResources = [...resources.values()].filter(
      (r) => r.custom && r.state.__registered,
    ).length;
    throw programError;
  }

  await (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs?.();
  const outputs: Record<string, CapturedOutput> = {};
  for (const [name, value] of Object.entries(exports)) {
    if (name === "default" || name === "__esModule") continue;
    if (pulumi.Output.isInstance(value)) {
      outputs[name] = { value: await promiseOf(value), secret: await pulumi.isSecret(value) };
    } else {
      outputs[name] = { value, secret: false };
    }
  }
  // Internal but exported: drains registrations that no output depends on (alarms, attachments, ...).
  await (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs?.();
  const list = [...resources.values()].map(({ state, ...rest }) => {
    const { __registered: _, ...cleanState } = state;
    return { ...rest, ...registrations.get(key(rest.type, rest.name)), state: cleanState };
  });
  return { resources: list, outputs, calls };
}

function promiseOf(output: pulumiType.Output<unknown>): Promise<unknown> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

// ---- evaluation in a plain Node.js child process ----
// Under jest the program runs about four times slower than under plain Node.js (its module sandbox), so a
// test file evaluates through one child process that loads the program once and answers over IPC.

let worker: ChildProcess | undefined;
let nextRequest = 0;
const pending = new Map<number, { resolve: (e: Evaluation) => void; reject: (e: Error) => void }>();

function evaluationWorker(): ChildProcess {
  if (worker) return worker;
  const child = fork(path.join(__dirname, "evaluationWorker.ts"), [], {
    execArgv: ["-r", path.join(ROOT, "scripts", "ts-register.js")],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child.on(
    "message",
    (message: {
      id: number;
      evaluation?: Evaluation;
      error?: { message: string; registeredResources?: number };
    }) => {
      const request = pending.get(message.id);
      pending.delete(message.id);
      if (!request) return;
      if (message.error) request.reject(Object.assign(new Error(message.error.message), message.error));
      else request.resolve(message.evaluation as Evaluation);
    },
  );
  child.on("exit", (code) => {
    for (const request of pending.values())
      request.reject(new Error(`evaluation worker exited with ${code}`));
    pending.clear();
    worker = undefined;
  });
  worker = child;
  return child;
}

/** Stops the evaluation child process, if one was started. */
export function stopEvaluationWorker(): void {
  worker?.kill();
  worker = undefined;
}

if (typeof afterAll === "function") afterAll(stopEvaluationWorker);

/**
 * Runs the program for one stack's config (see `evaluateInProcess`). Under jest it runs in a child process;
 * elsewhere (`npm run plan`, benchmarks) in this one.
 */
export function evaluateProgram(options: EvaluateOptions): Promise<Evaluation> {
  if (typeof jest === "undefined") return evaluateInProcess(options);
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    evaluationWorker().send({ id, options });
  });
}
