// public-http-only-redirects: port 80 open to the world serves only the ACME challenge and a redirect.
import { gunzipSync, gzipSync } from "zlib";
import { publicHttpPolicies } from "../../policy/rules";
import {
  listensPublicly,
  nginxConfigsInCloudConfig,
  parseNginx,
  port80Problems,
  serverBlocks,
} from "../../policy/rules/nginx";
import { renderNginxConfig, TLS_PATHS } from "../../server/render";
import { evaluateProgram } from "../support/mockRuntime";
import { matrixVariant } from "../support/variants";
import { fromHarness, policyNames, runPolicies, TestResource } from "./support";

const POLICY = "public-http-only-redirects";
const WORLD = ["0.0.0.0/0"];
const OFFICE = ["198.51.100.0/24"];

const ACME_SHAPE = `
http {
    server {
        listen 80 default_server;
        listen [::]:80 default_server;
        server_name 203.0.113.10;
        location ^~ /.well-known/acme-challenge/ {
            root /var/lib/mlflow/acme;
            default_type text/plain;
        }
        location / {
            return 301 https://$host$request_uri;
        }
    }
    server {
        listen 443 ssl default_server;
        location / { proxy_pass http://mlflow; }
    }
    # The heartbeat's own port-80 probe, on loopback only.
    server {
        listen 127.0.0.1:80;
        location = /health { proxy_pass http://mlflow; }
    }
}
`;

/** A port-80 server that proxies MLflow: what plain HTTP serves (server/nginx.conf.template). */
const PROXY_SHAPE = `
http {
    server {
        listen 80 default_server;
        location = /health { proxy_pass http://mlflow; }
        location / { proxy_pass http://mlflow; }
    }
}
`;

/** A cloud-config as server/render.ts writes it: files as literal blocks indented under write_files. */
function cloudConfig(nginxConf: string | undefined): string {
  const literal = (text: string) => `|+\n${text.replace(/^/gm, "      ")}`;
  const files = [
    `  - path: /etc/systemd/system/mlflow.service\n    owner: root:root\n    permissions: "0644"\n    content: ${literal("[Service]\nExecStart=/bin/true\n")}`,
    ...(nginxConf === undefined
      ? []
      : [
          `  - path: /etc/mlflow/nginx.conf\n    owner: root:root\n    permissions: "0644"\n    content: ${literal(nginxConf.trimStart())}`,
        ]),
    `  - path: /etc/mlflow/boot.env\n    owner: root:root\n    permissions: "0644"\n    content: ${literal("A=1\n")}`,
  ];
  return `#cloud-config\nwrite_files:\n${files.join("\n")}\nruncmd:\n  - [sh, -eu, /opt/mlflow/server/boot.sh]\n`;
}

const gzipBase64 = (text: string) => gzipSync(Buffer.from(text)).toString("base64");

function group(name: string, ports: [number, string[]][]): TestResource {
  return {
    type: "aws:ec2/securityGroup:SecurityGroup",
    name,
    id: `${name}-id`,
    props: {
      ingress: ports.map(([port, cidrBlocks]) => ({
        protocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrBlocks,
      })),
    },
  };
}

function ec2Stack(http: string[] | undefined, nginxConf: string | undefined): TestResource[] {
  const ports: [number, string[]][] = [[443, OFFICE], ...(http ? [[80, http] as [number, string[]]] : [])];
  return [
    group("server", ports),
    {
      type: "aws:ec2/instance:Instance",
      name: "server",
      props: { vpcSecurityGroupIds: ["server-id"], userDataBase64: gzipBase64(cloudConfig(nginxConf)) },
    },
  ];
}

function albStack(options: { internal?: boolean; cidrs: string[]; redirect: boolean }): TestResource[] {
  return [
    group("alb", [[80, options.cidrs]]),
    {
      type: "aws:lb/loadBalancer:LoadBalancer",
      name: "alb",
      props: {
        internal: options.internal ?? false,
        securityGroups: ["alb-id"],
        arn: "arn:aws:elasticloadbalancing:alb",
      },
    },
    {
      type: "aws:lb/listener:Listener",
      name: "http",
      props: {
        loadBalancerArn: "arn:aws:elasticloadbalancing:alb",
        port: 80,
        protocol: "HTTP",
        defaultActions: options.redirect
          ? [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]
          : [{ type: "forward", targetGroupArn: "tg" }],
      },
    },
  ];
}

describe(`${POLICY}: EC2`, () => {
  it("accepts port 80 open to the world when nginx serves there only the challenge and the redirect", async () => {
    expect(await runPolicies(publicHttpPolicies, ec2Stack(WORLD, ACME_SHAPE))).toEqual([]);
  });

  it("accepts any nginx when port 80 is closed, or open only to the allowed CIDRs (plain HTTP asked for)", async () => {
    expect(await runPolicies(publicHttpPolicies, ec2Stack(undefined, PROXY_SHAPE))).toEqual([]);
    expect(await runPolicies(publicHttpPolicies, ec2Stack(OFFICE, PROXY_SHAPE))).toEqual([]);
  });

  it("refuses port 80 open to the world in front of a proxy to MLflow", async () => {
    const v = await runPolicies(publicHttpPolicies, ec2Stack(WORLD, PROXY_SHAPE));
    expect(policyNames(v)).toEqual([POLICY]);
    expect(v[0].message).toMatch(
      /serves location = \/health; .*serves location \/; .*does not redirect to https/,
    );
  });

  it.each([
    [
      "a proxy in the challenge location",
      ACME_SHAPE.replace("root /var/lib/mlflow/acme;", "proxy_pass http://mlflow;"),
      /acme-challenge\/ location uses proxy_pass/,
    ],
    [
      "another location",
      ACME_SHAPE.replace(
        "location / {",
        "location /api/ { proxy_pass http://mlflow; }\n        location / {",
      ),
      /serves location \/api\//,
    ],
    [
      "a redirect to http",
      ACME_SHAPE.replace("return 301 https://", "return 301 http://"),
      /does not redirect to https/,
    ],
    [
      "an include it cannot read",
      ACME_SHAPE.replace("server_name 203.0.113.10;", "include /etc/nginx/extra.conf;"),
      /uses include/,
    ],
    [
      "a public listen next to the loopback one",
      ACME_SHAPE.replace("listen 127.0.0.1:80;", "listen 0.0.0.0:80;"),
      /serves location = \/health/,
    ],
    ["unbalanced braces", ACME_SHAPE.replace("location / {", "location / {{"), /cannot be read/],
  ])("refuses %s", async (_what, conf, message) => {
    const v = await runPolicies(publicHttpPolicies, ec2Stack(WORLD, conf));
    expect(policyNames(v)).toEqual([POLICY]);
    expect(v[0].message).toMatch(message);
  });

  it("sees port 80 opened by a separate rule resource too", async () => {
    const rule = (type: string, props: Record<string, unknown>): TestResource => ({
      type,
      name: "extra",
      props,
    });
    for (const extra of [
      rule("aws:ec2/securityGroupRule:SecurityGroupRule", {
        type: "ingress",
        securityGroupId: "server-id",
        protocol: "tcp",
        fromPort: 80,
        toPort: 80,
        cidrBlocks: WORLD,
      }),
      rule("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
        securityGroupId: "server-id",
        ipProtocol: "tcp",
        fromPort: 80,
        toPort: 80,
        cidrIpv4: "0.0.0.0/0",
      }),
    ]) {
      const v = await runPolicies(publicHttpPolicies, [...ec2Stack(undefined, PROXY_SHAPE), extra]);
      expect(policyNames(v)).toEqual([POLICY]);
    }
  });

  it("refuses port 80 open to the world when the user data shows no nginx.conf", async () => {
    const v = await runPolicies(publicHttpPolicies, ec2Stack(WORLD, undefined));
    expect(v[0].message).toMatch(/no nginx\.conf/);
  });

  it("the reader judges the real rendered configs: plain HTTP proxies on public 80, HTTPS only redirects there", () => {
    const base = { listenPort: 80, upstreamPort: 5000, serverNames: ["203.0.113.10"] };
    const plain = renderNginxConfig(base);
    const [plainServer] = serverBlocks(parseNginx(plain));
    expect(listensPublicly(plainServer, 80)).toBe(true);
    expect(port80Problems(plainServer)).toEqual(
      expect.arrayContaining([expect.stringMatching(/serves location \//)]),
    );
    expect(nginxConfigsInCloudConfig(cloudConfig(plain))).toEqual([
      { path: "/etc/mlflow/nginx.conf", text: plain.trimStart() },
    ]);

    const https = renderNginxConfig({
      ...base,
      tls: {
        httpsPort: 443,
        certificate: TLS_PATHS.certificate,
        key: TLS_PATHS.key,
        acmeWebroot: TLS_PATHS.webroot,
      },
    });
    const onPort80 = serverBlocks(parseNginx(https)).filter((server) => listensPublicly(server, 80));
    expect(onPort80).toHaveLength(1);
    expect(port80Problems(onPort80[0])).toEqual([]);
  });
});

describe(`${POLICY}: load balancer`, () => {
  it("accepts a redirect-only HTTP listener, an internal load balancer, and one open only to allowed CIDRs", async () => {
    expect(await runPolicies(publicHttpPolicies, albStack({ cidrs: WORLD, redirect: true }))).toEqual([]);
    expect(
      await runPolicies(publicHttpPolicies, albStack({ internal: true, cidrs: WORLD, redirect: false })),
    ).toEqual([]);
    expect(await runPolicies(publicHttpPolicies, albStack({ cidrs: OFFICE, redirect: false }))).toEqual([]);
  });

  it("refuses an internet-facing HTTP listener open to the world that forwards", async () => {
    const v = await runPolicies(publicHttpPolicies, albStack({ cidrs: WORLD, redirect: false }));
    expect(policyNames(v)).toEqual([POLICY]);
    expect(v[0].urn).toMatch(/::http$/);
    expect(v[0].message).toMatch(/redirect to HTTPS/);
  });
});

describe(`${POLICY} on the program's own stacks`, () => {
  const violationsOf = async (variant: ReturnType<typeof matrixVariant>, edit = (r: TestResource) => r) => {
    const e = await evaluateProgram(variant);
    const resources = fromHarness(e.resources.filter((r) => r.custom)).map(edit);
    return (await runPolicies(publicHttpPolicies, resources, { stack: variant.stack })).filter(
      (v) => !v.advisory,
    );
  };

  it("container: HTTPS and plain HTTP to private CIDRs pass; plain HTTP to the world is refused", async () => {
    expect(await violationsOf(matrixVariant("dev", "s3", "container"))).toEqual([]);
    expect(await violationsOf(matrixVariant("dev", "s3", "container", "plain"))).toEqual([]);
    const open = matrixVariant("dev", "s3", "container", "plain");
    const server = JSON.parse(open.config["mlflow-platform:server"]);
    open.config = {
      ...open.config,
      "mlflow-platform:server": JSON.stringify({ ...server, allowedCidrs: WORLD }),
    };
    expect(policyNames(await violationsOf(open))).toEqual([POLICY]);
  });

  it("EC2: dns-01 (port 80 closed) and plain HTTP to private CIDRs pass", async () => {
    expect(await violationsOf(matrixVariant("dev", "s3", "ec2", "domain-dns01"))).toEqual([]);
    expect(await violationsOf(matrixVariant("dev", "s3", "ec2", "plain"))).toEqual([]);
  });

  it("EC2 http-01: the rendered user data is judged by its nginx.conf (the challenge-and-redirect shape passes)", async () => {
    // The real cloud-config of the program with its nginx.conf swapped for the shape issue 11's runtime serves.
    const swapNginx = (r: TestResource, shape = ACME_SHAPE) => {
      if (r.type !== "aws:ec2/instance:Instance") return r;
      const text = gunzipSync(Buffer.from(String(r.props.userDataBase64), "base64")).toString("utf8");
      const [conf] = nginxConfigsInCloudConfig(text);
      const indented = (t: string) => t.replace(/^/gm, "      ");
      const swapped = text.replace(indented(conf.text), indented(shape.trimStart()));
      expect(swapped).not.toBe(text);
      return { ...r, props: { ...r.props, userDataBase64: gzipBase64(swapped) } };
    };
    expect(await violationsOf(matrixVariant("dev", "s3", "ec2"), (r) => swapNginx(r))).toEqual([]);
    // ...and the same stack refused when its port-80 server proxies MLflow: the rule links the instance to
    // its security group and reads the real cloud-config, so it is not vacuous on the program's output.
    const proxied = await violationsOf(matrixVariant("dev", "s3", "ec2"), (r) => swapNginx(r, PROXY_SHAPE));
    expect(proxied.map((v) => [v.policy, v.urn])).toEqual([
      [POLICY, expect.stringMatching(/aws:ec2\/instance:Instance::mlflow-dev-server$/)],
    ]);
  });
});
