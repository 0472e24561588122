// The registry's apply (command handlers and what they use) reads no clock, no global
// randomness and does no I/O: the same log gives the same datums on every node (DESIGN §5).
// The datum store itself writes LMDB (its one I/O) and is checked for clocks and randomness.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/** Pure: may import only each other (and types of the datum store). */
const PURE = ['handlers.ts', 'commands.ts', 'model.ts', 'names.ts', 'texts.ts', 'errors.ts'];

const FORBIDDEN = [/\bDate\b/, /Math\.random/, /\bperformance\b/, /\bset(Timeout|Interval|Immediate)\b/, /\bqueueMicrotask\b/, /\bprocess\./, /\brequire\(/, /\bfetch\(/, /randomUUID/];

function code(file: string): string {
  const src = readFileSync(new URL(`../../src/registry/${file}`, import.meta.url), 'utf8');
  return src.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

describe("registry apply purity", () => {
  for (const file of PURE) {
    it(`${file} uses no clock, no global randomness, no I/O`, () => {
      const c = code(file);
      for (const m of c.matchAll(/\bfrom\s+'([^']+)'/g)) {
        const target = m[1]!;
        assert.ok(target.startsWith('./'), `${file} imports ${target}`);
        assert.ok(PURE.includes(target.slice(2)) || target === './datum-store.ts', `${file} imports ${target}, which is not pure`);
      }
      for (const re of FORBIDDEN) assert.doesNotMatch(c, re, `${file} matches ${re}`);
    });
  }

  it('datum-store.ts reads no clock and no global randomness (apply takes time from the command)', () => {
    const c = code('datum-store.ts');
    for (const re of FORBIDDEN.slice(0, 3)) assert.doesNotMatch(c, re, `datum-store.ts matches ${re}`);
  });
});
