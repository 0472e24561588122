// Issue 9, bug 8: the core refuses — never throws on — a message it cannot use.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/consensus/types.ts';
import { Scenario } from '../support/scenario.ts';

describe('the core refuses what it cannot use', () => {
  it('a snap message without snap, a gapped append, a message for another node: ignored, reported, nothing thrown', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    const n2 = s.core('n2');
    const before = JSON.stringify(n2.status());
    const bad = [
      { type: 'snap', from: 'n1', to: 'n2', term: n2.term },
      { type: 'app', from: 'n1', to: 'n2', term: n2.term, index: n2.log.lastIndex(), logTerm: n2.log.lastTerm(), commit: 0, entries: [{ index: n2.log.lastIndex() + 3, term: n2.term, type: 'normal' }] },
      { type: 'heartbeat', from: 'n1', to: 'n3', term: n2.term + 5, commit: 0 },
      { type: 'vote', from: 'n3', to: 'n2', term: n2.term + 5 },
    ] as Message[];
    for (const m of bad) assert.doesNotThrow(() => n2.step(m));
    assert.equal(JSON.stringify(n2.status()), before, 'nothing changed');
    const refused = n2.takeRefused();
    assert.equal(refused.length, 4);
    assert.match(refused[0]!, /snap: required/);
    assert.match(refused[1]!, /entries\/0\/index/);
    assert.match(refused[2]!, /to: addressed to n3/);
    assert.match(refused[3]!, /index: required in vote/);
  });

  it('a leader refuses an acknowledgement beyond its last index (match never passes the log)', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    const n1 = s.core('n1');
    n1.step({ type: 'appResp', from: 'n2', to: 'n1', term: n1.term, index: n1.log.lastIndex() + 100 });
    assert.equal(n1.prs.get('n2')!.match <= n1.log.lastIndex(), true);
    assert.match(n1.takeRefused()[0]!, /beyond the leader's last index/);
  });
});
