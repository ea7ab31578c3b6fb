// Protocols as Felix writes them in flow logs and Goldmane (felix/collector/utils/utils.go
// protoNames, release-v3.30 to HEAD) and as rules name them (api/pkg/lib/numorstring/protocol.go).

import { describe, expect, test } from '@jest/globals';
import { parseProtocol, protocolHasPorts, protocolName } from '../../src/calico/protocol.ts';

describe('parseProtocol', () => {
  test.each([
    ['icmp', 'ICMP'],
    ['tcp', 'TCP'],
    ['udp', 'UDP'],
    ['ipip', 4],
    ['esp', 50],
    ['icmp6', 'ICMPv6'],
    ['sctp', 'SCTP'],
    // Felix writes any other protocol as its number.
    ['47', 47],
    ['6', 'TCP'],
    [17, 'UDP'],
    // Rule names, in any case (ProtocolFromString compares with EqualFold).
    ['ICMPv6', 'ICMPv6'],
    ['UDPLite', 'UDPLite'],
    ['udplite', 'UDPLite'],
  ] as const)('%s', (raw, expected) => {
    expect(parseProtocol(raw)).toBe(expected);
  });

  test.each(['', 'gre', '0', '256', 'tcp ', -1, 1.5, null])('rejects %p', (raw) => {
    expect(parseProtocol(raw)).toBeNull();
  });

  test('only TCP, UDP and SCTP carry ports (numorstring Protocol.SupportsPorts)', () => {
    expect(['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPv6', 'UDPLite', 4, 50].map((p) => protocolHasPorts(p as never))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('protocolName: what people read', () => {
  // Calico's names where its Protocol type has them (api/pkg/lib/numorstring/protocol.go, HEAD:
  // TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite), whether the rule wrote the name or the number.
  test.each([
    ['TCP', 'TCP'],
    [6, 'TCP'],
    ['17', 'UDP'],
    [1, 'ICMP'],
    [58, 'ICMPv6'],
    ['ICMPv6', 'ICMPv6'],
    [132, 'SCTP'],
    [136, 'UDPLite'],
    // Numbers Calico has no name for keep their number beside IANA's name.
    [47, 'GRE (47)'],
    ['47', 'GRE (47)'],
    [50, 'ESP (50)'],
    [51, 'AH (51)'],
    [4, 'IPIP (4)'],
    [253, '253'],
    // A rule summary's other texts pass through.
    ['any', 'any'],
    ['TCP, UDP', 'TCP, UDP'],
  ] as const)('%p', (protocol, name) => {
    expect(protocolName(protocol)).toBe(name);
  });

  test('a flow log read as GRE is written in rules as 47 and read by people as GRE (47)', () => {
    const parsed = parseProtocol('47')!;
    expect(parsed).toBe(47);
    expect(protocolName(parsed)).toBe('GRE (47)');
    expect(protocolName(parseProtocol('esp')!)).toBe('ESP (50)');
  });
});
