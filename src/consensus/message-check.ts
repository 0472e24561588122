// What each message type must carry before the core may step it. The wire schema (peer-codec.ts)
// checks each field's type; this checks which fields a type needs and that their values hang
// together, so that a confused peer (an older or newer version, a bug, a forged batch with the
// token) can never make the core throw. Used twice: by the peer port, which refuses the whole
// batch (400 naming the field), and by the core itself, which refuses (ignores and reports) a
// message it cannot use. Pure: no I/O.

import type { ConfChange, Entry, Message } from './types.ts';
import { MessageType } from './types.ts';

const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Returns undefined when `m` is usable by its type, else a sentence naming the field. */
export function checkMessage(m: Message): string | undefined {
  if (typeof m.from !== 'string' || m.from.length === 0) return 'from: missing';
  if (typeof m.to !== 'string' || m.to.length === 0) return 'to: missing';
  if (m.from === m.to) return `from: a message from ${m.from} to itself`;
  if (!isNat(m.term) || m.term < 1) return `term: must be a positive integer (got ${String(m.term)})`;
  switch (m.type) {
    case MessageType.App:
      return checkApp(m);
    case MessageType.AppResp:
      if (!isNat(m.index)) return 'index: required in appResp';
      if (m.reject && m.rejectHint !== undefined && !isNat(m.rejectHint)) return 'rejectHint: must be a natural number';
      return undefined;
    case MessageType.Heartbeat:
      if (!isNat(m.commit)) return 'commit: required in heartbeat';
      return undefined;
    case MessageType.HeartbeatResp:
      return undefined;
    case MessageType.PreVote:
    case MessageType.Vote:
      if (!isNat(m.index)) return `index: required in ${m.type}`;
      if (!isNat(m.logTerm)) return `logTerm: required in ${m.type}`;
      if (m.logTerm > m.term) return `logTerm: ${m.logTerm} above the message term ${m.term}`;
      return undefined;
    case MessageType.PreVoteResp:
    case MessageType.VoteResp:
    case MessageType.TimeoutNow:
      return undefined;
    case MessageType.Snap:
      return checkSnap(m);
    case MessageType.SnapResp:
      if (typeof m.snapId !== 'string') return 'snapId: required in snapResp';
      if (m.done && !isNat(m.index)) return 'index: required in a done snapResp';
      if (!m.done && !m.reject && !isNat(m.offset)) return 'offset: required in snapResp';
      return undefined;
    case MessageType.ReadIndex:
      if (typeof m.context !== 'string') return 'context: required in readIndex';
      return undefined;
    case MessageType.ReadIndexResp:
      if (typeof m.context !== 'string') return 'context: required in readIndexResp';
      if (!m.reject && !isNat(m.index)) return 'index: required in an accepted readIndexResp';
      return undefined;
    default:
      return `type: unknown message type ${String((m as { type: unknown }).type)}`;
  }
}

function checkApp(m: Message): string | undefined {
  if (!isNat(m.index)) return 'index: required in app';
  if (!isNat(m.logTerm)) return 'logTerm: required in app';
  if (!isNat(m.commit)) return 'commit: required in app';
  if (!Array.isArray(m.entries)) return 'entries: required in app (may be empty)';
  if (m.logTerm > m.term) return `logTerm: ${m.logTerm} above the message term ${m.term}`;
  let prevTerm = m.logTerm;
  for (let k = 0; k < m.entries.length; k++) {
    const e = m.entries[k]!;
    const why = checkEntry(e);
    if (why) return `entries/${k}/${why}`;
    if (e.index !== m.index + 1 + k) return `entries/${k}/index: ${e.index}, expected ${m.index + 1 + k} (entries follow index, without gaps)`;
    if (e.term < prevTerm || e.term > m.term) return `entries/${k}/term: ${e.term} outside [${prevTerm}, ${m.term}]`;
    prevTerm = e.term;
  }
  return undefined;
}

function checkEntry(e: Entry): string | undefined {
  if (!isNat(e.index) || e.index < 1) return 'index: must be a positive integer';
  if (!isNat(e.term) || e.term < 1) return 'term: must be a positive integer';
  if (e.type === 'conf') {
    if (!e.change) return 'change: required in a conf entry';
    return checkChange(e.change, e.index);
  }
  if (e.type !== 'normal') return `type: unknown entry type ${String(e.type)}`;
  if (e.change !== undefined) return 'change: only in a conf entry';
  return undefined;
}

function checkChange(c: ConfChange, index: number): string | undefined {
  switch (c.type) {
    case 'bootstrap':
      if (index !== 1) return 'change: bootstrap only at index 1';
      if (!Array.isArray(c.voters) || c.voters.length === 0) return 'change/voters: required in bootstrap';
      if (typeof c.addresses !== 'object' || c.addresses === null) return 'change/addresses: required in bootstrap';
      return undefined;
    case 'addLearner':
    case 'promote':
    case 'remove':
      if (typeof c.node !== 'string' || c.node.length === 0) return `change/node: required in ${c.type}`;
      return undefined;
    default:
      return `change/type: unknown change ${String((c as { type: unknown }).type)}`;
  }
}

function checkSnap(m: Message): string | undefined {
  const c = m.snap;
  if (!c || typeof c !== 'object') return 'snap: required in snap';
  const meta = c.meta;
  if (!meta || typeof meta !== 'object') return 'snap/meta: required';
  if (typeof meta.id !== 'string' || meta.id.length === 0) return 'snap/meta/id: required';
  if (!isNat(meta.index) || meta.index < 1) return 'snap/meta/index: must be a positive integer';
  if (!isNat(meta.term) || meta.term < 1 || meta.term > m.term) return `snap/meta/term: must be in [1, ${m.term}]`;
  if (!isNat(meta.size) || !isNat(meta.checksum)) return 'snap/meta: size and checksum required';
  if (!meta.conf || !Array.isArray(meta.conf.voters) || meta.conf.voters.length === 0) return 'snap/meta/conf/voters: required';
  if (!Array.isArray(meta.conf.learners)) return 'snap/meta/conf/learners: required';
  if (typeof meta.conf.addresses !== 'object' || meta.conf.addresses === null) return 'snap/meta/conf/addresses: required';
  if (!isNat(c.offset)) return 'snap/offset: required';
  if (!(c.data instanceof Uint8Array)) return 'snap/data: required';
  if (c.offset + c.data.length > meta.size) return `snap/data: bytes [${c.offset}, ${c.offset + c.data.length}) beyond the image size ${meta.size}`;
  if (typeof c.done !== 'boolean') return 'snap/done: required';
  if (c.done && c.offset + c.data.length !== meta.size) return 'snap/done: the last chunk must end at the image size';
  return undefined;
}
