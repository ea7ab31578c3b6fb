// nock helpers for the Elasticsearch flow-source tests (files that use them call useNock()).

import nock from 'nock';
import { Bodies, NODE, SEARCH_PATH } from './es-fixtures.ts';

/** Intercepts `POST /<index>/_search?allow_no_indices=false` and records the bodies. */
export function interceptSearch(bodies: Bodies = new Bodies(), node = NODE): { scope: nock.Interceptor; bodies: Bodies } {
  return { scope: nock(node).post(SEARCH_PATH, bodies.matcher).query({ allow_no_indices: 'false' }), bodies };
}
