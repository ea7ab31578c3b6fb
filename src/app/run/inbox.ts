// What webhooks recorded for a repository's next run. A webhook handler does nothing to GitHub
// itself: it records what the event alone can tell, asks for a run, and the run (which observes
// the whole state under the run lock) carries it out and converges, as controller-runtime's event
// handlers only enqueue and its reconciler observes and acts (kubernetes-sigs/controller-runtime
// pkg/handler/enqueue.go, pkg/reconcile/reconcile.go). Every record is a hint the run checks
// against what GitHub shows now, so a record seen twice (a redelivery, a second replica) changes
// nothing more, and a run with nothing recorded still converges from what GitHub shows.

/** What one event told. */
export type InboxRecord =
  /** A pull request of the bot was closed or merged: its branch (the run looks at its latest PR, even with a cold view). */
  | { readonly kind: 'closed'; readonly branch: string }
  /**
   * `/policy-recommender rebase` on an open pull request of the bot: the comment's `id`
   * (webhook-issue-comment-created in @octokit/openapi-webhooks-types); the PR's state records
   * the ids it served.
   */
  | { readonly kind: 'rebase'; readonly pr: number; readonly comment: number }
  /**
   * The bot's own write of the dashboard `issue`: the body it replaced (`changes.body.from`,
   * which only the webhook tells) and the body written (state/dashboard-write.ts).
   */
  | { readonly kind: 'dashboard-write'; readonly issue: number; readonly from: string; readonly to: string };

/** At most this many records wait per repository (while its runs fail): the oldest go first. */
const MAX_RECORDS = 1000;

/** Records of one process, per repository; a run takes those it served. */
export class Inbox {
  readonly #records = new Map<string, InboxRecord[]>();

  record(repository: string, record: InboxRecord): void {
    const list = this.#records.get(repository) ?? [];
    list.push(record);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
    this.#records.set(repository, list);
  }

  /** The records waiting for the repository's next run, oldest first. */
  peek(repository: string): readonly InboxRecord[] {
    return [...(this.#records.get(repository) ?? [])];
  }

  /** Forgets records a run served (those recorded since stay for the next). */
  forget(repository: string, served: readonly InboxRecord[]): void {
    const left = (this.#records.get(repository) ?? []).filter((r) => !served.includes(r));
    if (left.length > 0) this.#records.set(repository, left);
    else this.#records.delete(repository);
  }

  /** Whether a record is still waiting (its run failed, or did not serve it). */
  holds(repository: string, record: InboxRecord): boolean {
    return this.#records.get(repository)?.includes(record) ?? false;
  }
}
