// Files that run on Linux (server/, shell scripts) keep LF line endings on every checkout, Windows with
// core.autocrlf=true included: a CRLF start.sh fails the container's ENTRYPOINT (`/usr/bin/env: 'bash\r'`)
// and changes the image tag and the EC2 user data.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../support/mockRuntime";

const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" });
const tracked = (...paths: string[]) =>
  git("ls-files", "-z", "--", ...paths)
    .split("\0")
    .filter(Boolean);

test("git checks out server/ files and shell scripts with LF whatever core.autocrlf says", () => {
  const files = [...tracked("server"), ...tracked("*.sh"), "server/start.sh", "server/Dockerfile"];
  expect(files.length).toBeGreaterThan(5);
  // `git check-attr -z` prints path NUL attribute NUL value NUL for each file.
  const fields = git("check-attr", "-z", "eol", "--", ...files).split("\0");
  const eol = new Map<string, string>();
  for (let i = 0; i + 2 < fields.length; i += 3) eol.set(fields[i], fields[i + 2]);
  const notLf = files.filter((f) => eol.get(f) !== "lf");
  expect(notLf).toEqual([]);
});

test("no tracked file under server/ contains a carriage return", () => {
  const withCr = tracked("server").filter((f) => fs.readFileSync(path.join(ROOT, f)).includes(0x0d));
  expect(withCr).toEqual([]);
});
