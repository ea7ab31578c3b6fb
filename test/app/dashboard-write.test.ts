// A person's tick or untick that a dashboard write overwrote is told by that write's own
// `issues.edited` webhook: "changes.body.from: the previous version of the body"
// (webhook-issues-edited in @octokit/openapi-webhooks-types). GitHub's issue update takes no
// precondition (issues/update in @octokit/openapi's api.github.com.json), so this is how a choice
// made between a run's re-read and its write survives (test/reliability/people.test.ts runs it
// end to end, at every request of a run).

import { describe, expect, test } from '@jest/globals';
import { type DashboardContent, dashboardBoxes, RUN_NOW, renderDashboard, withDashboardBoxes } from '../../src/app/render/dashboard.ts';
import { restoreOverwrittenBoxes } from '../../src/app/run/restore-boxes.ts';
import { overwrittenBoxes, withWriteRecord, writeRecordOf } from '../../src/app/state/dashboard-write.ts';

const content = (ticked: { run?: boolean; recreate?: string[] } = {}): DashboardContent => ({
  lastRun: null,
  configErrors: [],
  clusters: [
    {
      name: 'prod',
      path: 'clusters/prod',
      namespaces: [
        { namespace: 'old', state: 'Dismissed', lastUpdated: null },
        { namespace: 'web', state: 'Dismissed', lastUpdated: null },
      ],
      errors: [],
      warnings: [],
    },
  ],
  state: { v: 1, flowsReadUntil: {}, pending: {}, pendingEndpoints: {}, accepted: {}, dismissed: ['prod/old', 'prod/web'] },
  ticked: { run: ticked.run ?? false, recreate: new Set(ticked.recreate ?? []) },
});

/** The body a run re-read, and what it wrote from it (serving `took`). */
function write(reRead: string, ticked: { run?: boolean; recreate?: string[] }, took: string[] = []): string {
  return withWriteRecord(renderDashboard(content(ticked)), reRead, took);
}

const tick = (body: string, box: string, ticked = true) => withDashboardBoxes(body, new Map([[box, ticked]]));

describe('boxes a dashboard write overwrote', () => {
  const before = write('', {});

  test('nothing when nobody edited between the re-read and the write', () => {
    const reRead = tick(before, 'prod/web');
    // The run served web's tick (it proposes web again): unticked on purpose.
    const written = write(reRead, {}, ['prod/web']);
    expect(overwrittenBoxes(reRead, written)).toEqual(new Map());
  });

  test("a tick made after the re-read is the person's, unless the write served that box", () => {
    const reRead = before;
    const person = tick(before, 'prod/web');
    const written = write(reRead, {});
    expect(dashboardBoxes(written).get('prod/web')).toBe(false);
    expect(overwrittenBoxes(person, written)).toEqual(new Map([['prod/web', true]]));
    // Run now, too.
    expect(overwrittenBoxes(tick(before, RUN_NOW), written)).toEqual(new Map([[RUN_NOW, true]]));
    // A box the write served was ticked before its re-read: not a choice it overwrote.
    expect(overwrittenBoxes(person, write(reRead, {}, ['prod/web']))).toEqual(new Map());
  });

  test('an untick made after the re-read is restored as an untick', () => {
    // old is remembered as asked for (the bot keeps its box ticked); the person unticks it.
    const reRead = write('', { recreate: ['prod/old'] });
    const person = tick(reRead, 'prod/old', false);
    const written = write(reRead, { recreate: ['prod/old'] });
    expect(overwrittenBoxes(person, written)).toEqual(new Map([['prod/old', false]]));
  });

  test('only a body exactly as the bot wrote it carries a record: any other edit does not count as its write', () => {
    const written = write(before, {});
    expect(writeRecordOf(written)).not.toBeNull();
    const edited = tick(written, 'prod/old');
    expect(writeRecordOf(edited)).toBeNull();
    expect(overwrittenBoxes(tick(before, 'prod/web'), edited)).toEqual(new Map());
    expect(writeRecordOf(renderDashboard(content()))).toBeNull();
  });

  test('boxes are read and set in place, whatever else the body says', () => {
    const body = tick(tick(renderDashboard(content()), RUN_NOW), 'prod/old');
    expect(dashboardBoxes(body)).toEqual(
      new Map([
        [RUN_NOW, true],
        ['prod/old', true],
        ['prod/web', false],
      ]),
    );
    // A box the body does not show stays absent.
    expect(withDashboardBoxes(body, new Map([['prod/gone', true]]))).toBe(body);
    expect(
      dashboardBoxes(
        withDashboardBoxes(
          body,
          new Map([
            [RUN_NOW, false],
            ['prod/web', true],
          ]),
        ),
      ),
    ).toEqual(
      new Map([
        [RUN_NOW, false],
        ['prod/old', true],
        ['prod/web', true],
      ]),
    );
  });
});

describe('putting back what a write overwrote (the run does it, from the recorded webhook: run/restore-boxes.ts)', () => {
  const before = write('', {});
  const person = tick(before, 'prod/web');
  const written = write(before, {});

  test('the box goes back as the person set it, in a write that itself overwrote nothing', () => {
    const restored = restoreOverwrittenBoxes(person, written, written)!;
    expect(restored.restored).toEqual(new Map([['prod/web', true]]));
    expect(dashboardBoxes(restored.body).get('prod/web')).toBe(true);
    // Its own webhook (from: the dashboard as it was, to: the restoring write) asks for nothing more.
    expect(overwrittenBoxes(written, restored.body)).toEqual(new Map());
    // Recorded twice (a redelivery): the second finds the box as the person set it, and leaves it.
    expect(restoreOverwrittenBoxes(person, written, restored.body)).toBeNull();
  });

  test('nothing when the write overwrote nothing, or the box changed since (a later choice, or a run serving it)', () => {
    expect(restoreOverwrittenBoxes(before, write(before, {}), written)).toBeNull();
    expect(restoreOverwrittenBoxes(person, written, tick(written, 'prod/web', true))).toBeNull();
  });
});
