import * as pulumi from "@pulumi/pulumi";
import * as ec2 from "@pulumi/aws/ec2";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import { getRegionOutput } from "@pulumi/aws/getRegion";

export interface NetworkArgs {
  /** CIDR block of the VPC; subnets are carved from it (/+4 each). */
  cidrBlock: string;
  /** Number of availability zones; one public and one private subnet in each. */
  availabilityZoneCount: number;
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

    const zones = getAvailabilityZonesOutput({ state: "available" }, parent);
    const zone = (i: number) =>
      zones.names.apply((names) => {
        if (names.length < args.availabilityZoneCount) {
          throw new Error(
            `network.availabilityZoneCount is ${args.availabilityZoneCount} but the region has only ${names.length} available zones`,
          );
        }
        return names[i];
      });

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
          availabilityZone: zone(i),
          cidrBlock: subnetCidr(args.cidrBlock, 4, i),
          // Instances get their public address from the Elastic IP; nothing is public by accident.
          mapPublicIpOnLaunch: false,
          tags: tag(`public-${i}`),
        },
        parent,
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
            availabilityZone: zone(i),
            cidrBlock: subnetCidr(args.cidrBlock, 4, 8 + i),
            mapPublicIpOnLaunch: false,
            tags: tag(`private-${i}`),
          },
          parent,
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

/** The `index`-th subnet of `newBits` more bits inside `cidr` (like Terraform's cidrsubnet). */
export function subnetCidr(cidr: string, newBits: number, index: number): string {
  const [address, prefix] = cidr.split("/");
  const base = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const prefixLength = Number(prefix) + newBits;
  if (prefixLength > 28 || index >= 2 ** newBits) {
    throw new Error(`cannot carve subnet ${index} of /${prefixLength} from ${cidr}`);
  }
  const start = base + index * 2 ** (32 - prefixLength);
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefixLength}`;
}
