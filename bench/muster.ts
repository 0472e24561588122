// The Muster cluster under test: real node processes on loopback (src/main.ts, production
// settings from conf/default.json, fresh data dirs; ProcCluster sets the log level to warn).

import { rmSync } from 'node:fs';
import { ProcCluster } from '../test/support/processes.ts';
import { onCleanup } from './cleanup.ts';
import { rssKiB } from './proc-stats.ts';

export class Muster {
  readonly c = new ProcCluster(new URL('../src/main.ts', import.meta.url).pathname);
  ids: string[] = [];
  private readonly undo = onCleanup(() => {
    for (const n of this.c.nodes.values()) n.proc?.kill('SIGKILL');
    rmSync(this.c.dir, { recursive: true, force: true });
  });

  async start(ids: string[]): Promise<void> {
    this.ids = [...ids];
    await this.c.bootstrap(ids);
    await this.leader();
  }

  origin(id: string): string {
    return `http://127.0.0.1:${this.c.nodes.get(id)!.httpPort}`;
  }

  get origins(): string[] {
    return this.ids.map((id) => this.origin(id));
  }

  pid(id: string): number | undefined {
    return this.c.nodes.get(id)?.proc?.pid;
  }

  pids(ids = this.ids): (number | undefined)[] {
    return ids.map((id) => this.pid(id));
  }

  rss(ids = this.ids): Record<string, number | undefined> {
    return Object.fromEntries(ids.map((id) => [id, rssKiB(this.pid(id))]));
  }

  /** The leader among `ids`, as its own health reports (waits up to 20 s). */
  leader(ids = this.ids): Promise<string> {
    return this.c.leader(ids);
  }

  /** The highest term any node reports (undefined ones skipped). */
  async term(ids = this.ids): Promise<number> {
    let t = 0;
    for (const id of ids) t = Math.max(t, Number((await this.c.health(id))?.body.term ?? 0));
    return t;
  }

  async json<T>(id: string, path: string): Promise<T> {
    const r = await fetch(this.c.url(id, path), { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) throw new Error(`GET ${path} at ${id}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  /** Waits until every node in `ids` has applied the leader's commit index (bounded). */
  async settle(ids = this.ids, ms = 60_000): Promise<void> {
    const leader = await this.leader(ids);
    const { commitIndex } = await this.json<{ commitIndex: number }>(leader, '/muster/v1/health');
    await this.c.until(
      'nodes to apply the commit index',
      async () => {
        for (const id of ids) {
          const h = await this.c.health(id);
          if (!h || (h.body.appliedIndex as number) < commitIndex) return undefined;
        }
        return true;
      },
      ms,
    );
  }

  /** Kills every node and removes the data dirs. */
  stop(): void {
    this.undo();
  }
}
