// Assertions shared by the Nacos v1 route suites: Nacos' text answers and "refused before
// anything was proposed".

import assert from 'node:assert/strict';
import type request from 'supertest';
import type { Response } from 'supertest';
import type { TestRegistry } from './registry-app.ts';

/** A v1 error: the status and exactly `caused: <msg>;` as text/plain. */
export function v1Error(r: Response, status: number, msg: string): void {
  assert.equal(r.status, status, `status of ${r.text}`);
  assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
  assert.equal(r.text, `caused: ${msg};`);
}

/** A v1 success: 200 and exactly `ok` as text/plain. */
export function okText(r: Response): void {
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
  assert.equal(r.text, 'ok');
}

/** `refused(r, status, msg)`: the request must be refused with that v1 error before anything is
 * proposed (the registry's log does not grow). */
export function refusedBy(registry: () => TestRegistry) {
  return async (r: Promise<Response> | request.Test, status: number, msg: string): Promise<void> => {
    const before = registry().entries.length;
    v1Error(await r, status, msg);
    assert.equal(registry().entries.length, before, `refused request "${msg}" reached the log`);
  };
}
