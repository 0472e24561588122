// One-line descriptions of messages, entries and Ready (etcd-io/raft util.go DescribeMessage),
// used in logs, traces and scenario expectations.

import type { ConfChange, Entry, Message, Ready } from './types.ts';

export function describeChange(c: ConfChange): string {
  switch (c.type) {
    case 'bootstrap':
      return `bootstrap(${c.voters.join(',')})`;
    case 'addLearner':
      return `addLearner(${c.node})`;
    case 'promote':
      return `promote(${c.node})`;
    case 'remove':
      return `remove(${c.node})`;
  }
}

export function describeEntry(e: Entry): string {
  const what = e.change ? describeChange(e.change) : e.data ? `${e.data.length}b` : 'empty';
  return `${e.index}/${e.term} ${what}`;
}

export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'app':
      s += ` prev ${m.index}/${m.logTerm} commit ${m.commit}`;
      if (m.entries && m.entries.length > 0) s += ` [${m.entries.map(describeEntry).join(', ')}]`;
      break;
    case 'appResp':
      s += m.reject ? ` REJECT ${m.index} hint ${m.rejectHint}/${m.conflictTerm}` : ` ok ${m.index}`;
      break;
    case 'heartbeat':
      s += ` commit ${m.commit} seq ${m.seq}`;
      break;
    case 'heartbeatResp':
      s += ` seq ${m.seq}`;
      break;
    case 'preVote':
    case 'vote':
      s += ` last ${m.index}/${m.logTerm}${m.transfer ? ' TRANSFER' : ''}`;
      break;
    case 'preVoteResp':
    case 'voteResp':
      s += m.reject ? ' REJECT' : ' GRANT';
      break;
    case 'snap': {
      const c = m.snap!;
      s += ` ${c.meta.id} @${c.meta.index}/${c.meta.term} off ${c.offset} len ${c.data.length}${c.done ? ' DONE' : ''}`;
      break;
    }
    case 'snapResp':
      s += ` ${m.snapId}${m.reject ? ' REJECT' : ''}${m.done ? ` DONE ${m.index}` : ` off ${m.offset}`}`;
      break;
    case 'readIndex':
    case 'readIndexResp':
      s += ` ctx ${m.context}${m.reject ? ' REJECT' : m.index !== undefined ? ` index ${m.index}` : ''}`;
      break;
  }
  return s;
}

export function describeReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.softState) parts.push(`soft ${rd.softState.role} lead=${rd.softState.lead ?? '-'}`);
  if (rd.hardState) parts.push(`hard t${rd.hardState.term} vote=${rd.hardState.vote ?? '-'} commit=${rd.hardState.commit}`);
  for (const o of rd.snapshotOps) parts.push(o.op === 'stage' ? `stage ${o.meta.id}@${o.offset}+${o.data.length}` : o.op === 'install' ? `install ${o.meta.id}` : 'discard staged');
  if (rd.entries.length > 0) parts.push(`persist [${rd.entries.map(describeEntry).join(', ')}]`);
  for (const m of rd.messages) parts.push(`send ${describeMessage(m)}`);
  for (const m of rd.persistedMessages) parts.push(`send-after-persist ${describeMessage(m)}`);
  if (rd.committedEntries.length > 0) parts.push(`apply [${rd.committedEntries.map(describeEntry).join(', ')}]`);
  for (const r of rd.readStates) parts.push(`read ${r.context} ${r.error ?? `@${r.index}${r.lease ? ' lease' : ''}`}`);
  return parts.join('\n');
}
