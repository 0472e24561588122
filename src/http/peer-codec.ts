// Peer messages on the wire: msgpack batches, validated on arrival with ajv. A batch with one
// malformed message is refused whole (nothing of it is stepped).

import { Ajv, type ValidateFunction } from 'ajv';
import { Packr } from 'msgpackr';
import { checkMessage } from '../consensus/message-check.ts';
import { MessageType, type Message, type NodeId } from '../consensus/types.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeBatch(msgs: readonly Message[]): Uint8Array {
  return packr.pack(msgs);
}

const nat = { type: 'integer', minimum: 0 } as const;
const id = { type: 'string', minLength: 1, maxLength: 256 } as const;
const conf = {
  type: 'object',
  required: ['voters', 'learners', 'addresses'],
  properties: {
    voters: { type: 'array', items: id },
    learners: { type: 'array', items: id },
    addresses: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;
const change = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['bootstrap', 'addLearner', 'promote', 'remove'] },
    node: id,
    address: { type: 'string' },
    voters: { type: 'array', items: id },
    addresses: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;
const entry = {
  type: 'object',
  required: ['index', 'term', 'type'],
  properties: { index: nat, term: nat, type: { enum: ['normal', 'conf'] }, data: { binary: true }, change },
} as const;
const snapMeta = {
  type: 'object',
  required: ['id', 'index', 'term', 'conf', 'size', 'checksum'],
  properties: { id, index: nat, term: nat, conf, size: nat, checksum: nat },
} as const;
const messageSchema = {
  type: 'object',
  required: ['type', 'from', 'to', 'term'],
  properties: {
    type: { enum: Object.values(MessageType) },
    from: id,
    to: id,
    term: nat,
    index: nat,
    logTerm: nat,
    entries: { type: 'array', items: entry },
    commit: nat,
    reject: { type: 'boolean' },
    rejectHint: nat,
    conflictTerm: nat,
    seq: nat,
    transfer: { type: 'boolean' },
    context: { type: 'string', maxLength: 1024 },
    snap: {
      type: 'object',
      required: ['meta', 'offset', 'done', 'data'],
      properties: { meta: snapMeta, offset: nat, done: { type: 'boolean' }, data: { binary: true } },
    },
    snapId: { type: 'string' },
    offset: nat,
    done: { type: 'boolean' },
  },
} as const;

const ajv = new Ajv({ allErrors: false });
ajv.addKeyword({
  keyword: 'binary',
  schemaType: 'boolean',
  validate: (_schema: boolean, data: unknown) => data instanceof Uint8Array,
  errors: false,
});
const validateBatch: ValidateFunction = ajv.compile({ type: 'array', maxItems: 100_000, items: messageSchema });

export class PeerCodecError extends Error {
  readonly code = 'PEER_BAD_BATCH';
}

/** Decodes and validates a batch: the wire schema, then what each message type needs
 * (message-check.ts), and — when `self` is given — that every message is addressed to it.
 * Throws PeerCodecError naming the message and the field. */
export function decodeBatch(body: Uint8Array, self?: NodeId): Message[] {
  let value: unknown;
  try {
    value = packr.unpack(body);
  } catch (e) {
    throw new PeerCodecError(`body is not msgpack: ${(e as Error).message}`);
  }
  if (!validateBatch(value)) {
    const err = validateBatch.errors?.[0];
    throw new PeerCodecError(`invalid message batch: ${err?.instancePath || '(root)'} ${err?.message ?? 'is invalid'}`);
  }
  const msgs = value as Message[];
  for (let k = 0; k < msgs.length; k++) {
    const m = msgs[k]!;
    const why = self !== undefined && m.to !== self ? `to: addressed to ${m.to}, this is ${self}` : checkMessage(m);
    if (why !== undefined) throw new PeerCodecError(`invalid message batch: /${k} (${m.type}) ${why}`);
  }
  return msgs;
}
