// `npm run plan:diff --silent -- base.json head.json`: compares two `npm run plan -- --json` documents (a pull
// request's base and head) and prints Markdown for $GITHUB_STEP_SUMMARY: exposure changes first (newly public
// items flagged), the monthly cost before -> after, then resources added / removed / replaced (with the inputs
// that force it, scripts/replacements.ts) / updated in place (which key
// inputs, old -> new; other inputs are named, never shown), changed outputs and the summary's changes.
// A resource is identified by type + name. Values come from the plan documents, whose secrets are already
// "[secret]". Exits 0 whatever the differences; 2 when an input cannot be read or is not a plan document.
import * as fs from "fs";
import { CostEstimate, CostLine, money } from "./cost";
import { compare, IngressRule, PlanDocument, PlanResource, PlanSummary, PublicItem } from "./plan";
import { cidrContains } from "../components/ipv4";
import { STATEFUL_TYPES, isClassified, replaceTriggers } from "./replacements";

const UNSET = "(unset)";

const signed = (usd: number) => `${usd >= 0 ? "+" : "-"}$${Math.abs(usd).toFixed(2)}`;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Inline code, safe for values that hold backticks. */
function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  return fence.length > 1 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

const json = (value: unknown) => (value === undefined ? UNSET : code(JSON.stringify(value)));
const cell = (text: string) => text.replace(/\|/g, "\\|");
const identity = (r: { type: string; name: string }) => `${r.type} ${r.name}`;
const label = (r: { type: string; name: string }) => `${code(r.type)} ${code(r.name)}`;

function flags(r: PlanResource): string {
  const f = [r.protect ? "protected" : "", r.retainOnDelete ? "retained" : "", r.custom ? "" : "component"];
  const text = f.filter(Boolean).join(", ");
  return text ? ` (${text})` : "";
}

function keyInputs(r: PlanResource): string {
  const parts = Object.entries(r.inputs).map(([k, v]) => {
    const text = JSON.stringify(v);
    return code(`${k}=${text.length > 160 ? `${text.slice(0, 157)}...` : text}`);
  });
  return parts.length > 0 ? `: ${parts.join(" ")}` : "";
}

/** What changed in one resource, as Markdown list items (empty: nothing). */
function resourceChanges(before: PlanResource, after: PlanResource): string[] {
  const out: string[] = [];
  const parentText = (p: PlanResource["parent"]) => (p ? `${p.type} ${p.name}` : "(the stack)");
  if (!same(before.parent, after.parent))
    out.push(`parent: ${code(parentText(before.parent))} → ${code(parentText(after.parent))}`);
  for (const flag of ["protect", "retainOnDelete", "custom"] as const) {
    if (before[flag] !== after[flag])
      out.push(`${flag}: ${code(String(before[flag]))} → ${code(String(after[flag]))}`);
  }
  const keys = [...new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)])].sort(compare);
  for (const k of keys) {
    if (!same(before.inputs[k], after.inputs[k]))
      out.push(`${code(k)}: ${json(before.inputs[k])} → ${json(after.inputs[k])}`);
  }
  const others = [...new Set([...Object.keys(before.otherInputs), ...Object.keys(after.otherInputs)])].sort(
    compare,
  );
  for (const k of others) {
    if (keys.includes(k)) continue;
    const [b, a] = [before.otherInputs[k], after.otherInputs[k]];
    if (b === a) continue;
    const what = b === undefined ? "set" : a === undefined ? "unset" : "changed";
    out.push(`${code(k)}: ${what} (value not shown)`);
  }
  return out;
}

/** Input names whose value or digest differs between the two plans of a resource. */
function changedInputs(before: PlanResource, after: PlanResource): string[] {
  const differs = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !same(a[k], b[k]));
  return [
    ...new Set([...differs(before.inputs, after.inputs), ...differs(before.otherInputs, after.otherInputs)]),
  ];
}

/** What `pulumi up` will do about a changed resource: the inputs that make the provider replace it, if any. */
function replacementOf(before: PlanResource, after: PlanResource): string[] | "unknown type" {
  if (!isClassified(after.type)) return "unknown type";
  return replaceTriggers(after.type, changedInputs(before, after), after.inputs);
}

interface Reach {
  protocol: string;
  from: number;
  to: number;
  cidr: string;
  text: string;
}

/** Each (ports, source CIDR) pair a public item admits. */
function reach(item: PublicItem): Reach[] {
  return item.reachableFrom.flatMap((r: IngressRule) => {
    const m = /^(\d+)(?:-(\d+))?\/(\S+)$/.exec(r.ports);
    const [protocol, from, to] = m ? [m[3], Number(m[1]), Number(m[2] ?? m[1])] : ["all", 0, 65535];
    return r.cidrs.map((cidr) => ({ protocol, from, to, cidr, text: `${r.ports} from ${cidr}` }));
  });
}

/** Whether every address of `inner` is in `outer` (IPv6: only ::/0 and equality are recognised). */
export function cidrCovers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (outer.includes(":") || inner.includes(":")) {
    return outer.includes(":") && inner.includes(":") && outer === "::/0";
  }
  return cidrContains(outer, inner);
}

const covers = (outer: Reach, inner: Reach) =>
  (outer.protocol === "all" || outer.protocol === inner.protocol) &&
  outer.from <= inner.from &&
  outer.to >= inner.to &&
  cidrCovers(outer.cidr, inner.cidr);

function costLineText(l: CostLine | undefined): string {
  return l === undefined ? "—" : l.usd === null ? "unpriced" : money(l.usd);
}

/** The name in a `<type> <name>` id, as code. */
const named = (id: string) => code(id.slice(id.indexOf(" ") + 1));

/** Exposure changes, first and prominent: what is newly open (alerts) and what closed (relief). */
function exposureChanges(base: PlanDocument, head: PlanDocument): { alerts: string[]; relief: string[] } {
  const basePublic = new Map(base.summary.public.map((p) => [p.resource, p]));
  const headPublic = new Map(head.summary.public.map((p) => [p.resource, p]));
  const alerts: string[] = [];
  const relief: string[] = [];
  for (const [id, p] of headPublic) {
    const was = basePublic.get(id);
    if (!was) alerts.push(`> ⚠️ **Newly public:** ${p.kind} ${named(id)}: ${p.why}`);
    else publicItemChanges(id, was, p, alerts, relief);
  }
  for (const [id, p] of basePublic) {
    if (!headPublic.has(id)) relief.push(`> ✅ **No longer public:** ${p.kind} ${named(id)}`);
  }
  // Plain HTTP turned on (server.allowPlainHttp): as prominent as a new opening.
  for (const w of head.summary.warnings ?? []) {
    if (!(base.summary.warnings ?? []).includes(w)) alerts.push(`> ⚠️ **Warning:** ${w}`);
  }
  for (const w of base.summary.warnings ?? []) {
    if (!(head.summary.warnings ?? []).includes(w)) relief.push(`> ✅ **Resolved:** ${w}`);
  }
  const baseEgress = new Set(base.summary.egressOnly.map((e) => e.resource));
  const headEgress = new Set(head.summary.egressOnly.map((e) => e.resource));
  for (const e of head.summary.egressOnly) {
    if (!baseEgress.has(e.resource)) alerts.push(`> ⚠️ **New internet egress:** ${e.why}`);
  }
  for (const e of base.summary.egressOnly) {
    if (!headEgress.has(e.resource)) relief.push(`> ✅ **Egress removed:** ${code(e.resource)}`);
  }
  return { alerts, relief };
}

/** How a resource public in both plans changed: new openings, closed ones, listeners, or just its wording. */
function publicItemChanges(
  id: string,
  was: PublicItem,
  p: PublicItem,
  alerts: string[],
  relief: string[],
): void {
  // Only what no former rule admitted is new; narrowing a range is a reduction, not an opening.
  const [before, after] = [reach(was), reach(p)];
  const opened = after.filter((a) => !before.some((b) => covers(b, a))).map((a) => a.text);
  const closed = before.filter((b) => !after.some((a) => covers(a, b))).map((b) => b.text);
  if (opened.length > 0)
    alerts.push(`> ⚠️ **Newly reachable from the internet:** ${p.kind} ${named(id)}: ${opened.join("; ")}`);
  if (closed.length > 0) {
    const now = after.map((a) => a.text).join("; ") || "nothing from public addresses";
    relief.push(
      `> ✅ **Exposure reduced:** ${p.kind} ${named(id)}: no longer ${closed.join("; ")} (now: ${now})`,
    );
  }
  if (!same(was.listeners, p.listeners))
    alerts.push(
      `> ⚠️ **Listeners changed:** ${p.kind} ${named(id)}: ${(was.listeners ?? []).join(", ") || "none"} → ${(p.listeners ?? []).join(", ") || "none"}`,
    );
  if (opened.length === 0 && closed.length === 0 && same(was.listeners, p.listeners) && was.why !== p.why)
    alerts.push(`> ⚠️ **Exposure changed:** ${p.kind} ${named(id)}: ${was.why} → ${p.why}`);
}

/** The monthly cost headline: unchanged, or before → after with the change and any class change. */
function costHeadline(bc: CostEstimate, hc: CostEstimate): string {
  if (bc.totalUsd === hc.totalUsd && bc.costClass === hc.costClass) {
    return `- **Monthly cost:** ${money(hc.totalUsd)} (${hc.costClass}), unchanged`;
  }
  const delta = Math.round((hc.totalUsd - bc.totalUsd) * 100) / 100;
  const classChange =
    bc.costClass === hc.costClass ? ` (${hc.costClass})` : `; **class ${bc.costClass} → ${hc.costClass}**`;
  return `- **Monthly cost:** ${money(bc.totalUsd)} → ${money(hc.totalUsd)} (${signed(delta)})${classChange}`;
}

interface ResourceDiff {
  added: PlanResource[];
  removed: PlanResource[];
  /** In both plans with different inputs or settings; `base` is the resource in the base plan. */
  changed: { r: PlanResource; base: PlanResource; changes: string[] }[];
}

function resourceDiff(base: PlanDocument, head: PlanDocument): ResourceDiff {
  const baseById = new Map(base.resources.map((r) => [identity(r), r]));
  const headById = new Map(head.resources.map((r) => [identity(r), r]));
  return {
    added: head.resources.filter((r) => !baseById.has(identity(r))),
    removed: base.resources.filter((r) => !headById.has(identity(r))),
    changed: head.resources
      .filter((r) => baseById.has(identity(r)))
      .map((r) => {
        const was = baseById.get(identity(r)) as PlanResource;
        return { r, base: was, changes: resourceChanges(was, r) };
      })
      .filter((c) => c.changes.length > 0),
  };
}

/** Added, removed, replaced and updated resources, each a section when not empty. */
function resourceSections({ added, removed, changed }: ResourceDiff): string[] {
  const out: string[] = [];
  if (added.length > 0) {
    out.push(`#### Added (${added.length})`, "");
    for (const r of added) out.push(`- ${label(r)}${flags(r)}${keyInputs(r)}`);
    out.push("");
  }
  if (removed.length > 0) {
    out.push(`#### Removed (${removed.length})`, "");
    for (const r of removed) out.push(`- ${label(r)}${flags(r)}`);
    out.push("");
  }
  // Replacements apart from updates: a replaced resource is deleted and created again (stateful ones lose data).
  const withReplacement = changed.map((c) => ({ ...c, triggers: replacementOf(c.base, c.r) }));
  const replaced = withReplacement.filter((c) => c.triggers === "unknown type" || c.triggers.length > 0);
  const updated = withReplacement.filter((c) => !replaced.includes(c));
  if (replaced.length > 0) {
    out.push(`#### Replaced (${replaced.length})`, "");
    for (const { r, changes, triggers } of replaced) {
      const why =
        triggers === "unknown type"
          ? "no replace-triggering inputs known for this type"
          : triggers.join(", ");
      const stateful = STATEFUL_TYPES.has(r.type) ? " ⚠️ **stateful: its data goes with it**" : "";
      out.push(
        `- ${label(r)}${flags(r)}, replaced because of ${why}${stateful}`,
        ...changes.map((c) => `  - ${c}`),
      );
    }
    out.push("");
  }
  if (updated.length > 0) {
    out.push(`#### Updated in place (${updated.length})`, "");
    for (const { r, changes } of updated)
      out.push(`- ${label(r)}${flags(r)}`, ...changes.map((c) => `  - ${c}`));
    out.push("");
  }
  return out;
}

/** The cost lines that differ, as table rows. */
function costRows(bc: CostEstimate, hc: CostEstimate): string[] {
  const baseLines = new Map(bc.lines.map((l) => [l.key, l]));
  const headLines = new Map(hc.lines.map((l) => [l.key, l]));
  const lineKeys = [...new Set([...bc.lines.map((l) => l.key), ...hc.lines.map((l) => l.key)])];
  return lineKeys
    .filter((k) => !same(baseLines.get(k), headLines.get(k)))
    .map((k) => {
      const [b, h] = [baseLines.get(k), headLines.get(k)];
      const item = b && h && b.item !== h.item ? `${b.item} → ${h.item}` : ((h ?? b)?.item ?? k);
      return `| ${cell(item)} | ${costLineText(b)} | ${costLineText(h)} |`;
    });
}

function costSection(bc: CostEstimate, hc: CostEstimate, rows: string[]): string[] {
  if (rows.length === 0) return [];
  const out = [
    `#### Monthly cost (${hc.basis})`,
    "",
    "| item | before | after |",
    "| --- | ---: | ---: |",
    ...rows,
    `| **total** | **${money(bc.totalUsd)}** | **${money(hc.totalUsd)}** |`,
    "",
  ];
  const newUnpriced = hc.unpriced.filter((u) => !bc.unpriced.includes(u));
  if (newUnpriced.length > 0) out.push(`Newly unpriced (not in the total): ${newUnpriced.join("; ")}`, "");
  return out;
}

/** "- `type`: 2 → 3" for each type whose count changed. */
function typeCountChanges(base: PlanSummary, head: PlanSummary): string[] {
  const types = [
    ...new Set([...Object.keys(base.resourcesByType), ...Object.keys(head.resourcesByType)]),
  ].sort(compare);
  return types
    .filter((t) => base.resourcesByType[t] !== head.resourcesByType[t])
    .map((t) => `- ${code(t)}: ${base.resourcesByType[t] ?? 0} → ${head.resourcesByType[t] ?? 0}`);
}

/** The document keys that differ, for a diff that no section named (e.g. a new price basis). */
function otherDifferences(base: PlanDocument, head: PlanDocument): string {
  const keys = (["formatVersion", "stack", "outputs"] as const).filter((k) => !same(base[k], head[k]));
  const summaryKeys = Object.keys(head.summary).filter(
    (k) => !same(base.summary[k as keyof typeof base.summary], head.summary[k as keyof typeof head.summary]),
  );
  return `Other differences: ${[...keys, ...summaryKeys.map((k) => `summary.${k}`)].join(", ")}`;
}

/** The Markdown report comparing two plan documents. */
export function diffPlans(base: PlanDocument, head: PlanDocument): string {
  const title =
    base.stack === head.stack
      ? `### Offline plan: ${code(head.stack)}`
      : `### Offline plan: ${code(base.stack)} → ${code(head.stack)}`;
  if (same(base, head)) return `${title}\n\nNo changes.\n`;

  const out: string[] = [title, ""];
  const { alerts, relief } = exposureChanges(base, head);
  if (alerts.length > 0 || relief.length > 0)
    out.push(...[...alerts, ...relief].flatMap((l) => [l, ">"]).slice(0, -1), "");

  // ---- headline numbers ----
  const [bc, hc] = [base.summary.cost, head.summary.cost];
  out.push(costHeadline(bc, hc));
  const resources = resourceDiff(base, head);
  const { added, removed, changed } = resources;
  out.push(
    `- **Resources:** ${added.length} added, ${removed.length} removed, ${changed.length} changed ` +
      `(${base.summary.resourceCount} → ${head.summary.resourceCount} resources)`,
    "",
  );
  out.push(...resourceSections(resources));

  // ---- outputs ----
  const outputKeys = [...new Set([...Object.keys(base.outputs), ...Object.keys(head.outputs)])].sort(compare);
  const outputChanges = outputKeys
    .filter((k) => !same(base.outputs[k], head.outputs[k]))
    .map((k) => `- ${code(k)}: ${json(base.outputs[k])} → ${json(head.outputs[k])}`);
  if (outputChanges.length > 0)
    out.push(`#### Outputs changed (${outputChanges.length})`, "", ...outputChanges, "");

  // ---- summary ----
  const rows = costRows(bc, hc);
  out.push(...costSection(bc, hc, rows));
  const typeChanges = typeCountChanges(base.summary, head.summary);
  if (typeChanges.length > 0) {
    out.push(
      `<details><summary>Resources by type (${typeChanges.length} changed)</summary>`,
      "",
      ...typeChanges,
      "",
      "</details>",
      "",
    );
  }
  const privateAdded = head.summary.notPublic.filter((n) => !base.summary.notPublic.includes(n));
  const privateGone = base.summary.notPublic.filter((n) => !head.summary.notPublic.includes(n));
  if (privateAdded.length > 0 || privateGone.length > 0) {
    out.push(
      "#### Not public (checked)",
      "",
      ...privateAdded.map((n) => `- new: ${n}`),
      ...privateGone.map((n) => `- gone: ${n}`),
      "",
    );
  }

  // Anything the sections above did not name (e.g. a new price basis) still shows.
  const mentioned = [
    alerts,
    relief,
    added,
    removed,
    changed,
    outputChanges,
    rows,
    typeChanges,
    privateAdded,
    privateGone,
  ];
  if (mentioned.every((list) => list.length === 0)) out.push(otherDifferences(base, head), "");
  return out.join("\n");
}

/** A plan from before `--json` had a format version and a summary (a base commit older than plan:diff). */
export class OlderPlanFormat extends Error {
  constructor(
    readonly file: string,
    readonly stack: string,
  ) {
    super(`${file} is a plan of an older format (no formatVersion, no summary)`);
  }
}

/** Reads a plan document; throws with a clear message when the file is unreadable or not a plan. */
export function readPlan(file: string): PlanDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  const d = doc as Partial<PlanDocument> | null;
  if (
    d &&
    typeof d === "object" &&
    typeof d.stack === "string" &&
    Array.isArray(d.resources) &&
    !d.formatVersion
  ) {
    throw new OlderPlanFormat(file, d.stack);
  }
  if (
    !d ||
    typeof d !== "object" ||
    typeof d.stack !== "string" ||
    !Array.isArray(d.resources) ||
    typeof d.outputs !== "object" ||
    typeof d.summary?.cost?.totalUsd !== "number" ||
    !Array.isArray(d.summary.public)
  ) {
    throw new Error(
      `${file} is not a plan document (make one with: npm run plan --silent -- --stack <name> --json)`,
    );
  }
  return d as PlanDocument;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    if (args.length !== 2) throw new Error("usage: npm run plan:diff --silent -- <base.json> <head.json>");
    process.stdout.write(diffPlans(readPlan(args[0]), readPlan(args[1])));
    process.exit(0);
  } catch (error) {
    if (error instanceof OlderPlanFormat) {
      // Readable, not comparable: say so in the report instead of failing the check.
      process.stdout.write(
        `### Offline plan: ${code(error.stack)}\n\n${code(error.file)} is a plan of an older format ` +
          "(before `plan --json` had a summary): no diff.\n",
      );
      process.exit(0);
    }
    console.error(`error: ${(error as Error).message}`);
    process.exit(2);
  }
}
