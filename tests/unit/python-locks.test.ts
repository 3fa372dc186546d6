// The hash-locked Python requirements agree with the .in files they are compiled from (npm run lock:server),
// and the check is shown to catch each way they can drift apart.
import * as fs from "fs";
import * as path from "path";
import { PYTHON_LOCKS, ROOT, allLockDisagreements, lockDisagreements } from "../../scripts/python-locks";

const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");
const SERVER_IN = read("server/requirements.in");
const SERVER_LOCK = read("server/requirements.txt");

test.each(PYTHON_LOCKS)("$lock agrees with $input", ({ lock }) => {
  expect(allLockDisagreements()[lock]).toEqual([]);
});

describe("the check finds a lock that disagrees with its .in file", () => {
  const check = (input: string, lock = SERVER_LOCK) =>
    lockDisagreements("server/requirements.in", input, lock);

  test("a version changed in the .in file only", () => {
    const bumped = SERVER_IN.replace(/^mlflow\[auth\]==\S+/m, "mlflow[auth]==9.9.9");
    expect(bumped).not.toBe(SERVER_IN);
    expect(check(bumped)).toEqual([expect.stringMatching(/^mlflow: .*==9\.9\.9, the lock has /)]);
  });

  test("a requirement added to the .in file only", () => {
    expect(check(`${SERVER_IN}\nrequests-toolbelt==1.0.0\n`)).toEqual([
      "requests-toolbelt is in server/requirements.in but not locked",
    ]);
  });

  test("a requirement removed from the .in file only", () => {
    const without = SERVER_IN.replace(/^boto3==.*$/m, "");
    expect(check(without)).toEqual([expect.stringMatching(/^boto3 is locked as a requirement of /)]);
  });

  test("a pin without hashes, and a lock made with other options", () => {
    const unhashed = SERVER_LOCK.replace(/^(boto3==\S+) \\\n(\s+--hash=\S+( \\)?\n)+/m, "$1\n");
    expect(check(SERVER_IN, unhashed)).toEqual([expect.stringMatching(/^boto3==\S+ has no --hash$/)]);
    const otherFlags = SERVER_LOCK.replace(" --no-emit-find-links", "");
    expect(check(SERVER_IN, otherFlags)).toEqual([expect.stringMatching(/lacks --no-emit-find-links/)]);
  });
});
