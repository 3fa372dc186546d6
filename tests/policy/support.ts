// Runs policies of the pack over hand-built (or harness-captured) resources, the way the policy server does,
// without starting a server: validateResource for each resource, then validateStack over all of them.
import type { Unwrap } from "@pulumi/pulumi";
import {
  Policies,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  StackValidationArgs,
  UnknownValueError,
  unknownCheckingProxy,
} from "@pulumi/policy";

export const PROJECT = "mlflow-platform";

/**
 * The sentinel the policy server puts in place of an unknown string during preview (mirrors
 * `unknownStringValue` in @pulumi/policy/proxy.js, which is internal). Reading it through the proxy throws
 * UnknownValueError, exactly as in `pulumi preview`.
 */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const UNKNOWN_BOOLEAN = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7";

export interface TestResource {
  type: string;
  name: string;
  /** Defaults to `urn:pulumi:<stack>::mlflow-platform::<type>::<name>`. */
  urn?: string;
  /** The resource inputs (for stack policies: stand-in for its outputs). */
  props: Record<string, unknown>;
  /** The provider id; added to props as `id` when props have none. */
  id?: string;
  /** URNs (or names) of resources this one depends on. */
  dependencies?: string[];
  /** Per input property, URNs (or names) of the resources the value came from. */
  propertyDependencies?: Record<string, string[]>;
}

export interface Violation {
  policy: string;
  message: string;
  urn?: string;
  /** True for "can't run during preview" (an unknown value was read): advisory, not a violation. */
  advisory?: boolean;
}

export interface RunOptions {
  /** Per-policy config, as in a `--policy-pack-config` file: `{ "<policy>": { key: value } }`. */
  config?: Record<string, Record<string, unknown>>;
  /** Stack name used for default URNs. */
  stack?: string;
  /** Wrap props like the policy server does, so unknown sentinels throw on access. */
  preview?: boolean;
}

/** Typed fixture props: the provider's Args with Inputs unwrapped, so property names are checked by tsc. */
export function inputs<TArgs>(props: Unwrap<TArgs>): Record<string, unknown> {
  return props as Record<string, unknown>;
}

const defaultOpts: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

class NotApplicable extends Error {}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  return (resourceClass as { __pulumiType?: string }).__pulumiType === type;
}

export function urnOf(r: Pick<TestResource, "type" | "name" | "urn">, stack = "dev"): string {
  return r.urn ?? `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`;
}

/** Runs every policy over the resources; returns the violations (and advisories), in order. */
export async function runPolicies(
  policies: Policies,
  resources: TestResource[],
  options: RunOptions = {},
): Promise<Violation[]> {
  const stack = options.stack ?? "dev";
  const prepared = resources.map((r) => {
    const plain = r.id !== undefined && r.props.id === undefined ? { ...r.props, id: r.id } : r.props;
    const props = (options.preview ? unknownCheckingProxy(plain) : plain) as Record<string, unknown>;
    return { source: r, urn: urnOf(r, stack), props };
  });
  const violations: Violation[] = [];
  const getConfigFor = (policy: string) => () => (options.config?.[policy] ?? {}) as never;
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };

  const handle = async (policy: string, run: () => void | Promise<void>) => {
    try {
      await run();
    } catch (e) {
      if (e instanceof UnknownValueError) {
        violations.push({
          policy,
          message: `can't run during preview: ${(e as Error).message}`,
          advisory: true,
        });
      } else if (!(e instanceof NotApplicable)) {
        throw e;
      }
    }
  };

  for (const policy of policies) {
    if (!("validateResource" in policy) || !policy.validateResource) {
      continue;
    }
    const validations = Array.isArray(policy.validateResource)
      ? policy.validateResource
      : [policy.validateResource];
    for (const r of prepared) {
      const args: ResourceValidationArgs = {
        type: r.source.type,
        name: r.source.name,
        urn: r.urn,
        props: r.props,
        opts: defaultOpts,
        stackTags: new Map(),
        isType: (cls) => isTypeOf(r.source.type, cls),
        asType: ((cls: unknown) =>
          isTypeOf(r.source.type, cls) ? r.props : undefined) as ResourceValidationArgs["asType"],
        getConfig: getConfigFor(policy.name),
        notApplicable,
      };
      for (const validate of validations) {
        await handle(policy.name, () =>
          validate(args, (message) => violations.push({ policy: policy.name, message, urn: r.urn })),
        );
      }
    }
  }

  // Stack policies see every resource, with dependencies linked as the policy server links them.
  const stackResources: PolicyResource[] = prepared.map((r) => ({
    type: r.source.type,
    name: r.source.name,
    urn: r.urn,
    props: r.props,
    opts: defaultOpts,
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => isTypeOf(r.source.type, cls),
    asType: ((cls: unknown) =>
      isTypeOf(r.source.type, cls) ? r.props : undefined) as PolicyResource["asType"],
  }));
  const byKey = new Map<string, PolicyResource>();
  stackResources.forEach((r) => {
    byKey.set(r.urn, r);
    byKey.set(refKey(r), r);
    if (!byKey.has(r.name)) {
      byKey.set(r.name, r);
    }
  });
  const resolve = (keys: string[] | undefined) =>
    (keys ?? []).map((k) => byKey.get(k)).filter((x): x is PolicyResource => x !== undefined);
  prepared.forEach((r, i) => {
    stackResources[i].dependencies = resolve(r.source.dependencies);
    for (const [key, deps] of Object.entries(r.source.propertyDependencies ?? {})) {
      stackResources[i].propertyDependencies[key] = resolve(deps);
    }
  });
  for (const policy of policies) {
    if (!("validateStack" in policy)) {
      continue;
    }
    const args: StackValidationArgs = {
      resources: stackResources,
      stackTags: new Map(),
      getConfig: getConfigFor(policy.name),
      notApplicable,
    };
    await handle(policy.name, () =>
      policy.validateStack(args, (message, urn) => violations.push({ policy: policy.name, message, urn })),
    );
  }
  return violations;
}

/** Only the mandatory findings (drops preview advisories). */
export function mandatory(violations: Violation[]): Violation[] {
  return violations.filter((v) => !v.advisory);
}

/** Names of the policies that reported, sorted and deduplicated. */
export function policyNames(violations: Violation[]): string[] {
  return [...new Set(mandatory(violations).map((v) => v.policy))].sort();
}

/** `type::name`: how dependencies captured under mocks name a resource (names repeat across types). */
export function refKey(ref: { type: string; name: string }): string {
  return `${ref.type}::${ref.name}`;
}

/**
 * Converts resources captured by the mock harness (`{type, name, urn, inputs, id?, state?, ...}`) into test
 * resources. Stack policies in the real engine see outputs; under mocks the inputs plus the id are the
 * closest stand-in (a companion's `bucket` input then equals the bucket's mock id).
 */
export function fromHarness(
  captured: {
    type: string;
    name: string;
    urn?: string;
    id?: string;
    inputs?: Record<string, unknown>;
    state?: Record<string, unknown>;
    props?: Record<string, unknown>;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    /** As the mock runtime records them: what the engine waits for, and the resources behind each input. */
    waitsFor?: { type: string; name: string }[];
    inputDependencies?: Record<string, { type: string; name: string }[]>;
  }[],
): TestResource[] {
  return captured
    .filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack")
    .map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      id: r.id,
      props: { ...(r.state ?? {}), ...(r.props ?? {}), ...(r.inputs ?? {}) },
      // The engine links stack-policy resources by these; so does the harness.
      dependencies: r.dependencies ?? r.waitsFor?.map(refKey),
      propertyDependencies:
        r.propertyDependencies ??
        (r.inputDependencies
          ? Object.fromEntries(Object.entries(r.inputDependencies).map(([k, refs]) => [k, refs.map(refKey)]))
          : undefined),
    }));
}
