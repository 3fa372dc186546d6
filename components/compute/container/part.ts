// The container server's parts (endpoint, workload, gc task, alarms) are child components of the
// TrackingServer. Their resources were the TrackingServer's own children until issue 12: each keeps its URN
// (its identity in deployed stacks' state) through an alias to that former parent, so the split replaces
// nothing (tests/unit/urn-stability.test.ts).
import * as pulumi from "@pulumi/pulumi";
import type { ComputeContext } from "../../contracts";

/** What every part is built from: the server's args, as the TrackingServer hands them to the compute mode. */
export type ServerArgs = ComputeContext["args"];

/** The role the tasks run as (the artifact store grants it access itself). */
export interface ServerRole {
  name: pulumi.Output<string>;
  arn: pulumi.Output<string>;
}

/** The one place that reads the server's role from the args. */
export function serverRoleOf(args: ServerArgs): ServerRole {
  return { name: args.role.name, arn: args.role.arn };
}

/**
 * Options for a resource that moved from `formerParent` into `component`: the alias names its URN under the
 * former parent (same name, same type), which the engine then finds in the state.
 */
export function movedInto(
  component: pulumi.ComponentResource,
  formerParent: pulumi.Resource,
): pulumi.CustomResourceOptions {
  return { parent: component, aliases: [{ parent: formerParent }] };
}

/** What a part's builders need: the name its children's names start with, the server's args, their options. */
export interface Builder {
  name: string;
  args: ServerArgs;
  opts: pulumi.CustomResourceOptions;
}

/**
 * A part of the container server: a component whose children are all named from its own name (`b.name`), so
 * two parts (or two servers) with distinct names never name a child alike.
 */
export abstract class ContainerPart extends pulumi.ComponentResource {
  /** The part's name, the server's args, and every child's options: parented here, aliased to its old URN. */
  protected readonly b: Builder;

  protected constructor(type: string, name: string, args: ServerArgs, parent: pulumi.ComponentResource) {
    // A module of its own: these components exist only inside the container compute mode.
    super(`mlflow-platform:container:${type}`, name, {}, { parent });
    this.b = { name, args, opts: movedInto(this, parent) };
  }
}
