// Container mode: secrets reach the task through ECS `secrets` (valueFrom Secrets Manager), never as plain
// environment values or command arguments (DESIGN.md "No secret in ... plain config").
import {
  asArray,
  asString,
  describe,
  dig,
  findSecrets,
  isPlaceholderOrReference,
  isSecretName,
  parseJson,
  resourcePolicy,
} from "./util";

export const ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";

export const ecsNoPlaintextSecrets = resourcePolicy(
  {
    name: "ecs-no-plaintext-secrets",
    description:
      "ECS container definitions pass no secret through `environment` or `command` (names like PASSWORD, SECRET, TOKEN, KEY, " +
      "CONNECTION_STRING, BACKEND_STORE_URI, CREDENTIALS, or values that look like credentials): use `secrets` with valueFrom.",
    types: [ECS_TASK_DEFINITION],
  },
  (props, args, report) => {
    const parsed = parseJson(props.containerDefinitions);
    if (!parsed.ok) {
      report(`${describe(args)} containerDefinitions is not valid JSON (${parsed.error}): fix the JSON.`);
      return;
    }
    for (const container of asArray(parsed.value)) {
      const name = asString(dig(container, "name")) ?? "?";
      const named: string[] = [];
      const valued = new Set<string>();
      for (const variable of asArray(dig(container, "environment"))) {
        const key = asString(dig(variable, "name")) ?? "";
        const value = String(dig(variable, "value") ?? "");
        if (isSecretName(key) && !isPlaceholderOrReference(value)) {
          named.push(key);
          continue; // reported by name; no second report for its value
        }
        findSecrets(`${key}=${value}`).forEach((r) => valued.add(`${key} holds ${r}`));
      }
      const command = [...asArray(dig(container, "command")), ...asArray(dig(container, "entryPoint"))].map(
        String,
      );
      findSecrets(command.join(" ")).forEach((r) => valued.add(`the command holds ${r}`));
      if (named.length > 0) {
        report(
          `${describe(args)} container "${name}" passes ${named.join(", ")} as plain environment: move them to ` +
            `secrets: [{name, valueFrom: <Secrets Manager secret ARN>}] (and grant the execution role GetSecretValue on that ARN).`,
        );
      }
      if (valued.size > 0) {
        report(
          `${describe(args)} container "${name}": ${[...valued].join("; ")}: store the value in Secrets Manager and reference it from secrets.valueFrom.`,
        );
      }
    }
  },
);

export const ecsPolicies = [ecsNoPlaintextSecrets];
