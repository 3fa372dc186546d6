// IPv4 addresses and CIDRs as numbers: the one parser the config, its warnings, the network layout and the
// offline plan share.

export interface Ipv4Cidr {
  /** The address as an unsigned 32-bit number. */
  address: number;
  prefixLength: number;
}

/** A dotted-quad IPv4 address as a number; undefined unless four decimal octets 0-255 without leading zeros. */
export function parseIpv4(text: string): number | undefined {
  const octets = text.split(".");
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && String(Number(o)) === o)) {
    return undefined;
  }
  const numbers = octets.map(Number);
  return numbers.every((n) => n <= 255) ? numbers.reduce((acc, n) => acc * 256 + n, 0) : undefined;
}

/** `a.b.c.d/n` as address and prefix length; undefined unless the address parses and n is 0-32. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const address = match ? parseIpv4(match[1]) : undefined;
  const prefixLength = match ? Number(match[2]) : NaN;
  return address === undefined || prefixLength > 32 ? undefined : { address, prefixLength };
}

/** An address as a dotted quad. */
export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}

/** The first address of the `prefixLength` network that holds `address`. */
export function networkAddress(address: number, prefixLength: number): number {
  const block = 2 ** (32 - prefixLength);
  return Math.floor(address / block) * block;
}

/**
 * Whether every address of `inner` is in `outer`: two CIDRs, or a bare address standing for its /32. False
 * when either is not IPv4.
 */
export function cidrContains(outer: string, inner: string): boolean {
  const [o, i] = [outer, inner].map((c) => parseCidr(c.includes("/") ? c : `${c}/32`));
  if (o === undefined || i === undefined || i.prefixLength < o.prefixLength) return false;
  return networkAddress(o.address, o.prefixLength) === networkAddress(i.address, o.prefixLength);
}
