// Server instances: IMDSv2 required, encrypted volumes, no secret in user data (DESIGN.md "Server", "No secret").
import { gunzipSync } from "zlib";
import { asArray, asString, describe, dig, findSecrets, resourcePolicy } from "./util";

export const EC2_INSTANCE = "aws:ec2/instance:Instance";
export const EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

export const ec2Imdsv2Required = resourcePolicy(
  {
    name: "ec2-imdsv2-required",
    description: 'EC2 instances and launch templates require IMDSv2 (metadataOptions.httpTokens "required").',
    types: [EC2_INSTANCE, EC2_LAUNCH_TEMPLATE],
  },
  (props, args, report) => {
    const tokens = dig(props.metadataOptions, "httpTokens");
    if (tokens !== "required") {
      report(
        `${describe(args)} allows IMDSv1 (httpTokens ${String(tokens)}): set metadataOptions: {httpTokens: "required"}.`,
      );
    }
  },
);

export const ec2VolumesEncrypted = resourcePolicy(
  {
    name: "ec2-volumes-encrypted",
    description:
      'EC2 instances encrypt their root and EBS volumes; launch templates map their volumes with ebs.encrypted "true".',
    types: [EC2_INSTANCE, EC2_LAUNCH_TEMPLATE],
  },
  (props, args, report) => {
    if (args.type === EC2_INSTANCE) {
      if (dig(props.rootBlockDevice, "encrypted") !== true) {
        report(`${describe(args)} has an unencrypted root volume: set rootBlockDevice: {encrypted: true}.`);
      }
      const plain = asArray(props.ebsBlockDevices).filter((d) => dig(d, "encrypted") !== true);
      if (plain.length > 0) {
        report(
          `${describe(args)} has unencrypted EBS volumes: set encrypted: true on every ebsBlockDevices entry.`,
        );
      }
      return;
    }
    const ebs = asArray(props.blockDeviceMappings)
      .map((m) => dig(m, "ebs"))
      .filter((e) => e !== undefined);
    // LaunchTemplate's ebs.encrypted is a string ("true"); accept a boolean too.
    if (ebs.length === 0 || ebs.some((e) => String(dig(e, "encrypted")) !== "true")) {
      report(
        `${describe(args)} does not encrypt its volumes: map the root device in blockDeviceMappings with ebs: {encrypted: "true"} (and every other EBS mapping).`,
      );
    }
  },
);

/** The user data as text: plain, base64 (launch templates, userDataBase64) and gzip are decoded. */
export function userDataTexts(type: string, props: Record<string, unknown>): string[] {
  const texts: string[] = [];
  const plain = asString(props.userData);
  if (plain !== undefined) {
    texts.push(plain);
    if (type === EC2_LAUNCH_TEMPLATE) {
      texts.push(decodeBase64(plain));
    }
  }
  const b64 = asString(props.userDataBase64);
  if (b64 !== undefined) {
    texts.push(decodeBase64(b64));
  }
  return texts.filter((t) => t !== "");
}

function decodeBase64(value: string): string {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) {
    return "";
  }
  const bytes = Buffer.from(value, "base64");
  if (bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes).toString("utf8");
    } catch {
      return "";
    }
  }
  return bytes.toString("utf8");
}

export const ec2UserDataNoSecrets = resourcePolicy(
  {
    name: "ec2-user-data-no-secrets",
    description:
      "EC2 user data carries no secret (passwords, credential URIs, AWS keys, Azure account keys): the server reads them from Secrets Manager.",
    types: [EC2_INSTANCE, EC2_LAUNCH_TEMPLATE],
  },
  (props, args, report) => {
    const reasons = new Set(userDataTexts(args.type, props).flatMap(findSecrets));
    if (reasons.size > 0) {
      report(
        `${describe(args)} user data contains ${[...reasons].join(", ")}: store the value in AWS Secrets Manager and pass its ARN (X_SECRET_ARN) instead.`,
      );
    }
  },
);

export const ec2Policies = [ec2Imdsv2Required, ec2VolumesEncrypted, ec2UserDataNoSecrets];
