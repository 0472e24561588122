// Wiring only: configuration → storage → Raft node → registry state machine → HTTP servers.

import { DatumStore, stampCommand } from './registry/datum-store.ts';
import { registryHandlers } from './registry/handlers.ts';
import { registryRoutes } from './server/registry-node.ts';
import { runNode } from './server/run-node.ts';

await runNode({
  defaultsPath: new URL('../conf/default.json', import.meta.url).pathname,
  argv: process.argv,
  env: process.env,
  stateMachine: (root, config) => new DatumStore(root, registryHandlers, { requestIdRetentionMs: config.registry.requestIdRetentionMs }),
  // The leader stamps its time into every registry command just before appending it.
  stamp: (data) => stampCommand(data, Date.now()),
  routes: registryRoutes,
});
