// What webhooks record for a repository's next run (src/app/run/inbox.ts): a run forgets only the
// records it served; those recorded while it ran, or that it could not serve, wait for the next.

import { describe, expect, test } from '@jest/globals';
import { Inbox, type InboxRecord } from '../../src/app/run/inbox.ts';

describe('the inbox', () => {
  test('a run forgets what it served; what came meanwhile, or what it did not serve, waits', () => {
    const inbox = new Inbox();
    const close: InboxRecord = { kind: 'closed', branch: 'policy-recommender/prod/shop' };
    const rebase: InboxRecord = { kind: 'rebase', pr: 3, comment: 41 };
    inbox.record('7/acme/policies', close);
    inbox.record('7/acme/policies', rebase);
    const taken = inbox.peek('7/acme/policies');
    expect(taken).toEqual([close, rebase]);
    // Recorded during the run (the same event again: another record, served by the next run).
    const again: InboxRecord = { kind: 'closed', branch: 'policy-recommender/prod/shop' };
    inbox.record('7/acme/policies', again);
    inbox.forget('7/acme/policies', [close]);
    expect(inbox.holds('7/acme/policies', close)).toBe(false);
    expect(inbox.holds('7/acme/policies', rebase)).toBe(true);
    expect(inbox.peek('7/acme/policies')).toEqual([rebase, again]);
    inbox.forget('7/acme/policies', [rebase, again]);
    expect(inbox.peek('7/acme/policies')).toEqual([]);
    expect(inbox.peek('7/acme/other')).toEqual([]);
  });

  test('bounded per repository while its runs fail: the oldest records go first', () => {
    const inbox = new Inbox();
    for (let pr = 0; pr < 1005; pr++) inbox.record('r', { kind: 'rebase', pr, comment: pr });
    const held = inbox.peek('r');
    expect(held).toHaveLength(1000);
    expect(held[0]).toEqual({ kind: 'rebase', pr: 5, comment: 5 });
  });
});
