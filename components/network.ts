import * as pulumi from "@pulumi/pulumi";
import * as ec2 from "@pulumi/aws/ec2";
import { getInstanceTypeOfferingsOutput } from "@pulumi/aws/ec2/getInstanceTypeOfferings";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import { getRegionOutput } from "@pulumi/aws/getRegion";
import { formatIpv4, parseCidr } from "./ipv4";

export interface NetworkArgs {
  /** CIDR block of the VPC; subnets are carved from it (/+4 each). */
  cidrBlock: string;
  /** Number of availability zones; one public and one private subnet in each. */
  availabilityZoneCount: number;
  /** Zone ids to put the subnets in, in order (`network.availabilityZoneIds`); default: chosen, see chooseZones. */
  availabilityZoneIds?: string[];
  /** An EC2 instance type every chosen zone must offer (the server's, in EC2 mode). */
  instanceType?: string;
  /**
   * Whether private subnets get a NAT gateway for outbound traffic. EC2 mode does not need one (the server
   * sits in a public subnet and the database needs no egress), so it saves the ~$33/month; container mode
   * needs egress for the image pull, Secrets Manager, logs and foreign-cloud artifact stores.
   */
  natGateway: boolean;
  tags: Record<string, string>;
}

/** A VPC with public subnets (server, load balancer) and private subnets (database, tasks) across AZs. */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidrBlock: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  /** Public routes to the internet gateway: what a public instance needs before it boots. */
  readonly publicRoutes: pulumi.Resource[];
  /** The private route tables (for gateway endpoints). */
  readonly privateRouteTableId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlflow-platform:index:Network", name, {}, opts);
    const parent = { parent: this };
    const tag = (suffix: string) => ({ ...args.tags, Name: `${name}-${suffix}` });

    const vpc = new ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: args.cidrBlock, enableDnsHostnames: true, enableDnsSupport: true, tags: tag("vpc") },
      parent,
    );
    // The default security group of a new VPC allows all traffic between its members: empty it.
    new ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: tag("default-deny") }, parent);

    const zones = selectZones(args, parent);
    const pinned = args.availabilityZoneIds !== undefined;
    // Chosen zones follow the instance type's offerings, which change with server.instanceType (and with
    // AWS): an existing subnet keeps its zone (a new zone would replace the network and the database subnet
    // group). Pinned zones are deliberate: changing the pins moves the subnets.
    const subnetOptions: pulumi.CustomResourceOptions = pinned
      ? parent
      : { ...parent, ignoreChanges: ["availabilityZone"] };

    const internetGateway = new ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: tag("igw") },
      parent,
    );
    const publicRoutes = new ec2.RouteTable(
      `${name}-public-rt`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }],
        tags: tag("public"),
      },
      parent,
    );

    const publicSubnets: ec2.Subnet[] = [];
    const publicAssociations: ec2.RouteTableAssociation[] = [];
    const privateSubnets: ec2.Subnet[] = [];
    for (let i = 0; i < args.availabilityZoneCount; i++) {
      const publicSubnet = new ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: vpc.id,
          ...subnetZone(zones, i, pinned),
          cidrBlock: subnetCidr(args.cidrBlock, 4, i),
          // Instances get their public address from the Elastic IP; nothing is public by accident.
          mapPublicIpOnLaunch: false,
          tags: tag(`public-${i}`),
        },
        subnetOptions,
      );
      publicAssociations.push(
        new ec2.RouteTableAssociation(
          `${name}-public-${i}`,
          { subnetId: publicSubnet.id, routeTableId: publicRoutes.id },
          parent,
        ),
      );
      publicSubnets.push(publicSubnet);
      privateSubnets.push(
        new ec2.Subnet(
          `${name}-private-${i}`,
          {
            vpcId: vpc.id,
            ...subnetZone(zones, i, pinned),
            cidrBlock: subnetCidr(args.cidrBlock, 4, 8 + i),
            mapPublicIpOnLaunch: false,
            tags: tag(`private-${i}`),
          },
          subnetOptions,
        ),
      );
    }

    const privateRouteArgs: ec2.RouteTableArgs = { vpcId: vpc.id, tags: tag("private") };
    if (args.natGateway) {
      // One NAT gateway: the tasks' egress is light (image pulls, API calls), and one gateway costs a third
      // of one per zone. A zone outage interrupts egress, not the service already running.
      const natAddress = new ec2.Eip(`${name}-nat-eip`, { domain: "vpc", tags: tag("nat") }, parent);
      const nat = new ec2.NatGateway(
        `${name}-nat`,
        { allocationId: natAddress.id, subnetId: publicSubnets[0].id, tags: tag("nat") },
        { ...parent, dependsOn: [internetGateway] },
      );
      privateRouteArgs.routes = [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }];
    }
    const privateRoutes = new ec2.RouteTable(`${name}-private-rt`, privateRouteArgs, parent);
    if (args.natGateway) {
      // Free: S3 traffic from the private subnets (artifacts, ECR image layers) bypasses the NAT gateway's
      // per-GB charge. Interface endpoints for ECR, logs and Secrets Manager would cost more than the NAT
      // (~$7/month each per zone), and foreign-cloud artifact stores need internet egress anyway.
      new ec2.VpcEndpoint(
        `${name}-s3`,
        {
          vpcId: vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${getRegionOutput({}, parent).region}.s3`,
          vpcEndpointType: "Gateway",
          routeTableIds: [privateRoutes.id],
          tags: tag("s3"),
        },
        parent,
      );
    }
    privateSubnets.forEach(
      (subnet, i) =>
        new ec2.RouteTableAssociation(
          `${name}-private-${i}`,
          { subnetId: subnet.id, routeTableId: privateRoutes.id },
          parent,
        ),
    );

    if (!pinned) warnOnKeptZones(publicSubnets, zones, args.instanceType);

    this.vpcId = vpc.id;
    this.vpcCidrBlock = vpc.cidrBlock;
    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.publicRoutes = [publicRoutes, ...publicAssociations];
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    this.privateRouteTableId = privateRoutes.id;
    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
    });
  }
}

export interface Zone {
  name: string;
  id: string;
}

/**
 * The zones of the subnets. Only real availability zones (no Local or Wavelength Zones, which sort first and
 * lack most services), whatever their live state: a zone that is impaired during an incident must not move
 * every subnet (a subnet's zone cannot change, so the network and the database subnet group would be
 * replaced). With `pinned` zone ids, exactly those; otherwise the first `count` zones by name that offer
 * `offered` (the EC2 instance type; undefined: no requirement). A choice can still move if the offerings
 * change (the instance type changes, or AWS adds it to an earlier zone): pin the zones to rule that out.
 */
export function chooseZones(
  available: { names: string[]; zoneIds: string[] },
  count: number,
  offered: { instanceType: string; zoneIds: string[] } | undefined,
  pinned?: string[],
): Zone[] {
  const zones = available.names
    .map((name, i) => ({ name, id: available.zoneIds[i] }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const offers = (zone: Zone) => offered === undefined || offered.zoneIds.includes(zone.id);
  const known = zones.map((z) => z.id).join(", ");
  if (pinned) {
    const offering = zones.filter(offers).map((z) => z.id);
    return pinned.map((id, i) => {
      const zone = zones.find((z) => z.id === id);
      if (!zone) {
        throw new Error(
          `network.availabilityZoneIds[${i}]: got "${id}", not an availability zone of this region; allowed: ${known}`,
        );
      }
      if (!offers(zone)) {
        throw new Error(
          `network.availabilityZoneIds[${i}]: zone "${id}" does not offer server.instanceType ${offered?.instanceType}; allowed: ${offering.join(", ") || "none (choose another instance type)"}`,
        );
      }
      return zone;
    });
  }
  const chosen = zones.filter(offers).slice(0, count);
  if (chosen.length < count) {
    const why = offered ? ` that offer server.instanceType ${offered.instanceType}` : "";
    throw new Error(
      `network.availabilityZoneCount is ${count} but the region has only ${chosen.length} availability zones${why} (${known}); allowed: at most ${chosen.length}, or another instance type`,
    );
  }
  return chosen;
}

/**
 * An existing stack's subnets keep their zones (ignoreChanges) when the choice moves: say so, since the
 * server's instance type may not be offered where its subnet is (its resize would then fail).
 */
function warnOnKeptZones(subnets: ec2.Subnet[], chosen: pulumi.Output<Zone[]>, instanceType?: string): void {
  pulumi.all([pulumi.all(subnets.map((s) => s.availabilityZone)), chosen]).apply(([actual, zones]) => {
    const message = keptZonesWarning(actual, zones, instanceType);
    if (message) pulumi.log.warn(message, subnets[0]);
  });
}

/** The warning for subnets in `actual` zones while the zones chosen now are `chosen`; undefined if the same. */
export function keptZonesWarning(
  actual: string[],
  chosen: Zone[],
  instanceType?: string,
): string | undefined {
  const now = chosen.map((z) => z.name);
  if (actual.every((zone, i) => zone === undefined || zone === now[i])) return undefined;
  const offered = instanceType ? ` offered for server.instanceType ${instanceType}` : "";
  return (
    `network: the subnets stay in ${actual.join(", ")} (a subnet's zone cannot change without replacing the ` +
    `network and the database subnet group), while the zones${offered} chosen now are ${now.join(", ")}. ` +
    `If the server's zone ${actual[0]} lacks the instance type, its resize fails: choose another type, or ` +
    `pin network.availabilityZoneIds (docs/aws-operations.md, "Availability zones").`
  );
}

/** The provider lookups behind chooseZones. */
function selectZones(args: NetworkArgs, parent: pulumi.InvokeOutputOptions): pulumi.Output<Zone[]> {
  const zones = getAvailabilityZonesOutput(
    { filters: [{ name: "zone-type", values: ["availability-zone"] }] },
    parent,
  );
  const instanceType = args.instanceType;
  const offerings = instanceType
    ? getInstanceTypeOfferingsOutput(
        {
          locationType: "availability-zone-id",
          filters: [{ name: "instance-type", values: [instanceType] }],
        },
        parent,
      ).locations.apply((zoneIds) => ({ instanceType, zoneIds }))
    : pulumi.output(undefined);
  return pulumi
    .all([zones.names, zones.zoneIds, offerings])
    .apply(([names, zoneIds, offered]) =>
      chooseZones({ names, zoneIds }, args.availabilityZoneCount, offered, args.availabilityZoneIds),
    );
}

/**
 * A subnet's zone input: pinned zones by id (the same physical zone in every account); chosen ones by name,
 * as subnets were always created, so existing stacks see no change.
 */
function subnetZone(
  zones: pulumi.Output<Zone[]>,
  i: number,
  pinned: boolean,
): Pick<ec2.SubnetArgs, "availabilityZone" | "availabilityZoneId"> {
  return pinned
    ? { availabilityZoneId: zones.apply((z) => z[i].id) }
    : { availabilityZone: zones.apply((z) => z[i].name) };
}

/** The `index`-th subnet of `newBits` more bits inside `cidr` (like Terraform's cidrsubnet). */
export function subnetCidr(cidr: string, newBits: number, index: number): string {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`cannot carve subnets from ${cidr}: not an IPv4 CIDR`);
  const prefixLength = parsed.prefixLength + newBits;
  if (prefixLength > 28 || index >= 2 ** newBits) {
    throw new Error(`cannot carve subnet ${index} of /${prefixLength} from ${cidr}`);
  }
  return `${formatIpv4(parsed.address + index * 2 ** (32 - prefixLength))}/${prefixLength}`;
}
