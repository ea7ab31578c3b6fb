import { describe, expect, test } from '@jest/globals';
import { type RepositoryKey, Scheduler } from '../../src/app/scheduler.ts';

const key: RepositoryKey = { installationId: 1, owner: 'acme', repo: 'policies' };

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('scheduler', () => {
  test('a scheduled tick finding a run in progress is skipped, not queued', async () => {
    const runs: string[] = [];
    const g = gate();
    const scheduler = new Scheduler({
      run: async (_k, trigger) => {
        runs.push(trigger);
        await g.opened;
      },
    });
    const first = scheduler.tick(key);
    expect(scheduler.isRunning(key)).toBe(true);
    expect(await scheduler.tick(key)).toBe('skipped');
    g.open();
    expect(await first).toBe('ran');
    expect(runs).toEqual(['schedule']);
  });

  test("a person's requests during a run are served once, right after it", async () => {
    const runs: string[] = [];
    const g = gate();
    const scheduler = new Scheduler({
      run: async (_k, trigger) => {
        runs.push(trigger);
        if (runs.length === 1) await g.opened;
      },
    });
    const first = scheduler.tick(key);
    const a = scheduler.request(key, 'comment');
    const b = scheduler.request(key, 'dashboard');
    void scheduler.tick(key); // skipped
    g.open();
    await Promise.all([first, a, b]);
    expect(runs).toEqual(['schedule', 'dashboard']);
    expect(scheduler.isRunning(key)).toBe(false);
  });

  test('a failing run is reported and does not block the next', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const scheduler = new Scheduler({
      run: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
      },
      onError: (_k, e) => errors.push(e),
    });
    await scheduler.request(key, 'a');
    await scheduler.request(key, 'b');
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });

  test('scheduled ticks run only where allowed (the leader)', async () => {
    let leader = false;
    let calls = 0;
    const scheduler = new Scheduler({ run: async () => void calls++, mayRunScheduled: () => leader });
    scheduler.schedule(key, '* * * * * *', 'UTC');
    await new Promise((r) => setTimeout(r, 1300));
    expect(calls).toBe(0);
    leader = true;
    await new Promise((r) => setTimeout(r, 1300));
    await scheduler.stop();
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  test('losing the leadership aborts scheduled runs in progress, not runs people asked for', async () => {
    const seen: string[] = [];
    const g = gate();
    const scheduler = new Scheduler({
      run: async (_k, trigger, signal) => {
        await g.opened;
        seen.push(`${trigger}:${signal.aborted ? 'aborted' : 'ran'}`);
      },
    });
    const other: RepositoryKey = { ...key, repo: 'other' };
    const scheduled = scheduler.tick(key);
    const requested = scheduler.request(other, 'comment');
    scheduler.abortScheduled();
    g.open();
    await Promise.all([scheduled, requested]);
    expect(seen.sort()).toEqual(['comment:ran', 'schedule:aborted']);
  });

  test('rescheduling with the same schedule keeps the task; unscheduling removes it', async () => {
    const scheduler = new Scheduler({ run: async () => undefined });
    scheduler.schedule(key, '0 * * * *', 'UTC');
    scheduler.schedule(key, '0 * * * *', 'UTC');
    expect(scheduler.scheduled()).toEqual([key]);
    scheduler.unschedule(key);
    expect(scheduler.scheduled()).toEqual([]);
    await scheduler.stop();
  });

  test('a burst of settled requests (pushes) waits, then one run serves it; stop() cancels a burst still waiting', async () => {
    const runs: string[] = [];
    const waiting: (() => Promise<void>)[] = [];
    let cancelled = 0;
    const scheduler = new Scheduler({
      run: async (_k, trigger) => void runs.push(trigger),
      settle: (start) => {
        waiting.push(start);
        return () => void cancelled++;
      },
    });
    for (let i = 0; i < 500; i++) scheduler.requestSettled(key, `push ${i}`);
    expect(runs).toEqual([]);
    expect(waiting).toHaveLength(1);
    await waiting.shift()!();
    expect(runs).toEqual(['push 0']);
    // The next burst waits again; stopping cancels it.
    scheduler.requestSettled(key, 'push 500');
    expect(waiting).toHaveLength(1);
    await scheduler.stop();
    expect(cancelled).toBe(1);
  });

  test('a burst that settles during a run is served by one more run right after it', async () => {
    const runs: string[] = [];
    const g = gate();
    const waiting: (() => Promise<void>)[] = [];
    const scheduler = new Scheduler({
      run: async (_k, trigger) => {
        runs.push(trigger);
        if (runs.length === 1) await g.opened;
      },
      settle: (start) => {
        waiting.push(start);
        return () => undefined;
      },
    });
    const first = scheduler.request(key, 'comment');
    scheduler.requestSettled(key, 'push');
    const settled = waiting.shift()!();
    g.open();
    await Promise.all([first, settled]);
    expect(runs).toEqual(['comment', 'push']);
  });
});
