// The components name their AWS region in what they render (the server's user data and log configuration,
// alarm actions, the RDS CA bundle) while they register, before the provider can say where it deploys. So
// each component's main output waits for a check that the provider's region is the one they named.
import * as pulumi from "@pulumi/pulumi";
import { getRegionOutput } from "@pulumi/aws/getRegion";

/**
 * `value`, once the region of the AWS provider `parent`'s resources use is `region`; otherwise the preview
 * fails with the component, the arg and both regions (e.g. `providers: { aws }` for another region while
 * `awsRegion` was left to `aws:region`).
 */
export function inProviderRegion(
  component: string,
  region: string,
  parent: pulumi.Resource,
  value: pulumi.Output<string>,
): pulumi.Output<string> {
  // Checked on its own: an apply over `value` would not run while `value` is unknown (a new bucket's name
  // at preview), and the check must fail the preview, not the update after resources exist.
  const checked = getRegionOutput({}, { parent }).region.apply((actual) => {
    if (actual !== region)
      throw new Error(
        `${component}: awsRegion: got "${region}"; allowed: "${actual}", the region of the AWS provider ` +
          "its resources are created with (set awsRegion to it, or give the component that region's provider)",
      );
    return actual;
  });
  return pulumi.all([checked, value]).apply(([, resolved]) => resolved);
}
