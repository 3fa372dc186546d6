// Resource URNs as the Pulumi engine makes them, for the offline runtime (scripts/offline/evaluate.ts). The
// mock monitor makes its own URNs with only the parent's last type (`Parent$Type`), where the engine chains
// every ancestor's type (`Platform$Server$Type`, the stack itself left out), and it ignores aliases. A URN is a
// resource's identity in the state: the URN stability test (tests/unit/urn-stability.test.ts) compares these.

export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** `<parent types>$<type>` of a URN (`urn:pulumi:<stack>::<project>::<qualified type>::<name>`). */
export function qualifiedTypeOf(urn: string): string {
  return urn.split("::")[2] ?? "";
}

/** The name a URN ends with (a name may itself contain `::`). */
export function nameOf(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

/** The engine's `resource.CreateURN`: the parent's qualified type prefixes the type, unless it is the stack. */
export function createUrn(
  name: string,
  type: string,
  parentUrn: string | undefined,
  project: string,
  stack: string,
): string {
  const parentType = parentUrn ? qualifiedTypeOf(parentUrn) : "";
  const qualified = parentType && parentType !== ROOT_STACK_TYPE ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** An alias as the SDK sends it when the monitor supports alias specs (the mock monitor does). */
export interface AliasSpec {
  /** A whole URN (`aliases: ["urn:..."]`); the other fields are then empty. */
  urn?: string;
  name?: string;
  type?: string;
  stack?: string;
  project?: string;
  /** The old parent, as an engine URN. */
  parentUrn?: string;
  /** `{ parent: undefined }`: the resource had no parent (a child of the stack). */
  noParent?: boolean;
}

/**
 * The URN an alias stands for, as the engine's `collapseAliasToUrn` computes it: what the spec leaves empty
 * comes from the resource itself. (The engine also substitutes the old URN of an aliased old parent; that
 * needs the old state, see `matchesOldUrn`.)
 */
export function collapseAlias(
  alias: AliasSpec,
  goal: { name: string; type: string; parentUrn?: string },
  project: string,
  stack: string,
): string {
  if (alias.urn) return alias.urn;
  const parent = alias.noParent ? undefined : (alias.parentUrn ?? goal.parentUrn);
  return createUrn(
    alias.name || goal.name,
    alias.type || goal.type,
    parent,
    alias.project || project,
    alias.stack || stack,
  );
}

/** The alias messages of a RegisterResourceRequest (pulumi/alias.proto). */
interface AliasMessage {
  getUrn(): string;
  getSpec():
    | {
        getName(): string;
        getType(): string;
        getStack(): string;
        getProject(): string;
        getParenturn(): string;
        getNoparent(): boolean;
      }
    | undefined;
}

/** What of a RegisterResourceRequest the URN of a registration depends on. */
export interface UrnRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  /** Alias specs: what the SDK sends when the monitor supports them (the mock monitor does). */
  getAliasesList(): AliasMessage[];
  /** Alias URNs the SDK computed itself: what it sends to a monitor without alias-spec support. */
  getAliasurnsList(): string[];
}

export interface Registration {
  urn: string;
  /** The parent's engine URN (undefined for the stack itself). */
  parentUrn?: string;
  /** The URNs of the resource's aliases, sorted (empty if it has none). */
  aliases: string[];
}

/**
 * Engine URNs for the registrations of one evaluation. Requests name their parent (and an alias its old
 * parent) by the mock's URN: `learn` maps each mock URN the monitor answers with to the engine URN.
 */
export class UrnBook {
  private readonly engineUrns = new Map<string, string>();

  constructor(
    private readonly project: string,
    private readonly stack: string,
  ) {}

  /** The engine URN and aliases of one RegisterResource request. */
  registration(req: UrnRequest): Registration {
    const parentUrn = this.engineUrn(req.getParent());
    const goal = { name: req.getName(), type: req.getType(), parentUrn };
    const specs = req.getAliasesList().map((a) => this.aliasSpec(a));
    const aliases = [
      ...specs.map((spec) => collapseAlias(spec, goal, this.project, this.stack)),
      ...req.getAliasurnsList(),
    ];
    return {
      urn: createUrn(goal.name, goal.type, parentUrn, this.project, this.stack),
      parentUrn,
      aliases: [...new Set(aliases)].sort(),
    };
  }

  /** Records the URN the mock monitor answered a registration with. */
  learn(mockUrn: string, engineUrn: string): void {
    this.engineUrns.set(mockUrn, engineUrn);
  }

  private engineUrn(mockUrn: string): string | undefined {
    if (!mockUrn) return undefined;
    const urn = this.engineUrns.get(mockUrn);
    if (urn === undefined) throw new Error(`URN of an unregistered resource: ${mockUrn}`);
    return urn;
  }

  private aliasSpec(alias: AliasMessage): AliasSpec {
    const spec = alias.getSpec();
    if (!spec) return { urn: alias.getUrn() };
    return {
      name: spec.getName(),
      type: spec.getType(),
      stack: spec.getStack(),
      project: spec.getProject(),
      parentUrn: this.engineUrn(spec.getParenturn()),
      noParent: spec.getNoparent(),
    };
  }
}

/** A resource of an evaluation, as `matchesOldUrn` needs it. */
export type UrnEntry = Registration;

/**
 * The old URN (one of `oldUrns`) the engine would take `entry` for, or undefined (it would create it anew):
 * its own URN, else an alias, else (the engine's `inheritedChildAlias`) its URN or an alias moved under the
 * old URN of a parent that matched through an alias, with the parent's old name in place of its new one at
 * the start of the child's name. `byUrn` holds every resource of the evaluation, by URN.
 */
export function matchesOldUrn(
  entry: UrnEntry,
  oldUrns: ReadonlySet<string>,
  byUrn: ReadonlyMap<string, UrnEntry>,
): string | undefined {
  const own = [entry.urn, ...entry.aliases].find((urn) => oldUrns.has(urn));
  if (own !== undefined) return own;
  const parent = entry.parentUrn === undefined ? undefined : byUrn.get(entry.parentUrn);
  const oldParent = parent && matchesOldUrn(parent, oldUrns, byUrn);
  if (!parent || !oldParent || oldParent === parent.urn) return undefined;
  return [entry.urn, ...entry.aliases]
    .map((urn) => inheritedChildAlias(urn, parent.urn, oldParent))
    .find((urn) => oldUrns.has(urn));
}

/** The engine's `inheritedChildAlias`: a child's URN (or alias) moved under its parent's old URN. */
function inheritedChildAlias(childUrn: string, parentUrn: string, oldParentUrn: string): string {
  const [stackPart, project] = childUrn.split("::");
  const type = qualifiedTypeOf(childUrn).split("$").pop() ?? "";
  const name = nameOf(childUrn);
  const parentName = nameOf(parentUrn);
  const aliasName = name.startsWith(parentName) ? nameOf(oldParentUrn) + name.slice(parentName.length) : name;
  return createUrn(aliasName, type, oldParentUrn, project, stackPart.replace(/^urn:pulumi:/, ""));
}
