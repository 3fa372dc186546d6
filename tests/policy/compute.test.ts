import { gzipSync } from "zlib";
import type * as rds from "@pulumi/aws/rds";
import type * as ec2 from "@pulumi/aws/ec2";
import type * as vpc from "@pulumi/aws/vpc";
import { ec2Policies, rdsPolicies, securityGroupPolicies } from "../../policy/rules";
import { inputs, policyNames, runPolicies, TestResource } from "./support";

const DB = "aws:rds/instance:Instance";

function database(props: Partial<rds.InstanceArgs> = {}, name = "db"): TestResource {
  return {
    type: DB,
    name,
    props: {
      ...inputs<rds.InstanceArgs>({
        engine: "postgres",
        instanceClass: "db.t4g.micro",
        storageEncrypted: true,
        publiclyAccessible: false,
        backupRetentionPeriod: 7,
        deletionProtection: false,
        skipFinalSnapshot: true,
      }),
      ...(props as Record<string, unknown>),
    },
  };
}

const protectedDb = {
  deletionProtection: true,
  skipFinalSnapshot: false,
  finalSnapshotIdentifier: "db-final",
};

describe("RDS policies", () => {
  it("accept the dev database", async () => {
    expect(await runPolicies(rdsPolicies, [database()])).toEqual([]);
  });

  it.each([
    ["rds-not-publicly-accessible", { publiclyAccessible: true }, /publiclyAccessible: false/],
    ["rds-storage-encrypted", { storageEncrypted: false }, /storageEncrypted: true/],
    ["rds-backups-enabled", { backupRetentionPeriod: 0 }, /backupRetentionPeriod to 1 or more/],
    ["rds-backups-enabled", { backupRetentionPeriod: undefined }, /backupRetentionPeriod/],
  ])("%s (%j)", async (policy, props, message) => {
    const v = await runPolicies(rdsPolicies, [database(props as Partial<rds.InstanceArgs>)]);
    expect(policyNames(v)).toEqual([policy]);
    expect(v[0].message).toMatch(message);
  });

  describe("rds-prod-deletion-protection", () => {
    it("is off by default on other stacks", async () => {
      expect(await runPolicies(rdsPolicies, [database()], { stack: "dev" })).toEqual([]);
    });

    it("applies on a stack named prod", async () => {
      const v = await runPolicies(rdsPolicies, [database()], { stack: "prod" });
      expect(policyNames(v)).toEqual(["rds-prod-deletion-protection"]);
      expect(v[0].message).toMatch(
        /deletionProtection: true, skipFinalSnapshot: false, a finalSnapshotIdentifier/,
      );
      expect(await runPolicies(rdsPolicies, [database(protectedDb)], { stack: "prod" })).toEqual([]);
    });

    it("applies everywhere with requireDeletionProtection, and follows protectedStacks", async () => {
      const config = { "rds-prod-deletion-protection": { requireDeletionProtection: true } };
      expect(policyNames(await runPolicies(rdsPolicies, [database()], { stack: "dev", config }))).toEqual([
        "rds-prod-deletion-protection",
      ]);
      const custom = { "rds-prod-deletion-protection": { protectedStacks: ["live"] } };
      expect(await runPolicies(rdsPolicies, [database()], { stack: "prod", config: custom })).toEqual([]);
      expect(
        policyNames(await runPolicies(rdsPolicies, [database()], { stack: "live", config: custom })),
      ).toEqual(["rds-prod-deletion-protection"]);
    });

    it("needs the final snapshot identifier too", async () => {
      const v = await runPolicies(
        rdsPolicies,
        [database({ ...protectedDb, finalSnapshotIdentifier: undefined })],
        {
          stack: "prod",
        },
      );
      expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/set a finalSnapshotIdentifier/)]);
    });
  });
});

const SG = "aws:ec2/securityGroup:SecurityGroup";
const RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";

function group(ingress: ec2.SecurityGroupArgs["ingress"], name = "server"): TestResource {
  return {
    type: SG,
    name,
    props: inputs<ec2.SecurityGroupArgs>({
      vpcId: "vpc-1",
      ingress: ingress as never,
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
    }),
  };
}

describe("security group policies", () => {
  it("accept the program's groups: HTTP(S) from anywhere, PostgreSQL from the server group", async () => {
    const v = await runPolicies(securityGroupPolicies, [
      group([
        {
          description: "HTTP to nginx",
          protocol: "tcp",
          fromPort: 80,
          toPort: 80,
          cidrBlocks: ["0.0.0.0/0"],
        },
        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
        { protocol: "tcp", fromPort: 5000, toPort: 5000, cidrBlocks: ["10.0.0.0/16"] },
      ]),
      group([], "db"),
      {
        type: INGRESS,
        name: "db-from-server",
        props: inputs<vpc.SecurityGroupIngressRuleArgs>({
          securityGroupId: "sg-db",
          ipProtocol: "tcp",
          fromPort: 5432,
          toPort: 5432,
          referencedSecurityGroupId: "sg-server",
        }),
      },
      { type: DEFAULT_SG, name: "default", props: inputs<ec2.DefaultSecurityGroupArgs>({ vpcId: "vpc-1" }) },
      {
        type: RULE,
        name: "egress",
        props: inputs<ec2.SecurityGroupRuleArgs>({
          type: "egress",
          securityGroupId: "sg",
          protocol: "-1",
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ["0.0.0.0/0"],
        }),
      },
    ]);
    expect(v).toEqual([]);
  });

  it("sg-no-world-admin-ports: SSH, RDP and PostgreSQL to the world, in every resource shape", async () => {
    const v = await runPolicies(securityGroupPolicies, [
      group([{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }], "ssh"),
      {
        type: RULE,
        name: "rdp",
        props: inputs<ec2.SecurityGroupRuleArgs>({
          type: "ingress",
          securityGroupId: "sg",
          protocol: "tcp",
          fromPort: 3389,
          toPort: 3389,
          ipv6CidrBlocks: ["::/0"],
        }),
      },
      {
        type: INGRESS,
        name: "pg",
        props: inputs<vpc.SecurityGroupIngressRuleArgs>({
          securityGroupId: "sg",
          ipProtocol: "tcp",
          fromPort: 5432,
          toPort: 5432,
          cidrIpv4: "0.0.0.0/0",
        }),
      },
      // A range that includes 22 counts.
      group([{ protocol: "tcp", fromPort: 0, toPort: 1024, cidrBlocks: ["0.0.0.0/0"] }], "range"),
    ]);
    const admin = v.filter((x) => x.policy === "sg-no-world-admin-ports");
    expect(admin.map((x) => x.urn?.split("::").pop())).toEqual(["ssh", "rdp", "pg", "range"]);
    expect(admin[0].message).toMatch(/port 22 .*SSM Session Manager/);
    expect(admin[2].message).toMatch(/security group/);
  });

  it("sg-world-only-http-https: any other port or protocol open to the world", async () => {
    const v = await runPolicies(securityGroupPolicies, [
      group([{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }], "all"),
      group([{ protocol: "tcp", fromPort: 5000, toPort: 5000, cidrBlocks: ["0.0.0.0/0"] }], "mlflow"),
      group([{ protocol: "tcp", fromPort: 80, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }], "range"),
      group([{ protocol: "udp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }], "udp"),
      {
        type: INGRESS,
        name: "icmp",
        props: inputs<vpc.SecurityGroupIngressRuleArgs>({
          securityGroupId: "sg",
          ipProtocol: "icmp",
          fromPort: -1,
          toPort: -1,
          cidrIpv6: "::/0",
        }),
      },
      group(
        [{ protocol: "tcp", fromPort: 5000, toPort: 5000, cidrBlocks: ["203.0.113.0/24"] }],
        "restricted",
      ),
    ]);
    const world = v.filter((x) => x.policy === "sg-world-only-http-https");
    expect(world.map((x) => x.urn?.split("::").pop())).toEqual(["all", "mlflow", "range", "udp", "icmp"]);
    expect(world[1].message).toMatch(/tcp 5000 to 0\.0\.0\.0\/0/);
  });

  it("sg-postgres-from-security-groups-only: CIDR or prefix-list sources on 5432 (or all ports)", async () => {
    const v = await runPolicies(securityGroupPolicies, [
      group([{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"] }], "cidr"),
      group([{ protocol: "-1", fromPort: 0, toPort: 0, prefixListIds: ["pl-1"] }], "all-from-prefix-list"),
      group([{ protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: ["sg-server"] }], "from-group"),
      group([{ protocol: "tcp", fromPort: 5432, toPort: 5432, self: true }], "self"),
    ]);
    expect(
      v
        .filter((x) => x.policy === "sg-postgres-from-security-groups-only")
        .map((x) => x.urn?.split("::").pop()),
    ).toEqual(["cidr", "all-from-prefix-list"]);
  });
});

const INSTANCE = "aws:ec2/instance:Instance";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";

const cloudConfig = [
  "#cloud-config",
  "write_files:",
  "  - path: /etc/mlflow/env",
  "    content: |",
  "      MLFLOW_BACKEND_STORE_URI_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-uri-AbCdEf",
  "      MLFLOW_AUTH_ADMIN_PASSWORD_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin-AbCdEf",
  "  - path: /opt/mlflow/start.sh",
  "    content: |",
  "      #   MLFLOW_BACKEND_STORE_URI        postgresql://user:pass@host:5432/db          (secret)",
  '      SECRET_NAMES="MLFLOW_BACKEND_STORE_URI MLFLOW_AUTH_ADMIN_PASSWORD"',
  "      token=$(curl -sX PUT http://169.254.169.254/latest/api/token)",
  '      secret = client.get_secret_value(SecretId=arn)["SecretString"]',
  "runcmd: [systemctl, start, mlflow]",
].join("\n");

function instance(props: Partial<ec2.InstanceArgs> = {}): TestResource {
  return {
    type: INSTANCE,
    name: "server",
    props: {
      ...inputs<ec2.InstanceArgs>({
        ami: "ami-1",
        instanceType: "t4g.small",
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 20 },
        userData: cloudConfig,
      }),
      ...(props as Record<string, unknown>),
    },
  };
}

function launchTemplate(props: Partial<ec2.LaunchTemplateArgs> = {}): TestResource {
  return {
    type: LT,
    name: "server",
    props: {
      ...inputs<ec2.LaunchTemplateArgs>({
        metadataOptions: { httpTokens: "required" },
        blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "true", volumeSize: 20 } }],
        userData: Buffer.from(cloudConfig).toString("base64"),
      }),
      ...(props as Record<string, unknown>),
    },
  };
}

describe("EC2 policies", () => {
  it("accept the program's instance and an equivalent launch template (secrets referenced by ARN only)", async () => {
    expect(await runPolicies(ec2Policies, [instance(), launchTemplate()])).toEqual([]);
  });

  it("ec2-imdsv2-required", async () => {
    const v = await runPolicies(ec2Policies, [
      instance({ metadataOptions: { httpTokens: "optional" } }),
      launchTemplate({ metadataOptions: undefined }),
    ]);
    expect(v.map((x) => x.policy)).toEqual(["ec2-imdsv2-required", "ec2-imdsv2-required"]);
    expect(v[0].message).toMatch(/httpTokens: "required"/);
  });

  it("ec2-volumes-encrypted", async () => {
    const v = await runPolicies(ec2Policies, [
      instance({ rootBlockDevice: { volumeSize: 20 } }),
      instance({ ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }] }),
      launchTemplate({ blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "false" } }] }),
      launchTemplate({ blockDeviceMappings: undefined }),
    ]);
    expect(v.map((x) => x.policy)).toEqual(Array(4).fill("ec2-volumes-encrypted"));
    expect(v[0].message).toMatch(/rootBlockDevice: \{encrypted: true\}/);
  });

  it.each([
    ["a password assignment", "ADMIN_PASSWORD=hunter2hunter2"],
    ["a credential URI", "MLFLOW_BACKEND_STORE_URI=postgresql://mlflow:S3cr3tP4ss@db.internal:5432/mlflow"],
    ["an AWS access key", "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE"],
    [
      "an Azure account key",
      "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=bXlrZXlteWtleW15a2V5bXlrZXk=;",
    ],
    ["a YAML secret", "secret_key: 'f00ba7f00ba7'"],
  ])("ec2-user-data-no-secrets: %s (plain, base64 and gzip)", async (_what, line) => {
    const text = `${cloudConfig}\n${line}\n`;
    const v = await runPolicies(ec2Policies, [
      instance({ userData: text }),
      launchTemplate({ userData: Buffer.from(text).toString("base64") }),
      instance({ userData: undefined, userDataBase64: gzipSync(Buffer.from(text)).toString("base64") }),
    ]);
    expect(v.map((x) => x.policy)).toEqual(Array(3).fill("ec2-user-data-no-secrets"));
    expect(v[0].message).toMatch(/Secrets Manager/);
  });
});
