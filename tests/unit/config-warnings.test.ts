// Placeholders a stack file may carry (the shipped prod stack does) are valid config but reach nobody: every
// preview, up and offline plan warns, naming the key and the value.
import { loadSettings } from "../../stacks/config";
import { configWarnings, documentationRange } from "../../stacks/warnings";
import { readStackFile, stackFile } from "../support/mockRuntime";

const settingsOf = (
  stack: string,
  edit: (config: Record<string, string>) => void = () => undefined,
  project = "mlflow-platform",
) => {
  const { config } = readStackFile(stackFile(stack));
  edit(config);
  const renamed = Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key.replace(/^mlflow-platform:/, `${project}:`), value]),
  );
  return loadSettings(renamed, project, stack);
};

test("a project renamed by pulumi new: the warnings name its own keys", () => {
  const warnings = configWarnings(settingsOf("prod", undefined, "team-tracking"));
  expect(warnings).toHaveLength(2);
  expect(warnings.map((w) => w.split(":")[0])).toEqual(["team-tracking", "team-tracking"]);
  expect(warnings[1]).toMatch(/or team-tracking:alarmTopicArn$/);
});

test("the shipped prod stack: its TEST-NET-2 allowed range and its example.com alarm address are warned about", () => {
  expect(configWarnings(settingsOf("prod"))).toEqual([
    'mlflow-platform:server.allowedCidrs[0]: "198.51.100.0/24" is TEST-NET-2, a documentation range (RFC 5737) that no client comes from, so nobody can reach the server; set your clients\' egress ranges (office, VPN, CI runners)',
    'mlflow-platform:alarmEmails[0]: "replace-me-mlflow-oncall@example.com" is at a reserved documentation domain (RFC 2606) that receives no mail, so these alarms reach nobody; set your team\'s address, or mlflow-platform:alarmTopicArn',
  ]);
});

test("real values are not warned about", () => {
  expect(configWarnings(settingsOf("dev"))).toEqual([]);
  const real = settingsOf("prod", (config) => {
    const server = JSON.parse(config["mlflow-platform:server"]);
    config["mlflow-platform:server"] = JSON.stringify({
      ...server,
      allowedCidrs: ["198.51.0.0/16", "10.0.0.0/8"],
    });
    config["mlflow-platform:alarmEmails"] = JSON.stringify(["oncall@myexample.com"]);
  });
  expect(configWarnings(real)).toEqual([]);
});

test("a CIDR inside one of RFC 5737's three ranges, and only such, is a documentation range", () => {
  expect(documentationRange("192.0.2.0/24")).toBe("TEST-NET-1");
  expect(documentationRange("198.51.100.128/25")).toBe("TEST-NET-2");
  expect(documentationRange("203.0.113.7/32")).toBe("TEST-NET-3");
  // Ranges that hold real addresses too.
  expect(documentationRange("198.51.0.0/16")).toBeUndefined();
  expect(documentationRange("0.0.0.0/0")).toBeUndefined();
  expect(documentationRange("203.0.114.0/24")).toBeUndefined();
});
