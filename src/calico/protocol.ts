// IP protocols as flow logs report them and as Calico rules name them.

/** The rule form: a Calico protocol name, or the IANA number for protocols Calico does not name. */
export type Protocol = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' | 'SCTP' | 'UDPLite' | number;

/**
 * Rule names (api/pkg/lib/numorstring/protocol.go: TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, any case)
 * and the names Felix writes in flow logs and Goldmane (felix/collector/utils/utils.go protoNames,
 * release-v3.30 to HEAD: icmp, tcp, udp, ipip, esp, icmp6, sctp; any other protocol as its number).
 * Rules have no name for IP-in-IP and ESP: they are written as their numbers.
 */
const BY_NAME: Readonly<Record<string, Protocol>> = {
  tcp: 'TCP',
  udp: 'UDP',
  icmp: 'ICMP',
  icmpv6: 'ICMPv6',
  icmp6: 'ICMPv6',
  sctp: 'SCTP',
  udplite: 'UDPLite',
  ipip: 4,
  esp: 50,
};

const BY_NUMBER: ReadonlyMap<number, Protocol> = new Map<number, Protocol>([
  [6, 'TCP'],
  [17, 'UDP'],
  [1, 'ICMP'],
  [58, 'ICMPv6'],
  [132, 'SCTP'],
  [136, 'UDPLite'],
]);

const NUMBER_OF: ReadonlyMap<Protocol, number> = new Map([...BY_NUMBER].map(([n, p]) => [p, n]));

/** Parse a flow log's `proto` (`"tcp"`, `"6"`, `6`, ...) or a rule's `protocol`; null if invalid. */
export function parseProtocol(raw: unknown): Protocol | null {
  if (typeof raw === 'number') return fromNumber(raw);
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 8) return null;
  const named = BY_NAME[raw.toLowerCase()];
  if (named !== undefined) return named;
  return /^[0-9]{1,3}$/.test(raw) ? fromNumber(Number(raw)) : null;
}

function fromNumber(n: number): Protocol | null {
  if (!Number.isInteger(n) || n < 1 || n > 255) return null;
  return BY_NUMBER.get(n) ?? n;
}

/**
 * A rule's `protocol` or `notProtocol` as Calico decodes and validates it (api/pkg/lib/numorstring:
 * a number or a string of digits is a protocol number; validateProtocol: numbers 1-255, names
 * exactly TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite), the same on every release; null when refused.
 * Stricter than parseProtocol, which reads flow logs (`tcp`, `icmp6`).
 */
export function ruleProtocol(raw: unknown): Protocol | null {
  if (typeof raw === 'number') return fromNumber(raw);
  if (typeof raw !== 'string') return null;
  if (/^[0-9]+$/.test(raw)) return Number(raw) <= 255 ? fromNumber(Number(raw)) : null;
  return (['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const).find((name) => name === raw) ?? null;
}

/**
 * Names of protocols Calico's rules can only write as numbers, from IANA's "Assigned Internet
 * Protocol Numbers" registry (keywords), for people to read; IP-in-IP as Felix's flow logs name it
 * (felix/collector/utils/utils.go protoNames, release-v3.30 to HEAD: ipip).
 */
const IANA_NAMES: ReadonlyMap<number, string> = new Map([
  [2, 'IGMP'],
  [4, 'IPIP'],
  [41, 'IPv6'],
  [47, 'GRE'],
  [50, 'ESP'],
  [51, 'AH'],
  [89, 'OSPF'],
  [103, 'PIM'],
  [112, 'VRRP'],
  [115, 'L2TP'],
]);

/**
 * A protocol as people read it (CLI tables, PR bodies, the dashboard): Calico's name where Calico
 * has one (api/pkg/lib/numorstring/protocol.go: TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, the same on
 * release-v3.30 to HEAD), else the IANA name with the number the rule is written with
 * (`GRE (47)`), else the number. Takes a Protocol, or a rule summary's text (`47`, `TCP`, `any`,
 * `TCP, UDP`), which is returned as it is unless it is a number.
 */
export function protocolName(protocol: Protocol | string): string {
  const n = typeof protocol === 'number' ? protocol : /^[0-9]{1,3}$/.test(protocol) ? Number(protocol) : null;
  if (n === null) return protocol as string;
  const named = fromNumber(n);
  if (named === null) return String(protocol);
  if (typeof named === 'string') return named;
  const iana = IANA_NAMES.get(n);
  return iana === undefined ? String(n) : `${iana} (${n})`;
}

/** Calico accepts `ports` only with these protocols (validator and CRD description). */
export function protocolHasPorts(protocol: Protocol): boolean {
  return protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP';
}

export function protocolNumber(protocol: Protocol): number {
  return typeof protocol === 'number' ? protocol : NUMBER_OF.get(protocol)!;
}

/** Stable ordering: by IANA number, so TCP (6) sorts before UDP (17) before SCTP (132). */
export function compareProtocols(a: Protocol, b: Protocol): number {
  return protocolNumber(a) - protocolNumber(b);
}
