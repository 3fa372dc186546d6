// Which availability zones the subnets (and so the server, the database and the load balancer) land in:
// real zones only, ones that offer the EC2 instance type, and a choice that does not follow live zone state.
import { Evaluation, evaluateProgram, readStackFile, stackFile } from "../support/mockRuntime";
import { matrixVariant } from "../support/variants";
import { ofType, single } from "../support/inspect";
import { chooseZones, keptZonesWarning } from "../../components/network";
import { classify } from "../../scripts/replacements";

const AZS = "aws:index/getAvailabilityZones:getAvailabilityZones";
const OFFERINGS = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings";

function variant(stack: string, change: { server?: object; network?: object } = {}) {
  const { config, secretKeys } = readStackFile(stackFile(stack));
  const server = JSON.parse(config["mlflow-platform:server"] ?? "{}");
  const network = JSON.parse(config["mlflow-platform:network"] ?? "{}");
  return {
    stack,
    secretKeys,
    config: {
      ...config,
      "mlflow-platform:server": JSON.stringify({ ...server, ...change.server }),
      "mlflow-platform:network": JSON.stringify({ ...network, ...change.network }),
    },
  };
}

const subnetZones = (ev: Evaluation, kind: "public" | "private") =>
  ofType(ev, "aws:ec2/subnet:Subnet")
    .filter((s) => s.name.includes(`-${kind}-`))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => s.inputs.availabilityZone ?? s.inputs.availabilityZoneId);

/** The offerings a region answers for one instance type, in these zone ids only. */
const offeredIn = (instanceType: string, zoneIds: string[]) => ({
  [OFFERINGS]: {
    instanceTypes: zoneIds.map(() => instanceType),
    locations: zoneIds,
    locationTypes: zoneIds.map(() => "availability-zone-id"),
    id: "us-east-1",
  },
});

describe.each(["dev", "prod"])("stack %s", (stack) => {
  let ev: Evaluation;
  const instanceType = JSON.parse(readStackFile(stackFile(stack)).config["mlflow-platform:server"])
    .instanceType as string;
  beforeAll(async () => {
    ev = await evaluateProgram(variant(stack));
  });

  test("zones: real availability zones only (no Local or Wavelength Zones), whatever their live state", () => {
    const lookups = ev.calls.filter((c) => c.token === AZS);
    expect(lookups).toHaveLength(1);
    expect(lookups[0].inputs.filters).toEqual([{ name: "zone-type", values: ["availability-zone"] }]);
    // A zone that leaves `available` during an incident must not shift every subnet to another zone.
    expect(lookups[0].inputs.state).toBeUndefined();
    expect(lookups[0].inputs.allAvailabilityZones).toBeUndefined();
  });

  test("zones that offer the server's instance type, by zone id", () => {
    const lookups = ev.calls.filter((c) => c.token === OFFERINGS);
    expect(lookups).toHaveLength(1);
    expect(lookups[0].inputs).toEqual({
      locationType: "availability-zone-id",
      filters: [{ name: "instance-type", values: [instanceType] }],
    });
    expect(subnetZones(ev, "public")).toEqual(["us-east-1a", "us-east-1b"]);
    expect(subnetZones(ev, "private")).toEqual(["us-east-1a", "us-east-1b"]);
  });

  test("a first zone without the instance type is skipped: the server's subnet is in one that has it", async () => {
    const skipped = await evaluateProgram({
      ...variant(stack),
      callResults: offeredIn(instanceType, ["use1-az2", "use1-az3"]),
    });
    expect(subnetZones(skipped, "public")).toEqual(["us-east-1b", "us-east-1c"]);
    expect(subnetZones(skipped, "private")).toEqual(["us-east-1b", "us-east-1c"]);
    const instance = single(skipped, "aws:ec2/instance:Instance");
    expect(instance.inputs.subnetId).toBe(`mlflow-${stack}-public-0-id`);
  });
});

test("an existing stack's subnets keep their zones when a new instance type moves the choice", async () => {
  const before = await evaluateProgram(variant("dev"));
  // t3.medium is not offered in the first zone: the choice moves from a, b to b, c.
  const after = await evaluateProgram({
    ...variant("dev", { server: { instanceType: "t3.medium" } }),
    callResults: offeredIn("t3.medium", ["use1-az2", "use1-az3"]),
  });
  expect(subnetZones(after, "public")).toEqual(["us-east-1b", "us-east-1c"]);
  for (const subnet of ofType(after, "aws:ec2/subnet:Subnet")) {
    const old = single(before, "aws:ec2/subnet:Subnet", subnet.name);
    // Pulumi keeps the old value of an ignored input: the subnet is not replaced.
    expect(subnet.ignoreChanges).toEqual(["availabilityZone"]);
    const kept = (inputs: Record<string, unknown>) => ({ ...inputs, availabilityZone: undefined });
    expect(classify(subnet.type, kept(old.inputs), kept(subnet.inputs)).change).toBe("unchanged");
    expect(classify(subnet.type, old.inputs, subnet.inputs).triggers).toEqual(["availabilityZone"]);
  }
  // Pinned zones are deliberate: a change of the pins moves the subnets.
  const pinned = await evaluateProgram(
    variant("dev", { network: { availabilityZoneIds: ["use1-az1", "use1-az2"] } }),
  );
  for (const subnet of ofType(pinned, "aws:ec2/subnet:Subnet")) expect(subnet.ignoreChanges).toEqual([]);
});

test("kept zones that differ from today's choice are reported, naming the way out", () => {
  const chosen = [
    { name: "us-east-1b", id: "use1-az2" },
    { name: "us-east-1c", id: "use1-az3" },
  ];
  expect(keptZonesWarning(["us-east-1b", "us-east-1c"], chosen, "t3.medium")).toBeUndefined();
  expect(keptZonesWarning(["us-east-1a", "us-east-1b"], chosen, "t3.medium")).toMatch(
    /subnets stay in us-east-1a, us-east-1b .* offered for server\.instanceType t3\.medium chosen now are us-east-1b, us-east-1c\. If the server's zone us-east-1a lacks the instance type, its resize fails: .*network\.availabilityZoneIds/,
  );
});

test("too few zones offer the instance type: the program fails naming the setting", async () => {
  await expect(
    evaluateProgram({ ...variant("dev"), callResults: offeredIn("t3.small", ["use1-az3"]) }),
  ).rejects.toThrow(
    /network\.availabilityZoneCount is 2 but .*only 1 availability zones that offer server\.instanceType t3\.small/,
  );
});

test("container mode (Fargate) asks for no instance type offerings", async () => {
  const ev = await evaluateProgram(matrixVariant("dev", "s3", "container"));
  expect(ev.calls.map((c) => c.token)).not.toContain(OFFERINGS);
  expect(subnetZones(ev, "private")).toEqual(["us-east-1a", "us-east-1b"]);
});

describe("network.availabilityZoneIds pins the zones", () => {
  test("subnets are created in exactly those zone ids, in that order", async () => {
    const ev = await evaluateProgram(
      variant("prod", { network: { availabilityZoneIds: ["use1-az3", "use1-az2"] } }),
    );
    for (const subnet of ofType(ev, "aws:ec2/subnet:Subnet"))
      expect(subnet.inputs.availabilityZone).toBeUndefined();
    expect(subnetZones(ev, "public")).toEqual(["use1-az3", "use1-az2"]);
    expect(subnetZones(ev, "private")).toEqual(["use1-az3", "use1-az2"]);
  });

  test("a pinned zone without the instance type, or not in the region, fails naming the key", async () => {
    const pinned = variant("dev", { network: { availabilityZoneIds: ["use1-az1", "use1-az2"] } });
    await expect(
      evaluateProgram({ ...pinned, callResults: offeredIn("t3.small", ["use1-az2", "use1-az3"]) }),
    ).rejects.toThrow(
      /network\.availabilityZoneIds\[0\]: zone "use1-az1" does not offer server\.instanceType t3\.small; allowed: use1-az2, use1-az3/,
    );
    await expect(
      evaluateProgram(variant("dev", { network: { availabilityZoneIds: ["use1-az1", "usw2-az1"] } })),
    ).rejects.toThrow(
      /network\.availabilityZoneIds\[1\]: got "usw2-az1", not an availability zone of this region/,
    );
  });
});

describe("chooseZones", () => {
  const region = {
    names: ["us-east-1c", "us-east-1a", "us-east-1b"],
    zoneIds: ["use1-az3", "use1-az1", "use1-az2"],
  };

  test("by name, whatever order the provider lists them in", () => {
    expect(chooseZones(region, 2, undefined)).toEqual([
      { name: "us-east-1a", id: "use1-az1" },
      { name: "us-east-1b", id: "use1-az2" },
    ]);
  });

  test("only zones that offer the instance type", () => {
    const offered = { instanceType: "m7i.large", zoneIds: ["use1-az3", "use1-az2"] };
    expect(chooseZones(region, 2, offered).map((z) => z.name)).toEqual(["us-east-1b", "us-east-1c"]);
  });
});
