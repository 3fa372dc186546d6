// The server image: the same pinned files the EC2 mode installs, built by `server/Dockerfile`, pushed to a
// private ECR repository under a tag derived from the files' content (an unchanged image is neither rebuilt
// nor redeployed; ECR tags are immutable, so one tag always means one image).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as ecr from "@pulumi/aws/ecr";
import * as dockerBuild from "@pulumi/docker-build";

export const SERVER_DIR = path.resolve(__dirname, "..", "..", "server");

/** The runtime files the EC2 mode installs (server/render.ts renderCloudInit) and the Dockerfile COPYs. */
export const SERVER_RUNTIME_FILES = ["requirements.txt", "start.sh", "runtime_helper.py"] as const;
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

/**
 * A content hash of the image's inputs: the Dockerfile, .dockerignore and the runtime files. `files` maps a
 * file name to its content (default: read from server/). Order-independent; names are part of the hash.
 */
export function imageContentHash(files?: Record<string, string | Buffer>): string {
  const contents =
    files ??
    Object.fromEntries(
      [...IMAGE_BUILD_FILES, ...SERVER_RUNTIME_FILES].map((f) => [
        f,
        fs.readFileSync(path.join(SERVER_DIR, f)),
      ]),
    );
  const hash = crypto.createHash("sha256");
  for (const name of Object.keys(contents).sort()) {
    const content = Buffer.isBuffer(contents[name]) ? contents[name] : Buffer.from(contents[name], "utf8");
    hash.update(`${name}\0${content.length}\0`);
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

  const contentHash = imageContentHash();
  const tag = imageTag(args.mlflowVersion, contentHash);
  const auth = ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, opts);
  const image = new dockerBuild.Image(
    `${name}-server`,
    {
      push: true,
      // Previews never need a Docker engine; `pulumi up` builds only when the context changed.
      buildOnPreview: false,
      // .dockerignore admits only the files hashed above, so the provider's own context hash changes
      // exactly when the tag does (a rebuild under an existing immutable tag would fail the push).
      context: { location: SERVER_DIR },
      dockerfile: { location: path.join(SERVER_DIR, "Dockerfile") },
      // Fargate runs X86_64 (see the task definition); building on an arm64 laptop still yields amd64.
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
