// The registry's endpoint on the peer port: a follower's digest of the beats it received
// (DESIGN §6). Body: msgpack { keys: string[] } (beat keys, see BeatTable). Mounted behind the
// peer port's token check; a malformed body is refused (400) and changes nothing.

import { Ajv } from 'ajv';
import express, { type Express, type Request, type Response } from 'express';
import { Packr } from 'msgpackr';
import { request } from 'undici';

const packr = new Packr({ useRecords: false, moreTypes: false });
export const BEATS_PATH = '/registry/beats';
/** Keys per digest at most. */
export const MAX_DIGEST_KEYS = 200_000;

const validate = new Ajv().compile({
  type: 'object',
  required: ['keys'],
  properties: { keys: { type: 'array', maxItems: MAX_DIGEST_KEYS, items: { type: 'string', minLength: 1, maxLength: 2048 } } },
});

export function beatDigestRoute(onDigest: (keys: string[]) => void, logger?: { warn(o: object, m?: string): void }): (app: Express) => void {
  return (app) => {
    app.post(BEATS_PATH, express.raw({ type: () => true, limit: 64 * 1024 * 1024 }), (req: Request, res: Response) => {
      let v: unknown;
      try {
        v = req.body instanceof Uint8Array && req.body.length > 0 ? packr.unpack(req.body) : undefined;
      } catch {
        v = undefined;
      }
      if (!validate(v)) {
        const err = validate.errors?.[0];
        logger?.warn({ remote: req.socket.remoteAddress, err: err?.message }, 'malformed beat digest refused');
        res.status(400).json({ code: 'PEER_BAD_DIGEST', message: `beat digest: ${err ? `${err.instancePath || 'body'} ${err.message}` : 'body must be msgpack { keys: string[] }'}` });
        return;
      }
      onDigest((v as { keys: string[] }).keys);
      res.status(204).end();
    });
  };
}

/** Sends a digest to a peer's base URL with the node's peer headers (token, sender, cluster id);
 * rejects on any failure (the caller keeps the keys). */
export async function sendBeatDigest(baseUrl: string, headers: Record<string, string>, keys: string[]): Promise<void> {
  const res = await request(`${baseUrl}${BEATS_PATH}`, {
    method: 'POST',
    body: packr.pack({ keys }),
    headers: { 'content-type': 'application/msgpack', ...headers },
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  await res.body.dump();
  if (res.statusCode !== 204) throw new Error(`digest answered ${res.statusCode}`);
}
