// Real node processes on loopback for cluster tests: free ports, spawn, health, kill, restart.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterIdFor } from '../../src/server/cluster-id.ts';

/**
 * A port for a child process to bind. Taken below the kernel's ephemeral range (32768+ here),
 * where listen(0) in other test files never lands, from a block that depends on this process id
 * (test files run in parallel processes), checked free, and never handed out twice.
 */
const handedOut = new Set<number>();
const BASE = 20_000 + ((process.pid * 37) % 600) * 20; // 20000..31980

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let k = 0; k < 12_000; k++) {
    const port = 20_000 + ((BASE - 20_000 + k) % 12_000);
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range');
}

export interface ProcNode {
  id: string;
  httpPort: number;
  peerPort: number;
  proc: ChildProcess | undefined;
  log: string[];
}

export class ProcCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'muster-cluster-'));
  readonly nodes = new Map<string, ProcNode>();
  readonly token = 'cluster-test-token';

  constructor(readonly entry: string, readonly extraEnv: Record<string, string> = {}) {}

  async define(ids: string[]): Promise<void> {
    for (const id of ids) this.nodes.set(id, { id, httpPort: await freePort(), peerPort: await freePort(), proc: undefined, log: [] });
  }

  /** Defines `ids`, starts them as one cluster bootstrapped from their peer list, and returns
   * that list (MUSTER_PEERS), for restarts. */
  async bootstrap(ids: string[], args: string[] = []): Promise<string> {
    await this.define(ids);
    const peers = this.peersEnv(ids);
    for (const id of ids) this.start(id, { MUSTER_PEERS: peers }, args);
    return peers;
  }

  /** The cluster id that bootstrapping `ids` gives (src/server/cluster-id.ts). */
  clusterId(ids: string[]): string {
    return clusterIdFor(ids, Object.fromEntries(ids.map((id) => [id, `127.0.0.1:${this.nodes.get(id)!.httpPort}:${this.nodes.get(id)!.peerPort}`])));
  }

  peersEnv(ids: string[]): string {
    return ids.map((id) => `${id}=127.0.0.1:${this.nodes.get(id)!.httpPort}:${this.nodes.get(id)!.peerPort}`).join(',');
  }

  start(id: string, env: Record<string, string>, args: string[] = []): void {
    const n = this.nodes.get(id)!;
    const proc = spawn(process.execPath, ['--import', 'tsx', this.entry, ...args], {
      env: {
        ...process.env,
        MUSTER_NODE_ID: id,
        MUSTER_HOST: '127.0.0.1',
        MUSTER_HTTP_PORT: String(n.httpPort),
        MUSTER_PEER_PORT: String(n.peerPort),
        MUSTER_DATA_DIR: this.dir,
        MUSTER_CLUSTER_TOKEN: this.token,
        MUSTER_LOG_LEVEL: 'warn',
        ...this.extraEnv,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      n.log.push(b.toString());
      if (n.log.length > 200) n.log.shift();
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    n.proc = proc;
  }

  /** Signals the process and resolves with its exit code (null when killed by the signal). */
  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const n = this.nodes.get(id)!;
    const p = n.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p?.exitCode ?? null);
    return new Promise((resolve) => {
      p.once('exit', (code) => resolve(code));
      p.kill(signal);
    });
  }

  url(id: string, path: string): string {
    return `http://127.0.0.1:${this.nodes.get(id)!.httpPort}${path}`;
  }

  async health(id: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
    try {
      const r = await fetch(this.url(id, '/muster/v1/health'), { signal: AbortSignal.timeout(1000) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    } catch {
      return undefined;
    }
  }

  /** Polls until `pred` holds or `ms` pass. */
  async until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${this.dump()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async leader(ids: string[]): Promise<string> {
    return this.until('a leader', async () => {
      for (const id of ids) {
        const h = await this.health(id);
        if (h?.body.role === 'leader') return id;
      }
      return undefined;
    });
  }

  dump(): string {
    return [...this.nodes.values()].map((n) => `--- ${n.id}\n${n.log.join('').slice(-3000)}`).join('\n');
  }

  async shutdown(): Promise<void> {
    for (const id of this.nodes.keys()) await this.kill(id, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
