// Reads the stack config, builds the platform and exports the contract's outputs (DESIGN.md).
import * as pulumi from "@pulumi/pulumi";
import { MlflowPlatform } from "./components/platform";
import { NAMESPACE, loadStackSettings } from "./stacks/config";

const settings = loadStackSettings();
const platform = new MlflowPlatform(`mlflow-${settings.stack.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`, {
  settings,
  adminPassword: new pulumi.Config(NAMESPACE).getSecret("adminPassword"),
});

export const trackingUri = platform.trackingUri;
export const artifactRoot = platform.artifactRoot;
export const databaseEndpoint = platform.databaseEndpoint;
export const serverCompute = platform.serverCompute;
export const clientEnv = platform.clientEnv;
export const alarmTopicArn = platform.alarmTopicArn;
