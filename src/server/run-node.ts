// Running a node process: configuration (a bad value stops the process naming the field),
// logging, the public port (cluster API plus the caller's routes), the peer port, joining an
// existing cluster, scheduled snapshots, and the SIGTERM sequence.

import { createServer } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import type { RootDatabase } from 'lmdb';
import { schedule } from 'node-cron';
import pino from 'pino';
import type { StateMachine } from '../consensus/state-machine.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { clusterRouter } from '../http/cluster-api.ts';
import { ClusterNode, nodeAddress } from './cluster-node.ts';

export interface RunNodeOptions<S extends StateMachine> {
  defaultsPath: string;
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  stateMachine(root: RootDatabase, config: Readonly<Config>): S;
  /** Rewrites a proposal at the leader just before it is appended (see ClusterNodeOptions). */
  stamp?(data: Uint8Array): Uint8Array;
  /** Adds the product's (or a test's) routes to the public app (and, through the node, to the
   * peer port); may return what to start once the node runs and stop at shutdown. */
  routes?(app: Express, node: ClusterNode, sm: S, config: Readonly<Config>, logger: pino.Logger): void | ProductHooks;
}

export interface ProductHooks {
  /** Called once the node and its public port are up. */
  start?(): void | Promise<void>;
  /** Called first at shutdown, before the node stops. */
  stop?(): void | Promise<void>;
}

export async function runNode<S extends StateMachine>(o: RunNodeOptions<S>): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig({ defaultsPath: o.defaultsPath, argv: o.argv, env: o.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`muster: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } });
  let sm!: S;
  const node = new ClusterNode({ config, logger, stateMachine: (root) => (sm = o.stateMachine(root, config)), ...(o.stamp ? { stamp: o.stamp } : {}) });

  const app = express();
  app.disable('x-powered-by');
  // No ETag on answers (Nacos sends none, and no client here revalidates): hashing every body was
  // 1.3% of a busy leader's main thread (profile at c=64).
  app.set('etag', false);
  app.use(clusterRouter(node));
  const hooks = o.routes?.(app, node, sm, config, logger) ?? {};
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: 'NOT_FOUND', message: 'no such endpoint' });
  });

  await node.start();
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpPort, '0.0.0.0', () => resolve());
  }).catch((e: Error) => {
    logger.fatal({ err: e.message, httpPort: config.httpPort }, 'cannot listen on the public port');
    process.exit(1);
  });
  logger.info({ httpPort: config.httpPort, peerPort: config.peerPort, dataDir: config.dataDir }, 'muster node serving');
  await Promise.resolve(hooks.start?.()).catch((e: Error) => {
    logger.fatal({ err: e.message }, 'cannot start the registry');
    process.exit(1);
  });

  const snapshots = schedule(config.raft.snapshotCron, () => {
    node.raft.requestSnapshot().then(
      (meta) => meta && logger.info({ index: meta.index, bytes: meta.size }, 'scheduled snapshot taken'),
      (err: Error) => logger.warn({ err: err.message }, 'scheduled snapshot failed'),
    );
  });

  if (config.join) void join(config, logger);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new requests, handing over leadership, flushing');
    void snapshots.stop();
    server.close();
    Promise.resolve(hooks.stop?.())
      .catch((e: Error) => logger.warn({ err: e.message }, 'stopping the registry failed'))
      .then(() => node.stop())
      .then(
      () => process.exit(0),
      (e: Error) => {
        logger.error({ err: e.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Asks a member (any: followers pass it to the leader) to add this node; retries until accepted. */
async function join(config: Readonly<Config>, logger: pino.Logger): Promise<void> {
  const address = nodeAddress(config.host, config.httpPort, config.peerPort);
  for (;;) {
    try {
      const r = await fetch(`http://${config.join}/muster/v1/cluster/nodes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: config.nodeId, address }),
      });
      const body = (await r.json().catch(() => ({}))) as { code?: string; message?: string };
      if (r.ok) {
        logger.info({ via: config.join }, 'joined the cluster as a voter');
        return;
      }
      logger.info({ status: r.status, code: body.code, message: body.message }, 'join not accepted yet; retrying');
    } catch (e) {
      logger.info({ err: (e as Error).message, via: config.join }, 'join target unreachable; retrying');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
