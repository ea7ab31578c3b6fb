// The one search the Elasticsearch flow source sends (page after page): Elasticsearch groups the
// allowed flow logs of the window by everything that keys a rule, and returns one composite
// bucket per group with its first start, last end and total flow count. Raw documents never leave
// the cluster.
//
// Index mapping assumed (Calico Enterprise's flow-log template): the names, types, namespaces,
// `reporter`, `action`, `proto` and `dest_service_*` are `keyword`; `dest_port` is `long` with
// `null_value: 0` (a log without a port is indexed as port 0); `start_time` / `end_time` are
// `date` in `epoch_second` format (so min / max report epoch *milliseconds*); `num_flows` is
// `long`; `dest_domains` is a multi-valued `keyword`; `policies` is a `nested` object whose
// `all_policies` is a keyword, while `pending_policies` / `enforced_policies` are not mapped at
// all (the template is `dynamic: false`) and exist only in `_source`.
//
// Needs Elasticsearch 7.11+ (runtime fields in a search request). Cost: every page is a new search
// that runs the query and both scripts over every allowed log in the window, and the trace script
// loads each log's `_source`; that is the price of reading the whole trace faithfully, and why
// pages are large (see ElasticsearchSourceOptions.pageSize).

import type { TimeWindow } from '../../source.ts';

/** The composite aggregation's name in the request and the response. */
export const AGGREGATION = 'flows';

/** Names of the runtime fields the request defines; prefixed so they never shadow a real field. */
export const TRACE_FIELD = 'policy_recommender_trace';
export const DOMAINS_FIELD = 'policy_recommender_dest_domains';

/** Separators of the trace encoding (see TRACE_SCRIPT); neither can occur in a valid hit. */
export const TRACE_LIST_SEPARATOR = '\t';
export const TRACE_ENTRY_SEPARATOR = '\n';
/** What the trace script emits for a trace it cannot encode faithfully: the bucket is skipped. */
export const TRACE_INVALID = '!';
/** Tag of each list in the encoding, as `<tag>:<entries>`. */
const TRACE_TAGS = { a: 'all_policies', p: 'pending_policies', e: 'enforced_policies' } as const;

/**
 * The policy trace of one flow log, all three lists, as one string:
 * `a:<hit>\n<hit>...` `\t` `p:...` `\t` `e:...`, a list present only when the log has it (an empty
 * list stays `a:`). Read from `_source`, because `policies` is `nested` (its doc values belong to
 * hidden child documents a root-level script cannot see) and the pending / enforced lists are not
 * indexed at all. Entry order is kept as logged. A trace that cannot be encoded without ambiguity
 * (a separator inside an entry, a value that is not a list of strings) becomes TRACE_INVALID, so
 * it is skipped and counted instead of being misread. No `policies` at all emits nothing: the
 * composite source's missing bucket, i.e. a record without a trace, as in a file.
 */
const TRACE_SCRIPT = `
Object p = params['_source']['policies'];
if (p == null) { return; }
if (p instanceof List) {
  if (((List) p).size() != 1) { emit(params.invalid); return; }
  p = ((List) p).get(0);
}
if (!(p instanceof Map)) { emit(params.invalid); return; }
StringBuilder out = new StringBuilder();
boolean any = false;
for (int i = 0; i < params.lists.size(); i++) {
  Object list = ((Map) p).get(params.lists.get(i));
  if (list == null) { continue; }
  if (!(list instanceof List)) { emit(params.invalid); return; }
  if (any) { out.append(params.listSeparator); }
  any = true;
  out.append(params.tags.get(i)).append(':');
  boolean first = true;
  for (Object entry : (List) list) {
    if (!(entry instanceof String)) { emit(params.invalid); return; }
    String text = (String) entry;
    if (text.indexOf(params.listSeparator) >= 0 || text.indexOf(params.entrySeparator) >= 0) { emit(params.invalid); return; }
    if (!first) { out.append(params.entrySeparator); }
    out.append(text);
    first = false;
  }
}
emit(out.toString());
`.trim();

/** Painless string literals cannot escape a tab or newline: the separators travel as parameters. */
const TRACE_PARAMS = {
  lists: Object.values(TRACE_TAGS),
  tags: Object.keys(TRACE_TAGS),
  listSeparator: TRACE_LIST_SEPARATOR,
  entrySeparator: TRACE_ENTRY_SEPARATOR,
  invalid: TRACE_INVALID,
};

/**
 * A flow's destination domains as one string, joined with `,`. Doc values of a keyword field come
 * sorted and de-duplicated, which is exactly the set semantics the engine gives them. Keeping the
 * whole set in one key (rather than a terms source on the multi-valued field, which would put the
 * flow into one bucket per domain) preserves what the engine does with a flow whose domains are
 * all cluster-internal, partly cluster-internal, or absent.
 */
const DOMAINS_SCRIPT = `
if (!doc.containsKey('dest_domains')) { return; }
def values = doc['dest_domains'];
if (values.size() == 0) { return; }
StringBuilder out = new StringBuilder();
for (String d : values) {
  if (out.length() > 0) { out.append(','); }
  out.append(d);
}
emit(out.toString());
`.trim();

/** Composite source name -> indexed field, in the order Elasticsearch sorts buckets by. */
const KEY_FIELDS = {
  reporter: 'reporter',
  source_type: 'source_type',
  source_namespace: 'source_namespace',
  source_name_aggr: 'source_name_aggr',
  dest_type: 'dest_type',
  dest_namespace: 'dest_namespace',
  dest_name_aggr: 'dest_name_aggr',
  proto: 'proto',
  dest_port: 'dest_port',
  dest_service_namespace: 'dest_service_namespace',
  dest_service_name: 'dest_service_name',
  dest_domains: DOMAINS_FIELD,
  policies: TRACE_FIELD,
} as const;

export type KeyName = keyof typeof KEY_FIELDS;

/** Sub-aggregation names. */
export const START = 'start_time';
export const END = 'end_time';
export const NUM_FLOWS = 'num_flows';

export type AfterKey = Readonly<Record<string, unknown>>;

/** The request body of one page (the index goes in the path, with `allow_no_indices=false`). */
export function searchBody(window: TimeWindow, pageSize: number, after: AfterKey | undefined): Record<string, unknown> {
  return {
    size: 0,
    track_total_hits: false,
    query: {
      bool: {
        filter: [
          // Denied flows are never learned (learn() rejects them first thing, as Calico's own
          // engine does): a rule is only ever recommended for traffic that was allowed, so
          // leaving them in Elasticsearch changes nothing but the "not learned: denied" count.
          { term: { action: 'allow' } },
          // Every log overlapping [from, to). Explicit format: the fields are epoch seconds.
          { range: { end_time: { gte: window.from, format: 'epoch_second' } } },
          { range: { start_time: { lt: window.to, format: 'epoch_second' } } },
        ],
      },
    },
    runtime_mappings: {
      [TRACE_FIELD]: { type: 'keyword', script: { source: TRACE_SCRIPT, params: TRACE_PARAMS } },
      [DOMAINS_FIELD]: { type: 'keyword', script: { source: DOMAINS_SCRIPT } },
    },
    aggs: {
      [AGGREGATION]: {
        composite: {
          size: pageSize,
          // missing_bucket everywhere: a log lacking a field must come back as a null key (and be
          // skipped and counted like a file line), not silently vanish from the aggregation.
          sources: Object.entries(KEY_FIELDS).map(([name, field]) => ({ [name]: { terms: { field, missing_bucket: true } } })),
          ...(after === undefined ? {} : { after }),
        },
        aggs: {
          [START]: { min: { field: 'start_time' } },
          [END]: { max: { field: 'end_time' } },
          // A log without num_flows counts as one flow, as in a file.
          [NUM_FLOWS]: { sum: { field: 'num_flows', missing: 1 } },
        },
      },
    },
  };
}
