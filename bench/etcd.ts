// A 3-member etcd cluster on loopback (fresh temp data dirs, its own ports), driven through its
// JSON gateway by the same load generator. Bench only: skipped when `etcd` is not on PATH.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/processes.ts';
import { onCleanup } from './cleanup.ts';
import type { Target } from './load.ts';

/** etcd's version line, or undefined when it is not on PATH. */
export function etcdVersion(): string | undefined {
  try {
    return execFileSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 }).split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** ~100-byte values, as the registry's instance records are of that order. */
const VALUE = b64('v'.repeat(100));

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  proc: ChildProcess | undefined;
  log: string[];
}

export class EtcdCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'muster-bench-etcd-'));
  readonly members: Member[] = [];
  private readonly undo = onCleanup(() => this.kill());

  async start(size = 3): Promise<void> {
    for (let i = 1; i <= size; i++) this.members.push({ name: `e${i}`, clientPort: await freePort(), peerPort: await freePort(), proc: undefined, log: [] });
    const initial = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
    for (const m of this.members) {
      const client = `http://127.0.0.1:${m.clientPort}`;
      const peer = `http://127.0.0.1:${m.peerPort}`;
      const proc = spawn(
        'etcd',
        [
          '--name', m.name,
          '--data-dir', join(this.dir, m.name),
          '--listen-client-urls', client,
          '--advertise-client-urls', client,
          '--listen-peer-urls', peer,
          '--initial-advertise-peer-urls', peer,
          '--initial-cluster', initial,
          '--initial-cluster-state', 'new',
          '--initial-cluster-token', 'muster-bench',
          '--logger', 'zap',
          '--log-level', 'warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const keep = (b: Buffer) => {
        m.log.push(b.toString());
        if (m.log.length > 100) m.log.shift();
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      m.proc = proc;
    }
    const end = Date.now() + 30_000;
    while ((await this.leaderIndex()) === undefined) {
      if (Date.now() > end) throw new Error(`etcd cluster did not elect a leader in 30 s\n${this.members.map((m) => `--- ${m.name}\n${m.log.join('').slice(-2000)}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  origin(i: number): string {
    return `http://127.0.0.1:${this.members[i]!.clientPort}`;
  }

  get origins(): string[] {
    return this.members.map((_, i) => this.origin(i));
  }

  pids(): (number | undefined)[] {
    return this.members.map((m) => m.proc?.pid);
  }

  /** Index of the member that leads, per every member's status; undefined until all agree. */
  async leaderIndex(): Promise<number | undefined> {
    const ids: string[] = [];
    let leader: string | undefined;
    for (let i = 0; i < this.members.length; i++) {
      try {
        const r = await fetch(`${this.origin(i)}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
        if (!r.ok) return undefined;
        const s = (await r.json()) as { header?: { member_id?: string }; leader?: string };
        if (!s.leader || s.leader === '0' || (leader !== undefined && s.leader !== leader)) return undefined;
        leader = s.leader;
        ids.push(s.header?.member_id ?? '');
      } catch {
        return undefined;
      }
    }
    const i = ids.indexOf(leader ?? '');
    return i >= 0 ? i : undefined;
  }

  /** Puts keys `${prefix}${k}`. */
  put(origin: string, prefix: string): Target {
    return { origin, method: 'POST', path: () => '/v3/kv/put', body: (k) => `{"key":"${b64(prefix + k)}","value":"${VALUE}"}` };
  }

  /** Reads one of `keys` keys `${prefix}${k % keys}`; linearizable unless serializable. */
  range(origin: string, prefix: string, keys: number, serializable: boolean): Target {
    return { origin, method: 'POST', path: () => '/v3/kv/range', body: (k) => `{"key":"${b64(prefix + (k % keys))}"${serializable ? ',"serializable":true' : ''}}` };
  }

  deleteRange(origin: string, prefix: string): Target {
    return { origin, method: 'POST', path: () => '/v3/kv/deleterange', body: (k) => `{"key":"${b64(prefix + k)}"}` };
  }

  private kill(): void {
    for (const m of this.members) m.proc?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills every member and removes the data dirs. */
  stop(): void {
    this.undo();
  }
}
