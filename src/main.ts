// Wiring only: configuration → storage → Raft node → registry state machine → HTTP servers.

import { DatumStore } from './registry/datum-store.ts';
import { registryHandlers } from './registry/handlers.ts';
import { runNode } from './server/run-node.ts';

await runNode({
  defaultsPath: new URL('../conf/default.json', import.meta.url).pathname,
  argv: process.argv,
  env: process.env,
  stateMachine: (root) => new DatumStore(root, registryHandlers),
});
