// The bytes of a datum in LMDB. Msgpack (msgpackr, no records), with one shortcut: an instance
// list is written as the concatenation of its records' encodings, each cached per record object.
// Records are immutable (handlers build new ones and never mutate what they read), so
// registering into a service of n instances encodes one record and copies n - 1 encodings,
// instead of encoding n records per write (that encoding was a quarter of a leader's CPU at
// c=64 with a few hundred instances per service).
//
// Frame: byte 0 = FORMAT; a big-endian uint32 L; L bytes of msgpack [key, revision, time, value
// without `instances`, hasInstances]; then, when hasInstances, one msgpack array of the records.

import { Packr } from 'msgpackr';
import type { Datum } from './datum-store.ts';

/** 0xc1 is the one byte msgpack never uses: a frame cannot be mistaken for plain msgpack. */
const FORMAT = 0xc1;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encoded bytes per record object (owned copies: msgpackr may reuse its output buffer). */
const encoded = new WeakMap<object, Uint8Array>();

function recordBytes(r: object): Uint8Array {
  let b = encoded.get(r);
  if (!b) {
    b = Uint8Array.from(packr.pack(r));
    encoded.set(r, b);
  }
  return b;
}

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function encodeDatum(d: Datum): Buffer {
  const v = d.value;
  const list = v !== null && typeof v === 'object' && Array.isArray((v as { instances?: unknown }).instances) ? ((v as { instances: object[] }).instances) : undefined;
  let rest: unknown = v;
  if (list) {
    const { instances: _omit, ...others } = v as { instances: unknown };
    rest = others;
  }
  const head = packr.pack([d.key, d.revision, d.time, rest, list !== undefined]);
  const parts: Uint8Array[] = [];
  let total = 5 + head.length;
  if (list) {
    const h = arrayHeader(list.length);
    parts.push(h);
    total += h.length;
    for (const r of list) {
      const b = recordBytes(r);
      parts.push(b);
      total += b.length;
    }
  }
  const out = Buffer.allocUnsafe(total);
  out[0] = FORMAT;
  out.writeUInt32BE(head.length, 1);
  out.set(head, 5);
  let at = 5 + head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function decodeDatum(b: Uint8Array): Datum {
  if (b.length < 5 || b[0] !== FORMAT) throw new Error('datum: not a datum frame');
  const len = ((b[1]! << 24) >>> 0) + (b[2]! << 16) + (b[3]! << 8) + b[4]!;
  const [key, revision, time, rest, hasList] = packr.unpack(b.subarray(5, 5 + len)) as [string, number, number, unknown, boolean];
  const value = hasList ? { ...(rest as object), instances: packr.unpack(b.subarray(5 + len)) as unknown[] } : rest;
  return { key, value, revision, time };
}

/** Reads the key of a datum frame without decoding its value. */
export function datumKeyOf(frame: Uint8Array): string {
  if (frame.length < 5 || frame[0] !== FORMAT) throw new Error('datum: not a datum frame');
  const len = ((frame[1]! << 24) >>> 0) + (frame[2]! << 16) + (frame[3]! << 8) + frame[4]!;
  return (packr.unpack(frame.subarray(5, 5 + len)) as [string])[0];
}

// The datum store's snapshot image: FORMAT, a big-endian uint32 L, L bytes of msgpack `head`,
// then each datum's frame as stored (a big-endian uint32 length, the frame). Built and restored
// without decoding a datum: a snapshot of 100,000 instances copies their bytes once.

export function packImage(head: unknown, frames: readonly Uint8Array[]): Buffer {
  const h = packr.pack(head);
  let total = 5 + h.length;
  for (const f of frames) total += 4 + f.length;
  const out = Buffer.allocUnsafe(total);
  out[0] = FORMAT;
  out.writeUInt32BE(h.length, 1);
  out.set(h, 5);
  let at = 5 + h.length;
  for (const f of frames) {
    out.writeUInt32BE(f.length, at);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/** The head and frames of an image, or undefined when `image` is not one (an image of an older
 * version: plain msgpack). Frames are views into `image`. */
export function unpackImage(image: Uint8Array): { head: unknown; frames: Uint8Array[] } | undefined {
  if (image.length < 5 || image[0] !== FORMAT) return undefined;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const hl = view.getUint32(1);
  const head = packr.unpack(image.subarray(5, 5 + hl)) as unknown;
  const frames: Uint8Array[] = [];
  let at = 5 + hl;
  while (at < image.length) {
    if (at + 4 > image.length) throw new Error('datum image: truncated');
    const n = view.getUint32(at);
    if (at + 4 + n > image.length) throw new Error('datum image: truncated');
    frames.push(image.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { head, frames };
}
