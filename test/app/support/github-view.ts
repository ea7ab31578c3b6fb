// What a person sees on GitHub of the bot's pull requests and dashboard, for golden files
// (test/support/golden.ts): the text GitHub shows, without what changes from run to run and no
// reviewer reads (the hidden state: commit ids, the engine's version; the run's duration).

import type { PullRequestSnapshot } from '../../support/fake-github.ts';

/** A pull request as a reviewer sees it: title, draft or ready, labels, then the body (its hidden state replaced by a placeholder). */
export function shownPullRequest(pr: PullRequestSnapshot): string {
  const body = pr.body.replace(/<!-- policy-recommender:pr [A-Za-z0-9+/=]+ -->/, '<!-- policy-recommender:pr (hidden state) -->');
  const state = pr.state === 'open' ? (pr.draft ? 'Draft' : 'Ready for review') : pr.state === 'merged' ? 'Merged' : 'Closed';
  return [`# ${pr.title}`, '', `${state} · labels: ${pr.labels.join(', ')}`, '', '---', '', body].join('\n');
}

/** The dashboard's body as GitHub shows it, without the hidden state and the run's duration (wall-clock). */
export function shownDashboard(body: string): string {
  return body
    .replace(/\n*<!-- policy-recommender:write [^>]* -->/, '')
    .replace(/<!-- policy-recommender:dashboard [^>]* -->\n?/, '')
    .replace(/^(Last run that changed this page: [^,]*), [\d.]+ s/m, '$1, <duration>');
}
