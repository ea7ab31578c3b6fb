// Lines of `hubble observe -o jsonpb` (GetFlowsResponse objects, one per line: observer.proto, the
// hubble CLI's printer encodes them with encoding/json, which compacts protojson's output with
// proto field names, flow.pb.json.go UseProtoNames) and of Hubble's exporter (ExportEvent, the same
// shape), or bare Flow objects, recognised per line among Calico flow-log lines.
//
// The file source's dispatch (withHubbleLines) looks at a line's first key: protojson writes
// fields in field-number order, so a GetFlowsResponse line starts with its oneof member (`flow`,
// `node_status`, `lost_events`; ExportEvent's `agent_event`, `debug_event`) and a bare Flow with
// `time` (field 1). Calico lines start otherwise and go to the Calico parser untouched (their path
// and speed unchanged); a Hubble object with its keys in another order fails that parser for want
// of `start_time` and is tried as Hubble's then.

import type { ParseResult } from '../../calico-flow-log.ts';
import { hubbleEventToRecord, isHubbleEvent } from './to-record.ts';

const HUBBLE_FIRST_KEY = /^\s*\{\s*"(?:flow|node_status|lost_events|agent_event|debug_event|time|uuid|verdict)"\s*:/;
/** What the Calico parsers say of an object without `start_time` (calico-flow-log.ts). */
const NO_START_TIME = 'missing field start_time';

/** One jsonpb line as a record, or why not. */
export function parseHubbleLine(line: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return hubbleEventToRecord(value);
}

/** `parse` (a Calico line parser), with Hubble's lines recognised and read by parseHubbleLine. */
export function withHubbleLines(parse: (line: string) => ParseResult): (line: string) => ParseResult {
  return (line) => {
    if (HUBBLE_FIRST_KEY.test(line)) return parseHubbleLine(line);
    const calico = parse(line);
    if (calico.ok || calico.reason !== NO_START_TIME) return calico;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return calico;
    }
    return typeof value === 'object' && value !== null && !Array.isArray(value) && isHubbleEvent(value as Record<string, unknown>)
      ? hubbleEventToRecord(value)
      : calico;
  };
}
