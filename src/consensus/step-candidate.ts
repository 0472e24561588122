// (Pre)candidate behaviour: count votes, yield to a leader of the same term.

import { poll } from './election.ts';
import type { RaftCore } from './raft.ts';
import { MessageType, Role, type Message } from './types.ts';
import { stepFollower } from './step-follower.ts';

export function stepCandidate(r: RaftCore, m: Message): void {
  const pre = r.role === Role.PreCandidate;
  switch (m.type) {
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      stepFollower(r, m);
      return;
    case MessageType.PreVoteResp:
      // A granted pre-vote carries the term we would campaign at (term + 1).
      if (pre && (m.reject ? m.term === r.term : m.term === r.term + 1)) poll(r, m.from, !m.reject);
      return;
    case MessageType.VoteResp:
      if (!pre && m.term === r.term) poll(r, m.from, !m.reject);
      return;
    case MessageType.ReadIndex:
      r.send({ type: MessageType.ReadIndexResp, to: m.from, term: r.term, reject: true, context: m.context });
      return;
    default:
      return;
  }
}
