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

/** FORMAT, a big-endian uint32 length and the msgpack of `head`, followed by `parts` (each
 * preceded by its big-endian uint32 length when `lengths`): the layout of datums and images. */
function frame(head: unknown, parts: readonly Uint8Array[], lengths: boolean): Buffer {
  const h = packr.pack(head);
  let total = 5 + h.length;
  for (const p of parts) total += (lengths ? 4 : 0) + p.length;
  const out = Buffer.allocUnsafe(total);
  out[0] = FORMAT;
  out.writeUInt32BE(h.length, 1);
  out.set(h, 5);
  let at = 5 + h.length;
  for (const p of parts) {
    if (lengths) {
      out.writeUInt32BE(p.length, at);
      at += 4;
    }
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The head of a frame (decoded) and where the rest starts; throws `what` when `b` is none. */
function readHead(b: Uint8Array, what: string): { head: unknown; end: number } {
  if (b.length < 5 || b[0] !== FORMAT) throw new Error(`${what}: not a ${what} frame`);
  const len = Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32BE(1);
  if (5 + len > b.length) throw new Error(`${what}: truncated`);
  return { head: packr.unpack(b.subarray(5, 5 + len)), end: 5 + len };
}

export function encodeDatum(d: Datum): Buffer {
  const v = d.value;
  const list = v !== null && typeof v === 'object' && Array.isArray((v as { instances?: unknown }).instances) ? (v as { instances: object[] }).instances : undefined;
  let rest: unknown = v;
  if (list) {
    const { instances: _omit, ...others } = v as { instances: unknown };
    rest = others;
  }
  const parts = list ? [arrayHeader(list.length), ...list.map(recordBytes)] : [];
  return frame([d.key, d.revision, d.time, rest, list !== undefined], parts, false);
}

export function decodeDatum(b: Uint8Array): Datum {
  const { head, end } = readHead(b, 'datum');
  const [key, revision, time, rest, hasList] = head as [string, number, number, unknown, boolean];
  const value = hasList ? { ...(rest as object), instances: packr.unpack(b.subarray(end)) as unknown[] } : rest;
  return { key, value, revision, time };
}

/** Reads the key of a datum frame without decoding its value. */
export function datumKeyOf(b: Uint8Array): string {
  return (readHead(b, 'datum').head as [string])[0];
}

// The datum store's snapshot image: a frame whose head is the image's head, followed by each
// datum's frame as stored, each preceded by its length. Built and restored without decoding a
// datum: a snapshot of 100,000 instances copies their bytes once.

export function packImage(head: unknown, frames: readonly Uint8Array[]): Buffer {
  return frame(head, frames, true);
}

/** The head and frames of an image, or undefined when `image` is not one (an image of an older
 * version: plain msgpack). Frames are views into `image`. */
export function unpackImage(image: Uint8Array): { head: unknown; frames: Uint8Array[] } | undefined {
  if (image.length < 5 || image[0] !== FORMAT) return undefined;
  const { head, end } = readHead(image, 'datum image');
  const view = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const frames: Uint8Array[] = [];
  for (let at = end; at < image.length; ) {
    if (at + 4 > image.length) throw new Error('datum image: truncated');
    const n = view.readUInt32BE(at);
    if (at + 4 + n > image.length) throw new Error('datum image: truncated');
    frames.push(image.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { head, frames };
}
