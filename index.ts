// Reads the stack config, builds the platform and returns the contract's outputs (DESIGN.md). Pulumi calls
// the exported function and publishes what it returns as stack outputs; the tests and `npm run plan` call
// the same function under mocks, once per stack variant, without reloading modules.
import * as pulumi from "@pulumi/pulumi";
import { MlflowPlatform } from "./components";
import { loadStackSettings } from "./stacks/config";
import { configWarnings } from "./stacks/warnings";

export = function mlflowPlatform() {
  const settings = loadStackSettings();
  for (const warning of configWarnings(settings)) pulumi.log.warn(warning);
  const { project, stack, ...args } = settings;
  const platform = new MlflowPlatform(`mlflow-${stack.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`, {
    ...args,
    tags: { Project: project, Stack: stack, ManagedBy: "pulumi", ...settings.tags },
    adminPassword: new pulumi.Config().getSecret("adminPassword"),
  });
  return {
    trackingUri: platform.trackingUri,
    artifactRoot: platform.artifactRoot,
    databaseEndpoint: platform.databaseEndpoint,
    serverCompute: platform.serverCompute,
    clientEnv: platform.clientEnv,
    alarmTopicArn: platform.alarmTopicArn,
  };
};
