// Protocols as Felix writes them in flow logs and Goldmane (felix/collector/utils/utils.go
// protoNames, release-v3.30 to HEAD) and as rules name them (api/pkg/lib/numorstring/protocol.go).

import { describe, expect, test } from '@jest/globals';
import { parseProtocol, protocolHasPorts } from '../../src/calico/protocol.ts';

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
    expect(['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPv6', 'UDPLite', 4, 50].map((p) => protocolHasPorts(p as never))).toEqual([true, true, true, false, false, false, false, false]);
  });
});
