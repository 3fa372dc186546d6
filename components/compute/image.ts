// The server image: the same pinned files the EC2 mode installs, built by `server/Dockerfile`, pushed to a
// private ECR repository under a tag derived from the files' content (an unchanged image is neither rebuilt
// nor redeployed; ECR tags are immutable, so one tag always means one image).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as ecr from "@pulumi/aws/ecr";
import * as dockerBuild from "@pulumi/docker-build";
import { SERVER_DIR } from "../../server/packageRoot";

export { SERVER_DIR };
/**
 * The build context and Dockerfile as the image's inputs name them: a staged copy of the image's files
 * (stageBuildContext), relative to the project root, where Pulumi runs the program and the provider (the
 * program's working directory: the consumer's project when this package is a dependency, not the package). An
 * absolute path would differ per checkout, and docker-build rebuilds (under the same immutable tag) whenever
 * `context.location` or the Dockerfile differs from state. A staged copy, not server/ itself, so that the file
 * modes docker-build hashes are the same from every checkout (umask 002 makes them group-writable).
 */
export const BUILD_CONTEXT = ".build/server-image";
export const DOCKERFILE = `${BUILD_CONTEXT}/Dockerfile`;

/** The runtime files the EC2 mode installs (server/render.ts renderCloudInit) and the Dockerfile COPYs. */
export const SERVER_RUNTIME_FILES = [
  "requirements.txt",
  "start.sh",
  "runtime_helper.py",
  "rds-ca-bundle.pem",
] as const;
/** Files that shape the image besides the runtime files. */
export const IMAGE_BUILD_FILES = ["Dockerfile", ".dockerignore"] as const;

/** The sources of every COPY/ADD instruction of a Dockerfile, except copies between stages (`--from`). */
export function dockerfileCopySources(dockerfile: string): string[] {
  const sources: string[] = [];
  // Join continuation lines, drop comments.
  const lines = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const line of lines) {
    const match = /^(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!match) continue;
    let rest = match[2].trim();
    const flags: string[] = [];
    while (rest.startsWith("--")) {
      const [flag, ...tail] = rest.split(/\s+/);
      flags.push(flag);
      rest = tail.join(" ");
    }
    if (flags.some((f) => f.startsWith("--from="))) continue;
    const args = rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
    sources.push(...args.slice(0, -1));
  }
  return sources;
}

/** A file of the build context: its content and its mode as Go's `fs.FileMode.String()` prints it. */
export interface ContextFile {
  content: string | Buffer;
  mode?: string;
}

// POSIX st_mode bits (the same on Linux and macOS; Node's fs.constants lacks some of them on Windows).
const S_IFMT = 0o170000;
const FILE_TYPE = {
  dir: 0o040000,
  symlink: 0o120000,
  block: 0o060000,
  char: 0o020000,
  fifo: 0o010000,
  socket: 0o140000,
};
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/** Go's FileMode type letters in `String()` order ("dalTLDpSugct?"), as Go's os.Lstat sets them. */
const GO_MODE_LETTERS: [string, (mode: number) => boolean][] = [
  ["d", (m) => (m & S_IFMT) === FILE_TYPE.dir],
  ["L", (m) => (m & S_IFMT) === FILE_TYPE.symlink],
  ["D", (m) => (m & S_IFMT) === FILE_TYPE.block || (m & S_IFMT) === FILE_TYPE.char],
  ["p", (m) => (m & S_IFMT) === FILE_TYPE.fifo],
  ["S", (m) => (m & S_IFMT) === FILE_TYPE.socket],
  ["u", (m) => (m & S_ISUID) !== 0],
  ["g", (m) => (m & S_ISGID) !== 0],
  ["c", (m) => (m & S_IFMT) === FILE_TYPE.char],
  ["t", (m) => (m & S_ISVTX) !== 0],
];

/**
 * A POSIX `st_mode` as Go's `fs.FileMode.String()` prints it: "-rw-r--r--", "-rwxr-xr-x", "Lrwxrwxrwx".
 * On Windows fsutil (which docker-build walks the context with) reports every file as +x, at most 0755.
 */
export function goFileModeString(mode: number, platform: string = process.platform): string {
  const letters = GO_MODE_LETTERS.filter(([, test]) => test(mode)).map(([letter]) => letter);
  const bits = platform === "win32" ? (mode | 0o111) & 0o755 : mode;
  const permissions = [..."rwxrwxrwx"].map((c, i) => (bits & (1 << (8 - i)) ? c : "-")).join("");
  return (letters.join("") || "-") + permissions;
}

/** The hashed files of a build context directory (default: server/), with their modes (lstat, like Go). */
export function readBuildContext(dir: string = SERVER_DIR): Record<string, ContextFile> {
  return Object.fromEntries(
    [...IMAGE_BUILD_FILES, ...SERVER_RUNTIME_FILES].map((f) => {
      const file = path.join(dir, f);
      return [f, { content: fs.readFileSync(file), mode: goFileModeString(fs.lstatSync(file).mode) }];
    }),
  );
}

/** The mode every staged file gets: executable for shell scripts, read-only for group and others. */
export const contextFileMode = (file: string) => (file.endsWith(".sh") ? 0o755 : 0o644);

/** The files stageBuildContext writes, as docker-build hashes them, without writing them. */
export function stagedFiles(): Record<string, ContextFile> {
  return Object.fromEntries(
    [...IMAGE_BUILD_FILES, ...SERVER_RUNTIME_FILES].map((f) => [
      f,
      {
        content: fs.readFileSync(path.join(SERVER_DIR, f)),
        mode: goFileModeString(0o100000 | contextFileMode(f)),
      },
    ]),
  );
}

/**
 * Writes the build context: the image's files from server/, each with its fixed mode (contextFileMode) and
 * nothing else, from `serverDir` (default server/) into BUILD_CONTEXT under `root` (default: the working
 * directory, which is the Pulumi project's root). Each file is replaced atomically (write, chmod, rename), so
 * evaluations running side by side never see a half-written file. Returns the staged files as docker-build
 * will hash them.
 */
export function stageBuildContext(
  root: string = process.cwd(),
  serverDir: string = SERVER_DIR,
): Record<string, ContextFile> {
  const dir = path.join(root, BUILD_CONTEXT);
  const files: string[] = [...IMAGE_BUILD_FILES, ...SERVER_RUNTIME_FILES];
  fs.mkdirSync(dir, { recursive: true });
  for (const stray of fs.readdirSync(dir).filter((f) => !files.includes(f) && !f.includes(".staging-")))
    fs.rmSync(path.join(dir, stray), { recursive: true, force: true });
  for (const f of files) {
    const target = path.join(dir, f);
    const content = fs.readFileSync(path.join(serverDir, f));
    const current = fs.existsSync(target) ? fs.lstatSync(target) : undefined;
    const same =
      current?.isFile() &&
      (current.mode & 0o777) === contextFileMode(f) &&
      fs.readFileSync(target).equals(content);
    if (same) continue;
    const staging = `${target}.staging-${process.pid}`;
    fs.writeFileSync(staging, content);
    fs.chmodSync(staging, contextFileMode(f));
    fs.renameSync(staging, target);
  }
  return readBuildContext(dir);
}

/**
 * A content hash of the image's build context: the Dockerfile, .dockerignore and the runtime files (the only
 * files .dockerignore admits), by name, mode and content. `files` maps a file name to its content, or to its
 * content and mode (default: the staged context, stagedFiles). Order-independent.
 *
 * It covers everything docker-build's own context hash covers, so that whenever the provider sees a changed
 * context (and rebuilds and pushes) the tag is new too: ECR refuses a push to an existing immutable tag.
 * pulumi/pulumi-docker-build provider/internal/context.go `hashBuildContext`: sha256 over the Dockerfile's
 * content, then, for each regular file or symlink of the context left by .dockerignore (fsutil walk order),
 * `hashFile` writes its content, its slash-separated cleaned relative path and `fileMode.String()` (Go's
 * FileMode of an lstat: type letters and rwx bits, so 0644 -> 0664 or a lost +x is a change). The context
 * location and the Dockerfile are also compared with state in Diff (image.go): see BUILD_CONTEXT.
 */
export function imageContentHash(files?: Record<string, string | Buffer | ContextFile>): string {
  const entries = files ?? stagedFiles();
  const hash = crypto.createHash("sha256");
  for (const name of Object.keys(entries).sort()) {
    const entry = entries[name];
    const file = typeof entry === "string" || Buffer.isBuffer(entry) ? { content: entry } : entry;
    const content = Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content, "utf8");
    hash.update(`${name}\0${file.mode ?? ""}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest("hex");
}

/** `<mlflow version>-<first 16 hex of the content hash>`: readable, and unique per content. */
export function imageTag(mlflowVersion: string, contentHash: string): string {
  return `${mlflowVersion}-${contentHash.slice(0, 16)}`;
}

export interface ServerImageArgs {
  mlflowVersion: string;
  /** How many images the repository keeps (lifecycle policy). */
  retentionCount: number;
  protect: boolean;
  tags: Record<string, string>;
}

export interface ServerImage {
  repository: ecr.Repository;
  /** The content tag. */
  tag: string;
  /** `<repository url>:<tag>@<digest>`: what the task definition runs. */
  imageUri: pulumi.Output<string>;
}

/** A private ECR repository and the server image built from `server/` and pushed to it. */
export function buildServerImage(
  name: string,
  args: ServerImageArgs,
  opts: pulumi.CustomResourceOptions,
): ServerImage {
  const repository = new ecr.Repository(
    `${name}-server`,
    {
      // One tag, one image: a content tag can never be pointed at other content.
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      // The AWS-managed ECR key: no key to run, pulls need no extra permission.
      encryptionConfigurations: [{ encryptionType: "KMS" }],
      // Images are rebuilt from the repository's files; a protected stack keeps them anyway.
      forceDelete: !args.protect,
      tags: args.tags,
    },
    { ...opts, protect: args.protect },
  );
  new ecr.LifecyclePolicy(
    `${name}-server`,
    {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: `Keep the last ${args.retentionCount} images`,
            selection: {
              tagStatus: "any",
              countType: "imageCountMoreThan",
              countNumber: args.retentionCount,
            },
            action: { type: "expire" },
          },
        ],
      }),
    },
    opts,
  );

  const contentHash = imageContentHash(stageBuildContext());
  const tag = imageTag(args.mlflowVersion, contentHash);
  const auth = ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, opts);
  const image = new dockerBuild.Image(
    `${name}-server`,
    {
      push: true,
      // Previews never need a Docker engine; `pulumi up` builds only when the context changed.
      buildOnPreview: false,
      // The staged context holds only the files hashed above (content, name and fixed mode), so the
      // provider's own context hash changes only when the tag does (a rebuild under an existing immutable
      // tag fails the push). Relative paths and fixed modes: the same inputs from every checkout.
      context: { location: BUILD_CONTEXT },
      dockerfile: { location: DOCKERFILE },
      // Fargate runs X86_64 (see the task definition); building on an arm64 laptop still yields amd64.
      // One platform and the embedded builder (no `exec`), which turns buildx's default provenance off and
      // asks for no SBOM: each build pushes exactly one manifest, which is what the lifecycle rule counts.
      // (`exec: true` would run docker-buildx with its default provenance attestation: an index plus an
      // untagged attestation manifest per build, counted too.)
      platforms: ["linux/amd64"],
      tags: [pulumi.interpolate`${repository.repositoryUrl}:${tag}`],
      labels: {
        "org.opencontainers.image.title": "mlflow-tracking-server",
        "org.opencontainers.image.version": args.mlflowVersion,
        "org.opencontainers.image.revision": contentHash,
      },
      registries: [
        {
          address: repository.repositoryUrl.apply((url) => url.split("/")[0]),
          username: auth.userName,
          password: pulumi.secret(auth.password),
        },
      ],
    },
    opts,
  );
  return {
    repository,
    tag,
    imageUri: pulumi.interpolate`${repository.repositoryUrl}:${tag}@${image.digest}`,
  };
}
