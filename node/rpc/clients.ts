/**
 * Who a client is, for per-client limits: its remote address, with an IPv4-mapped IPv6 address
 * read as the IPv4 one and an IPv6 address cut to its /64 (one host or home network is usually
 * given a whole /64, so counting full addresses would let it take 2^64 shares).
 */
import { isIPv6 } from "node:net";

/** The per-client key of a remote address (`1.2.3.4`, `2001:db8:0:1::/64`); `unknown` without one. */
export function clientKeyOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined || remoteAddress === "") return "unknown";
  const address = remoteAddress.split("%", 1)[0]!.toLowerCase();
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped !== null) return mapped[1]!;
  const [head, tail] = address.split("::") as [string, string | undefined];
  const left = hextets(head);
  const right = tail === undefined ? [] : hextets(tail);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(":")}::/64`;
}

/** The 16-bit groups of one side of an IPv6 address, a trailing dotted IPv4 part as its two groups. */
function hextets(part: string): string[] {
  if (part === "") return [];
  const groups = part.split(":");
  const last = groups[groups.length - 1]!;
  if (!last.includes(".")) return groups;
  const [a, b, c, d] = last.split(".").map(Number) as [number, number, number, number];
  return [...groups.slice(0, -1), ((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
