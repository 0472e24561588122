// muster cluster status|add|remove|transfer — talks to any node's public port.

const USAGE = `usage:
  muster cluster status                          show members, roles, term, commit and applied
  muster cluster add <id> <host:httpPort:peerPort>   add a node (learner → caught up → voter)
  muster cluster remove <id>                     remove a node (leadership moves first if needed)
  muster cluster transfer <id>                   make <id> the leader
options:
  --server host:port   a node's public address (default $MUSTER_SERVER or 127.0.0.1:8848)`;

const HINTS: Record<string, string> = {
  NOT_LEADER: 'no leader is known right now (election in progress?): retry in a few seconds',
  NOT_READY: 'the new leader has not committed its first entry yet: retry in a moment',
  CONF_PENDING: 'another membership change is still being applied: retry when it is done',
  NOT_CAUGHT_UP: 'the new node is still catching up: wait, then retry',
  PROMOTION_TIMEOUT: 'the new node did not catch up in time: check that it is running and reachable on its peer port, then retry the add',
  TRANSFERRING: 'leadership is moving: retry against the new leader in a moment',
  INVALID: 'check the node id and address',
  TIMEOUT: 'the cluster did not answer in time: check `muster cluster status`',
};

interface Member {
  id: string;
  address: string | null;
  role: string;
  match: number | null;
  lastContact: number | null;
}

function fail(msg: string, code = 1): never {
  console.error(`muster: ${msg}`);
  process.exit(code);
}

async function call(server: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`http://${server}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    fail(`cannot reach a Muster node at ${server} (${(e as Error).cause ? String((e as { cause: Error }).cause.message) : (e as Error).message}); is it running? Use --server host:port or MUSTER_SERVER.`);
  }
  const data = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!res.ok) {
    const hint = data.code ? HINTS[data.code] : undefined;
    fail(`${data.code ?? res.status}: ${data.message ?? 'request failed'}${hint ? `\n  → ${hint}` : ''}`);
  }
  return data;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(argv: string[]): Promise<void> {
  let server = process.env.MUSTER_SERVER ?? '127.0.0.1:8848';
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--server') {
      server = argv[++i] ?? fail('--server needs host:port', 2);
    } else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(USAGE);
      return;
    } else args.push(argv[i]!);
  }
  if (args[0] !== 'cluster' || !args[1]) fail(`expected a cluster command\n${USAGE}`, 2);
  const [, cmd, a, b] = args;
  switch (cmd) {
    case 'status': {
      type Status = { nodeId: string; leader: string | null; term: number; commitIndex: number; appliedIndex: number; members: Member[] };
      let s = (await call(server, 'GET', '/muster/v1/cluster')) as Status;
      // The leader's view has every member's match index: ask it when it is not this node.
      const addr = s.leader && s.leader !== s.nodeId ? s.members.find((m) => m.id === s.leader)?.address : undefined;
      const m = addr ? /^(.+):(\d+):\d+$/.exec(addr) : null;
      if (m) {
        const viaLeader = await fetch(`http://${m[1]}:${m[2]}/muster/v1/cluster`, { signal: AbortSignal.timeout(5000) }).then(
          (r) => (r.ok ? (r.json() as Promise<Status>) : undefined),
          () => undefined,
        );
        if (viaLeader) s = viaLeader;
      }
      console.log(`leader ${s.leader ?? '(none)'}  term ${s.term}  commit ${s.commitIndex}  applied ${s.appliedIndex}  (as seen by ${s.nodeId})`);
      console.log(`${pad('ID', 10)}${pad('ROLE', 10)}${pad('ADDRESS', 28)}${pad('MATCH', 8)}LAST CONTACT`);
      for (const m of s.members) {
        const contact = m.lastContact === null ? '-' : `${m.lastContact} ms ago`;
        console.log(`${pad(m.id, 10)}${pad(m.role, 10)}${pad(m.address ?? '-', 28)}${pad(m.match === null ? '-' : String(m.match), 8)}${contact}`);
      }
      return;
    }
    case 'add':
      if (!a || !b) fail(`add needs <id> <host:httpPort:peerPort>\n${USAGE}`, 2);
      await call(server, 'POST', '/muster/v1/cluster/nodes', { id: a, address: b });
      console.log(`${a} added and promoted to voter`);
      return;
    case 'remove':
      if (!a) fail(`remove needs <id>\n${USAGE}`, 2);
      await call(server, 'DELETE', `/muster/v1/cluster/nodes/${encodeURIComponent(a)}`);
      console.log(`${a} removed`);
      return;
    case 'transfer':
      if (!a) fail(`transfer needs <id>\n${USAGE}`, 2);
      await call(server, 'POST', '/muster/v1/cluster/leader', { to: a });
      console.log(`${a} is the leader`);
      return;
    default:
      fail(`unknown cluster command "${cmd}"\n${USAGE}`, 2);
  }
}

await main(process.argv.slice(2));
