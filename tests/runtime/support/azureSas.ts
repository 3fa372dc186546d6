// Azurite with the production credential shape: BlobEndpoint plus a container SAS (azure_sas.py), instead of
// the account-key connection string the emulator fixture starts with.
import { execFileSync } from "child_process";
import * as path from "path";
import { pythonEnv } from "./proc";
import { Emulator } from "./stack";

/** A container SAS connection string for Azurite's container, valid from `start` to `expiry` (ISO 8601). */
export function azureSasConnection(venv: string, azurite: Emulator, start: string, expiry: string): string {
  const container = azurite.destination.slice("wasbs://".length).split("@")[0];
  return execFileSync(
    path.join(venv, "bin", "python"),
    [path.join(__dirname, "azure_sas.py"), container, start, expiry],
    { env: pythonEnv(azurite.serverEnv), encoding: "utf8", timeout: 60_000 },
  ).trim();
}
