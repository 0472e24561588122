// The registry as the HTTP layer sees it: writes become commands committed through Raft (from
// any node: ClusterNode.propose forwards to the leader and answers once THIS node applied it),
// reads come from the local applied views, or after a ReadIndex round when linearizable.

import { randomUUID } from 'node:crypto';
import type { Committed } from '../consensus/driver.ts';
import type { ApplyResult, DatumStore } from './datum-store.ts';
import { encodeCommand } from './datum-store.ts';
import type { RegistryCommand } from './commands.ts';
import { RegistryError } from './errors.ts';
import { RegistryViews } from './views.ts';

export interface RegistryDeps {
  store: DatumStore;
  /** Commits a command through the leader; resolves once this node applied it. Rejects with ConsensusError. */
  propose(data: Uint8Array): Promise<Committed>;
  /** Runs `serve` once this node applied a read index confirmed by the leader. */
  readIndex<T>(serve: () => T): Promise<T>;
}

export class Registry {
  readonly views: RegistryViews;

  constructor(private readonly deps: RegistryDeps) {
    this.views = new RegistryViews(deps.store);
  }

  /** A new request id, for a request that came without one. */
  static requestId(): string {
    return randomUUID();
  }

  /**
   * Commits `cmd` with `requestId` (the client's, or Registry.requestId()); resolves with the
   * handler's result once this node applied it. Rejects RegistryError for a rejection in apply,
   * ConsensusError for an outcome of consensus (UNKNOWN: a retry with the same id is safe).
   */
  async write(cmd: RegistryCommand, requestId: string): Promise<unknown> {
    const c = await this.deps.propose(encodeCommand({ ...cmd, requestId }));
    const r = c.result as ApplyResult | undefined;
    // undefined: applied long ago (beyond the driver's window of results) — it was applied.
    if (r && !r.ok) throw new RegistryError(r.code, r.message);
    return r?.result;
  }

  /** Serves `read` from local applied state, or after a ReadIndex round when `linearizable`. */
  read<T>(linearizable: boolean, read: () => T): Promise<T> {
    return linearizable ? this.deps.readIndex(read) : Promise.resolve(read());
  }
}
