// nock patches Node's networking for the whole Jest worker, and would stay active for the next
// test file in the same worker (breaking its real local servers). Every file that uses nock calls
// useNock(): intercept and refuse the network while the file runs, restore everything after.

import { afterAll, beforeAll } from '@jest/globals';
import nock from 'nock';

export function useNock(): void {
  beforeAll(() => {
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
  });
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
    nock.restore();
  });
}
