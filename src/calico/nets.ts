// Just enough IP arithmetic to tell private from public addresses and test CIDR containment,
// for IPv4 and IPv6, without a dependency.

import { isIP } from 'node:net';

export interface Cidr {
  readonly version: 4 | 6;
  readonly bits: bigint;
  readonly prefix: number;
}

/** RFC 1918: what Calico's flow logs call `pvt` and its Private rules match. */
export const PRIVATE_NETS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
/** IPv6 unique local addresses (RFC 4193), IPv6's private range. */
export const PRIVATE_NETS_V6: readonly string[] = ['fc00::/7'];
export const ALL_IPV4 = '0.0.0.0/0';
export const ALL_IPV6 = '::/0';

/** A CIDR (or address) of IPv6, by its syntax, as Felix tells them apart (felix/rules/policy.go filterNets). */
export function isIPv6Cidr(text: string): boolean {
  return text.includes(':');
}

function parseIp(text: string): { version: 4 | 6; bits: bigint } | null {
  // Node's isIP accepts an IPv6 zone (fe80::1%eth0); Go's net.ParseIP and net.ParseCIDR, which
  // Calico's validator and Felix use (libcalico-go lib/net/ipnet.go ParseCIDR), do not.
  if (text.includes('%')) return null;
  const version = isIP(text);
  if (version === 4) {
    let bits = 0n;
    for (const part of text.split('.')) bits = (bits << 8n) | BigInt(Number(part));
    return { version, bits };
  }
  if (version === 6) return { version, bits: ipv6Bits(text) };
  return null;
}

function ipv6Bits(text: string): bigint {
  // Embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let body = text;
  if (v4) {
    const n = parseIp(v4[1]!)!.bits;
    body = `${text.slice(0, v4.index) + ((n >> 16n) & 0xffffn).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = body.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  let bits = 0n;
  for (const g of groups) bits = (bits << 16n) | BigInt(parseInt(g, 16));
  return bits;
}

export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!ip) return null;
  const width = ip.version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(width) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > width) return null;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
  return { version: ip.version, bits: ip.bits & mask, prefix };
}

/** Does `outer` contain every address of `inner`? */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.version !== inner.version || outer.prefix > inner.prefix) return false;
  const width = outer.version === 4 ? 32 : 128;
  const shift = BigInt(width - outer.prefix);
  return outer.prefix === 0 || inner.bits >> shift === outer.bits >> shift;
}

const PRIVATE_CIDRS = [...PRIVATE_NETS, ...PRIVATE_NETS_V6].map((n) => parseCidr(n)!);

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/;

export function isPrivateIp(text: string): boolean {
  // Fast path for IPv4, which flow logs are full of: no BigInt arithmetic.
  const quad = DOTTED_QUAD.exec(text);
  if (quad !== null) {
    const [a, b] = [Number(quad[1]), Number(quad[2])];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  const cidr = parseCidr(text);
  return cidr !== null && PRIVATE_CIDRS.some((p) => cidrContains(p, cidr));
}

/**
 * An entry of a rule's `nets` or `notNets` as Calico's validator takes it (validateRule's scanNets
 * parses it with net.ParseCIDR and the `net` tag wants it masked; libcalico-go/lib/validator/v3/
 * validator.go, every release): `addr/prefix`, no host bits, no zone. Returns the network or the
 * reason Calico refuses it.
 */
export function ruleNet(text: unknown): { cidr: Cidr } | { error: string } {
  if (typeof text !== 'string' || !text.includes('/') || text.includes('%')) return { error: 'not a CIDR (address/prefix)' };
  const slash = text.indexOf('/');
  const ip = parseIp(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  // Go reads the prefix in decimal, leading zeros included.
  const cidr = /^\d+$/.test(prefix) ? parseCidr(`${text.slice(0, slash)}/${Number(prefix)}`) : null;
  if (ip === null || cidr === null) return { error: 'not a CIDR (address/prefix)' };
  if (cidr.bits !== ip.bits) return { error: 'host bits are set (write the network address)' };
  return { cidr };
}

/** A network set's entry (the `cidr` tag): a CIDR, host bits allowed, or an address; null if neither. */
export function networkSetNet(text: unknown): Cidr | null {
  return typeof text === 'string' && !text.includes('%') ? parseCidr(text) : null;
}

/** The IP version libcalico-go gives a network: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as IPv4 (`IP.To4() != nil`). */
export function calicoNetVersion(cidr: Cidr): 4 | 6 {
  return cidr.version === 6 && cidr.bits >> 32n === 0xffffn ? 4 : cidr.version;
}

/** A network in its masked form: the network address (IPv6 compressed, RFC 5952) and its prefix. */
export function formatCidr(cidr: Cidr): string {
  if (cidr.version === 4) {
    const octets = [24n, 16n, 8n, 0n].map((shift) => String((cidr.bits >> shift) & 0xffn));
    return `${octets.join('.')}/${cidr.prefix}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((cidr.bits >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes `::`.
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text =
    best.start === -1 ? hex.join(':') : `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
  return `${text}/${cidr.prefix}`;
}
