// `npm run bench:plan`: evaluates every shipped and example stack offline, each in a fresh process, and prints
// wall time and peak memory per stack. Targets on a 2-core machine: < 1.5 s and < 400 MB per stack.
import { spawnSync } from "child_process";
import * as path from "path";
import { fileVariants } from "./offline/stackFiles";

const ROOT = path.resolve(__dirname, "..");
const TARGET_SECONDS = 1.5;
const TARGET_MB = 400;
const runs = Number(process.env.BENCH_RUNS ?? 3);

const rows: string[] = [];
let missed = 0;
for (const variant of fileVariants()) {
  const times: number[] = [];
  let peakMb = 0;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const child = spawnSync(
      process.execPath,
      [
        "-r",
        "./scripts/ts-register.js",
        "scripts/plan.ts",
        "--config-file",
        variant.id,
        "--stack",
        variant.stack,
        "--json",
      ],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, PLAN_REPORT_USAGE: "1" } },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (child.status !== 0) throw new Error(`${variant.id}: plan failed\n${child.stderr}`);
    const usage = /maxRssKb=(\d+)/.exec(child.stderr);
    peakMb = Math.max(peakMb, usage ? Number(usage[1]) / 1024 : NaN);
    times.push(seconds);
  }
  const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const ok = median < TARGET_SECONDS && peakMb < TARGET_MB;
  if (!ok) missed++;
  rows.push(
    `${variant.id.padEnd(36)} ${median.toFixed(2).padStart(6)} s ${peakMb.toFixed(0).padStart(6)} MB  ${ok ? "ok" : "OVER TARGET"}`,
  );
}
console.log(`stack file                            wall(median of ${runs})   peak RSS`);
for (const row of rows) console.log(row);
console.log(`targets: < ${TARGET_SECONDS} s and < ${TARGET_MB} MB per stack; ${missed} over`);
