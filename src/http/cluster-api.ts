// The cluster part of the public port: health for PM2 and load balancers, and membership
// administration. Membership changes are made at the leader; a follower passes them on.

import express, { type Request, type Response, type Router } from 'express';
import { request as undiciRequest } from 'undici';
import { ConsensusError } from '../consensus/errors.ts';
import type { ClusterNode } from '../server/cluster-node.ts';
import { parseAddress } from '../server/cluster-node.ts';

/** Consensus error codes → HTTP status (the only place that maps them). */
export function statusOf(code: string): number {
  switch (code) {
    case 'INVALID':
      return 400;
    case 'NOT_LEADER':
    case 'NOT_READY':
    case 'TRANSFERRING':
    case 'SHUTTING_DOWN':
      return 503;
    case 'CONF_PENDING':
    case 'NOT_CAUGHT_UP':
    case 'SUPERSEDED':
    case 'DROPPED':
      return 409;
    case 'TIMEOUT':
    case 'PROMOTION_TIMEOUT':
    case 'UNKNOWN':
      return 504;
    default:
      return 500;
  }
}

function fail(res: Response, e: unknown): void {
  const err = e instanceof ConsensusError ? e : new ConsensusError('UNKNOWN', (e as Error).message ?? String(e));
  res.status(statusOf(err.code)).json({ code: err.code, message: err.message, leader: err.leader ?? null });
}

export function clusterRouter(node: ClusterNode): Router {
  const r = express.Router();

  r.get('/muster/v1/health', (_req: Request, res: Response) => {
    const s = node.raft.status();
    const role = s.role === 'leader' ? 'leader' : s.role === 'follower' ? (s.conf.voters.includes(s.id) ? 'follower' : 'learner') : 'candidate';
    const serving = s.lead !== null;
    res.status(serving ? 200 : 503).json({
      status: serving ? 'UP' : 'DOWN',
      nodeId: s.id,
      role,
      leader: s.lead,
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: s.applied,
    });
  });

  r.get('/muster/v1/cluster', (_req: Request, res: Response) => {
    const s = node.raft.status();
    const members = [...s.conf.voters.map((id) => ({ id, voter: true })), ...s.conf.learners.map((id) => ({ id, voter: false }))];
    res.json({
      nodeId: s.id,
      leader: s.lead,
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      firstIndex: s.firstIndex,
      members: members.map((m) => ({
        id: m.id,
        address: s.conf.addresses[m.id] ?? null,
        role: m.id === s.lead ? 'leader' : m.voter ? 'follower' : 'learner',
        match: s.progress[m.id]?.match ?? null,
        /** Replication state as the leader sees it: probe, replicate, or snapshot (a transfer in progress). */
        state: s.progress[m.id]?.state ?? null,
        lastContact: node.lastContact(m.id),
      })),
    });
  });

  /** Runs `op` at the leader: here when leading, else proxied once to the leader's public port. */
  const atLeader = async (req: Request, res: Response, op: () => Promise<unknown>) => {
    const s = node.raft.status();
    if (s.role === 'leader') {
      try {
        res.json((await op()) ?? { ok: true });
      } catch (e) {
        fail(res, e);
      }
      return;
    }
    const addr = s.lead ? parseAddress(s.conf.addresses[s.lead] ?? '') : undefined;
    if (!addr || req.get('x-muster-forwarded')) {
      fail(res, new ConsensusError('NOT_LEADER', s.lead ? `leader ${s.lead} has no known address` : 'no leader known; retry shortly', { leader: s.lead }));
      return;
    }
    let up;
    try {
      up = await undiciRequest(`http://${addr.host}:${addr.httpPort}${req.originalUrl}`, {
        method: req.method as 'POST' | 'DELETE',
        body: req.method === 'DELETE' ? undefined : JSON.stringify(req.body ?? {}),
        headers: { 'content-type': 'application/json', 'x-muster-forwarded': '1' },
      });
    } catch (e) {
      // Refused before anything was sent: the leader did nothing. Otherwise the request may have
      // reached it and the change may be under way: the outcome is unknown (504), not NOT_LEADER.
      const refused = (e as { code?: string }).code === 'ECONNREFUSED';
      const why = `passing the request to leader ${s.lead} failed: ${(e as Error).message}`;
      fail(res, new ConsensusError(refused ? 'NOT_LEADER' : 'UNKNOWN', refused ? why : `${why}; it may have been applied — check the cluster and retry`, { leader: s.lead }));
      return;
    }
    let text: string;
    try {
      text = await up.body.text();
    } catch (e) {
      fail(res, new ConsensusError('UNKNOWN', `the answer of leader ${s.lead} was lost: ${(e as Error).message}; the change may have been applied — check the cluster and retry`, { leader: s.lead }));
      return;
    }
    res.status(up.statusCode).type('application/json').send(text);
  };

  r.post('/muster/v1/cluster/nodes', express.json(), (req: Request, res: Response) => {
    const { id, address } = (req.body ?? {}) as { id?: unknown; address?: unknown };
    if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) return fail(res, new ConsensusError('INVALID', 'id: required, 1-64 characters of A-Z a-z 0-9 _ . -'));
    if (typeof address !== 'string' || !parseAddress(address)) return fail(res, new ConsensusError('INVALID', 'address: required, as host:httpPort:peerPort'));
    // Idempotent, so a joining node that retries (or restarts mid-join) completes: an existing
    // learner is promoted, an existing voter is left alone.
    void atLeader(req, res, async () => {
      const conf = node.raft.status().conf;
      if (conf.voters.includes(id)) return { id, address: conf.addresses[id] ?? address, voter: true };
      const c = conf.learners.includes(id) ? await node.raft.promote(id) : await node.raft.addNode(id, address);
      return { id, address, voter: true, promotedAt: c.index };
    });
  });

  r.delete('/muster/v1/cluster/nodes/:id', (req: Request, res: Response) => {
    const id = String(req.params.id);
    void atLeader(req, res, async () => {
      const c = await node.raft.changeConf({ type: 'remove', node: id });
      return { id, removedAt: c.index };
    });
  });

  r.post('/muster/v1/cluster/leader', express.json(), (req: Request, res: Response) => {
    const { to } = (req.body ?? {}) as { to?: unknown };
    if (typeof to !== 'string') return fail(res, new ConsensusError('INVALID', 'to: required, the id of a voter'));
    void atLeader(req, res, async () => {
      await node.raft.transferLeader(to);
      return { leader: to };
    });
  });

  return r;
}
