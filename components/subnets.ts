// Subnet ids as callers have them: a list of ids (each may be an Output), or one Output of a list (what
// awsx.ec2.Vpc and stack references give).
import * as pulumi from "@pulumi/pulumi";

export type SubnetIds = pulumi.Input<pulumi.Input<string>[]>;

/** How many ids a plain list holds; undefined for an Output or Promise of a list, which only the cloud counts. */
export function knownCount(ids: SubnetIds): number | undefined {
  return Array.isArray(ids) ? ids.length : undefined;
}

/**
 * The first id; of a plain list, its first element as it is (so only that subnet is a dependency). `what`
 * names the list in the error for an empty one, e.g. "TrackingServer: publicSubnetIds".
 */
export function firstId(ids: SubnetIds, what: string): pulumi.Input<string> {
  if (Array.isArray(ids)) return ids[0];
  return pulumi.output(ids).apply((list) => {
    if (list.length === 0) throw new Error(`${what}: got []; allowed: one or more subnet ids`);
    return list[0];
  });
}
