// The core reads no clock, no global randomness, and imports nothing that does I/O.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

export const CORE_FILES = [
  'raft.ts',
  'roles.ts',
  'raft-config.ts',
  'membership.ts',
  'step-leader.ts',
  'step-follower.ts',
  'step-candidate.ts',
  'log.ts',
  'progress.ts',
  'quorum.ts',
  'read-only.ts',
  'types.ts',
  'storage.ts',
  'errors.ts',
  'crc32.ts',
  'rand.ts',
  'describe.ts',
  'message-check.ts',
  'lease.ts',
  'ready.ts',
  'election.ts',
];

const FORBIDDEN = [
  /\bDate\b/,
  /Math\.random/,
  /\bperformance\b/,
  /\bset(Timeout|Interval|Immediate)\b/,
  /\bqueueMicrotask\b/,
  /\bprocess\./,
  /\brequire\(/,
  /\bfetch\(/,
];

describe('consensus core purity', () => {
  for (const file of CORE_FILES) {
    it(`${file} uses no clock, no global randomness, no I/O`, () => {
      const src = readFileSync(new URL(`../../src/consensus/${file}`, import.meta.url), 'utf8');
      const code = src.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const m of code.matchAll(/\bfrom\s+'([^']+)'/g)) {
        const target = m[1]!;
        assert.ok(target.startsWith('./'), `${file} imports ${target}`);
        assert.ok(CORE_FILES.includes(target.slice(2)), `${file} imports ${target}, which is not a core file`);
      }
      for (const re of FORBIDDEN) assert.doesNotMatch(code, re, `${file} matches ${re}`);
    });
  }
});
