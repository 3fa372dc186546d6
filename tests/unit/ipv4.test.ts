// components/ipv4.ts: the one IPv4 parser of the config, its warnings, the subnet layout and the offline plan.
import { cidrContains, formatIpv4, networkAddress, parseCidr, parseIpv4 } from "../../components/ipv4";

test("parseIpv4 takes four decimal octets 0-255 and nothing else", () => {
  expect(parseIpv4("0.0.0.0")).toBe(0);
  expect(parseIpv4("10.0.0.1")).toBe(10 * 2 ** 24 + 1);
  expect(parseIpv4("255.255.255.255")).toBe(2 ** 32 - 1);
  for (const bad of [
    "256.0.0.0",
    "10.0.0",
    "10.0.0.0.0",
    "10.0.0.01",
    "10.0.0.-1",
    "a.b.c.d",
    "",
    "::1",
    "10.0.0.1 ",
  ]) {
    expect([bad, parseIpv4(bad)]).toEqual([bad, undefined]);
  }
});

test("parseCidr needs an address and a prefix length 0-32", () => {
  expect(parseCidr("192.168.0.0/16")).toEqual({ address: parseIpv4("192.168.0.0"), prefixLength: 16 });
  expect(parseCidr("0.0.0.0/0")).toEqual({ address: 0, prefixLength: 0 });
  for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8/8", "300.0.0.0/8", "::/0"]) {
    expect([bad, parseCidr(bad)]).toEqual([bad, undefined]);
  }
});

test("formatIpv4 and networkAddress", () => {
  expect(formatIpv4(parseIpv4("203.0.113.77") as number)).toBe("203.0.113.77");
  expect(formatIpv4(networkAddress(parseIpv4("203.0.113.77") as number, 24))).toBe("203.0.113.0");
  expect(formatIpv4(networkAddress(parseIpv4("203.0.113.77") as number, 0))).toBe("0.0.0.0");
  expect(formatIpv4(networkAddress(parseIpv4("255.255.255.255") as number, 1))).toBe("128.0.0.0");
  expect(networkAddress(parseIpv4("203.0.113.77") as number, 32)).toBe(parseIpv4("203.0.113.77"));
});

test("cidrContains: every address of the inner range in the outer one", () => {
  expect(cidrContains("10.0.0.0/8", "10.1.2.0/24")).toBe(true);
  expect(cidrContains("10.0.0.0/8", "10.0.0.0/8")).toBe(true);
  expect(cidrContains("10.0.0.0/8", "10.1.2.3")).toBe(true); // a bare address is its /32
  expect(cidrContains("0.0.0.0/0", "198.51.100.0/24")).toBe(true);
  expect(cidrContains("10.0.0.0/8", "10.0.0.0/7")).toBe(false); // wider than the outer range
  expect(cidrContains("10.0.0.0/8", "11.0.0.0/8")).toBe(false);
  expect(cidrContains("172.16.0.0/12", "172.32.0.0/16")).toBe(false);
  expect(cidrContains("10.0.0.0/8", "::/0")).toBe(false);
  expect(cidrContains("10.0.0.0/8", "10.0.0.01/32")).toBe(false); // not an address: contains nothing
});
