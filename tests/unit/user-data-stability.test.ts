// The EC2 user data must be the same bytes wherever `pulumi up` runs: the instance has
// userDataReplaceOnChange, so one changed byte (an OS id in the gzip header, another deflate) replaces the
// server on a no-op up. The fixture is a cloud-config rendered once and committed, so that this golden hash
// moves only when the compression does, not whenever a server/ file changes.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { USER_DATA_GZIP_HEADER, compressUserData, stableGzip } from "../../server/render";

const FIXTURE = fs
  .readFileSync(path.join(__dirname, "fixtures", "cloud-config.golden.txt"), "utf8")
  .replace(/\r\n/g, "\n"); // a CRLF checkout must not move the hash
// Measured identical with Node 20.20.2 and 24.22.3 (fflate 0.8.3, level 9, mem 8).
const GOLDEN_SHA256 = "532dd694702e3fb771b2090fbc1e579d5e5e54f8264a4e6e05e431d481de3419";
const GOLDEN_LENGTH = 11624;

const compressed = () => Buffer.from(compressUserData(FIXTURE), "base64");

test("the fixture's compressed user data has the committed sha256", () => {
  expect(FIXTURE.startsWith("#cloud-config\n")).toBe(true);
  expect(compressed().length).toBe(GOLDEN_LENGTH);
  expect(crypto.createHash("sha256").update(compressed()).digest("hex")).toBe(GOLDEN_SHA256);
});

test("gzip header: deflate, no flags, mtime 0, maximum compression, OS unknown (never the build machine's)", () => {
  expect([...compressed().subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
  expect(USER_DATA_GZIP_HEADER).toEqual([...compressed().subarray(0, 10)]);
});

test("decompresses to the cloud-config, checksum and length verified (Node's zlib and Python's gzip)", () => {
  expect(zlib.gunzipSync(compressed()).toString("utf8")).toBe(FIXTURE);
  // cloud-init decompresses user data with Python's gzip module.
  const python = spawnSync(
    "python3",
    ["-c", "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"],
    { input: compressed(), maxBuffer: 1 << 20 },
  );
  expect(python.stderr.toString()).toBe("");
  expect(python.stdout.toString("utf8")).toBe(FIXTURE);
});

test("stableGzip: empty and binary inputs round-trip with a correct CRC-32 and size", () => {
  for (const input of [Buffer.alloc(0), crypto.randomBytes(70_000), Buffer.from("a".repeat(100_000))]) {
    const out = stableGzip(input);
    expect(zlib.gunzipSync(out).equals(input)).toBe(true);
    expect(out.readUInt32LE(out.length - 4)).toBe(input.length);
    expect(out.equals(stableGzip(input))).toBe(true);
  }
});
