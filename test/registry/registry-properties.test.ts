// Property tests of the registry's state machine: DatumStore + registryHandlers under arbitrary
// sequences of registry commands over a small universe of names (so commands collide), with
// request ids drawn from a small pool (so duplicates happen) and leader times that mostly go
// forward, sometimes backwards, sometimes jump past the request-id retention window.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { open, type RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import type { Entry } from '../../src/consensus/types.ts';
import type { InstanceInput } from '../../src/registry/commands.ts';
import { type ApplyResult, type Datum, DatumStore, type DatumStoreOptions, encodeCommand } from '../../src/registry/datum-store.ts';
import { registryHandlers } from '../../src/registry/handlers.ts';
import type { HealthChecker, InstanceRecord, InstancesValue, Selector, ServiceRecord } from '../../src/registry/model.ts';
import { instanceId, instancesKey, parseKey, serviceKey } from '../../src/registry/names.ts';

// ---- stores ------------------------------------------------------------------------------------

const base = mkdtempSync(join(tmpdir(), 'muster-registry-props-'));
after(() => rmSync(base, { recursive: true, force: true }));
let storeSeq = 0;

interface Stores {
  /** A fresh store, its own LMDB env. */
  mk(opts?: DatumStoreOptions): DatumStore;
  /** `s` after a restart: everything applied committed, its env closed and opened again. */
  restart(s: DatumStore): Promise<DatumStore>;
}

/** Resolves once everything `s` applied is committed to LMDB (a no-op where apply commits before
 * it resolves). */
async function settle(s: DatumStore): Promise<void> {
  const flush = (s as Partial<{ flush(): Promise<void> }>).flush;
  if (flush) await flush.call(s);
}

/** Runs `fn` with fresh stores (each its own LMDB env), all closed and removed after. */
async function withStores<T>(fn: (st: Stores) => Promise<T>): Promise<T> {
  const open_ = new Map<DatumStore, { root: RootDatabase; path: string; opts: DatumStoreOptions | undefined }>();
  const paths: string[] = [];
  const openAt = (path: string, opts: DatumStoreOptions | undefined): DatumStore => {
    const root = open({ path, maxDbs: 16, noSync: true });
    const s = new DatumStore(root, registryHandlers, opts);
    open_.set(s, { root, path, opts });
    return s;
  };
  const st: Stores = {
    mk: (opts) => {
      const path = join(base, `${storeSeq++}.mdb`);
      paths.push(path);
      return openAt(path, opts);
    },
    restart: async (s) => {
      const o = open_.get(s)!;
      await settle(s);
      await o.root.close();
      open_.delete(s);
      return openAt(o.path, o.opts);
    },
  };
  try {
    return await fn(st);
  } finally {
    for (const [s, o] of open_) {
      await settle(s).catch(() => {});
      await o.root.close();
    }
    for (const p of paths) {
      rmSync(p, { force: true });
      rmSync(`${p}-lock`, { force: true });
    }
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false });

interface State {
  datums: Datum[];
  applied: number;
  time: number;
  retained: number;
}
function stateOf(s: DatumStore): State {
  return { datums: [...s.range('')], applied: s.applied(), time: s.appliedTime(), retained: s.retainedRequestIds() };
}
/** Equal as values and byte-identical once encoded (key order included). */
function assertSameState(a: DatumStore, b: DatumStore, what: string): void {
  const x = stateOf(a);
  const y = stateOf(b);
  assert.deepEqual(y, x, what);
  assert.ok(Buffer.from(packr.pack(x)).equals(Buffer.from(packr.pack(y))), `${what}: msgpack bytes differ`);
}
function datumBytes(s: DatumStore): Buffer {
  return Buffer.from(packr.pack([...s.range('')]));
}

// ---- the command generator ---------------------------------------------------------------------

const NAMESPACES = ['public', 'ns1'] as const;
const SERVICES = ['DEFAULT_GROUP@@s1', 'g2@@s1'] as const;
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'] as const;
const PORTS = [8080, 8081] as const;
const CLUSTERS = ['DEFAULT', 'c1'] as const;
const ID_POOL = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'] as const;
const T0 = 1_700_000_000_000;
/** The retention window the window-crossing properties run with. */
const R = 1000;

const nsA = fc.constantFrom(...NAMESPACES);
const serviceA = fc.constantFrom(...SERVICES);
const ipA = fc.constantFrom(...IPS);
const portA = fc.constantFrom(...PORTS);
const clusterA = fc.constantFrom(...CLUSTERS);
const metaA = fc.dictionary(fc.constantFrom('k1', 'k2', 'k3'), fc.constantFrom('a', 'b', ''), { maxKeys: 3, noNullPrototype: true });
const ephemeralA = fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 2 });
const selectorA: fc.Arbitrary<Selector> = fc.oneof(fc.constant<Selector>({ type: 'none' }), fc.constant<Selector>({ type: 'label', expression: 'CONSUMER.label.a = PROVIDER.label.a' }));
const checkerA: fc.Arbitrary<HealthChecker> = fc.oneof(
  { arbitrary: fc.constant<HealthChecker>({ type: 'NONE' }), weight: 3 },
  { arbitrary: fc.constant<HealthChecker>({ type: 'TCP' }), weight: 1 },
  { arbitrary: fc.constant<HealthChecker>({ type: 'HTTP', path: '/health', headers: '', expectedResponseCode: 200 }), weight: 1 },
);
const instanceA: fc.Arbitrary<InstanceInput> = fc.record({
  ip: ipA,
  port: portA,
  weight: fc.constantFrom(0, 1, 100),
  healthy: fc.boolean(),
  enabled: fc.boolean(),
  ephemeral: ephemeralA,
  clusterName: clusterA,
  metadata: metaA,
});

/** One change of a health batch, resolved against the state when it is applied: `pick` chooses one
 * of the service's instances; `rev` is its current rev, a stale one, or an arbitrary number. */
interface HealthPick {
  ns: string;
  service: string;
  pick: number;
  rev: 'current' | 'stale' | number;
  healthy: boolean | undefined;
}
const healthPickA: fc.Arbitrary<HealthPick> = fc.record({
  ns: nsA,
  service: serviceA,
  pick: fc.nat(7),
  rev: fc.oneof({ arbitrary: fc.constant('current' as const), weight: 4 }, { arbitrary: fc.constant('stale' as const), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 1 }),
  healthy: fc.oneof({ arbitrary: fc.boolean(), weight: 3 }, { arbitrary: fc.constant(undefined), weight: 1 }),
});

/** Drops keys whose value is undefined (a field the command leaves out). */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

type Body = Record<string, unknown> & { type: string };
/** `target`, when set, points the command at what exists when it is applied (see resolve): an
 * instance for instance commands, a service for service commands. Without it the names are
 * drawn blindly from the universe (which also covers the absent cases). */
const targetA = fc.option(fc.nat(15), { nil: undefined, freq: 2 });
const bodyA: fc.Arbitrary<Body> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('register'), ns: nsA, service: serviceA, instance: instanceA, target: fc.option(fc.nat(15), { nil: undefined, freq: 4 }) }).map(compact), weight: 5 },
  { arbitrary: fc.record({ type: fc.constant('deregister'), ns: nsA, service: serviceA, ip: ipA, port: portA, cluster: clusterA, ephemeral: opt(fc.boolean()), target: targetA }).map(compact), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('update'), ns: nsA, service: serviceA, instance: instanceA, mergeMetadata: fc.boolean(), target: targetA }).map(compact), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('patch'), ns: nsA, service: serviceA, ip: ipA, port: portA, cluster: clusterA, metadata: opt(metaA), weight: opt(fc.constantFrom(0, 5, 50)), enabled: opt(fc.boolean()), target: targetA }).map(compact), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('serviceCreate'), ns: nsA, service: serviceA, ephemeral: ephemeralA, protectThreshold: fc.constantFrom(0, 0.5), metadata: metaA, selector: selectorA }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('serviceUpdate'), ns: nsA, service: serviceA, protectThreshold: opt(fc.constantFrom(0, 0.3)), metadata: opt(metaA), selector: opt(selectorA), target: targetA }).map(compact), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('serviceDelete'), ns: nsA, service: serviceA, target: targetA }).map(compact), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('clusterUpdate'), ns: nsA, service: serviceA, cluster: clusterA, healthChecker: checkerA, checkPort: fc.constantFrom(80, 8080), useInstancePort4Check: fc.boolean(), metadata: metaA, target: targetA }).map(compact), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('health'), picks: fc.array(healthPickA, { minLength: 1, maxLength: 3 }) }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('healthSet'), ns: nsA, service: serviceA, ip: ipA, port: portA, cluster: clusterA, healthy: fc.boolean(), target: targetA }).map(compact), weight: 2 },
);

/** One log entry to be: a command (request id from the pool, or null for an id of its own) with
 * a time step, or the leader's empty entry. `dt` is added to the previous header time; a
 * `zeroTime` command carries time 0 (never stamped). */
type Op = { kind: 'cmd'; body: Body; rid: string | null; dt: number; zeroTime: boolean } | { kind: 'empty' };

function dtA(crossWindow: boolean): fc.Arbitrary<number> {
  const arbs = [
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 50 }), weight: 6 },
    { arbitrary: fc.integer({ min: -40, max: -1 }), weight: 1 }, // leader time going backwards
  ];
  if (crossWindow) arbs.push({ arbitrary: fc.integer({ min: R + 1, max: R + 300 }), weight: 1 });
  return fc.oneof(...arbs);
}
type CmdOp = Extract<Op, { kind: 'cmd' }>;
function cmdOpA(crossWindow: boolean): fc.Arbitrary<CmdOp> {
  return fc.record({
    kind: fc.constant('cmd' as const),
    body: bodyA,
    rid: fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: fc.constantFrom<string>(...ID_POOL), weight: 1 }),
    dt: dtA(crossWindow),
    // An unstamped command on a fresh store is applied at time 0: the next stamped one is then
    // far beyond any window, so these only come with window crossings.
    zeroTime: crossWindow ? fc.oneof({ arbitrary: fc.constant(false), weight: 15 }, { arbitrary: fc.constant(true), weight: 1 }) : fc.constant(false),
  });
}
function opA(crossWindow: boolean): fc.Arbitrary<Op> {
  return fc.oneof({ arbitrary: cmdOpA(crossWindow), weight: 20 }, { arbitrary: fc.constant<Op>({ kind: 'empty' }), weight: 1 });
}
const opsA = (crossWindow: boolean, minLength = 1, maxLength = 30) => fc.array(opA(crossWindow), { minLength, maxLength, size: 'max' });

/** Splits `xs` into consecutive batches of the given sizes (the last batch takes the rest). */
function batches<T>(xs: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= xs.length) break;
    out.push(xs.slice(at, at + n));
    at += n;
  }
  if (at < xs.length) out.push(xs.slice(at));
  return out;
}
/** Batch sizes: everything in one batch, or random splits. */
const splitA = fc.oneof(fc.constant([1_000]), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 30 }));

// ---- turning ops into entries --------------------------------------------------------------

/** A cursor over the log being built: next index, last header time, a tag for ids of its own. */
interface Cursor {
  index: number;
  time: number;
  tag: string;
}
function cursor(store: DatumStore, tag: string): Cursor {
  return { index: store.applied(), time: Math.max(T0, store.appliedTime()), tag };
}

type Read = (key: string) => Datum | undefined;

/** Every instance in the universe, in key order. */
function instancesNow(read: Read): { ns: string; service: string; inst: InstanceRecord }[] {
  const out: { ns: string; service: string; inst: InstanceRecord }[] = [];
  for (const ns of NAMESPACES) {
    for (const service of SERVICES) {
      for (const inst of (read(instancesKey(ns, service))?.value as InstancesValue | undefined)?.instances ?? []) out.push({ ns, service, inst });
    }
  }
  return out;
}
/** Every service in the universe that exists. */
function servicesNow(read: Read): { ns: string; service: string }[] {
  return NAMESPACES.flatMap((ns) => SERVICES.filter((service) => read(serviceKey(ns, service))).map((service) => ({ ns, service })));
}

/** The command body resolved against the state it is applied to: a `target` becomes the names
 * of an instance or service that exists (when any does); health picks become ids and revs. */
function resolve(body: Body, read: Read): Body {
  if (body.type === 'health') {
    const changes = (body.picks as HealthPick[]).map((p) => {
      // An instance of the named service, else of any service, else a name that is absent.
      const own = ((read(instancesKey(p.ns, p.service))?.value as InstancesValue | undefined)?.instances ?? []).map((inst) => ({ ns: p.ns, service: p.service, inst }));
      const list = own.length > 0 ? own : instancesNow(read);
      const at = list.length > 0 ? list[p.pick % list.length]! : undefined;
      if (!at) return compact({ ns: p.ns, service: p.service, id: instanceId(IPS[p.pick % IPS.length]!, PORTS[0], 'DEFAULT', p.service), rev: typeof p.rev === 'number' ? p.rev : 1, healthy: p.healthy });
      const { ns, service, inst } = at;
      const rev = typeof p.rev === 'number' ? p.rev : p.rev === 'current' ? inst.rev : inst.rev + 1;
      return compact({ ns, service, id: instanceId(inst.ip, inst.port, inst.clusterName, service), rev, healthy: p.healthy });
    });
    return { type: 'health', changes };
  }
  const { target, ...b } = body;
  if (typeof target !== 'number') return b;
  switch (b.type) {
    case 'register':
    case 'update':
    case 'deregister':
    case 'patch':
    case 'healthSet': {
      let all = instancesNow(read);
      if (b.type === 'healthSet') {
        // Rather an instance whose cluster's checker is NONE (where healthSet is allowed).
        const none = all.filter(({ ns, service, inst }) => (read(serviceKey(ns, service))?.value as ServiceRecord | undefined)?.clusters[inst.clusterName]?.healthChecker.type === 'NONE');
        if (none.length > 0) all = none;
      }
      if (all.length === 0) return b;
      const { ns, service, inst } = all[target % all.length]!;
      const at = { ip: inst.ip, port: inst.port };
      // register: same ip:port (its cluster as generated: it may move); update: the instance
      // itself, of its kind; the others name it (deregister with the cluster as generated).
      if (b.type === 'register') return { ...b, ns, service, instance: { ...(b.instance as InstanceInput), ...at } };
      if (b.type === 'update') return { ...b, ns, service, instance: { ...(b.instance as InstanceInput), ...at, clusterName: inst.clusterName, ephemeral: inst.ephemeral } };
      if (b.type === 'deregister') return { ...b, ns, service, ...at };
      return { ...b, ns, service, ...at, cluster: inst.clusterName };
    }
    case 'clusterUpdate': {
      // The cluster of an instance when there is one (so healthSet meets NONE checkers).
      const all = instancesNow(read);
      if (all.length > 0) {
        const { ns, service, inst } = all[target % all.length]!;
        return { ...b, ns, service, cluster: inst.clusterName };
      }
      const svcs = servicesNow(read);
      return svcs.length === 0 ? b : { ...b, ...svcs[target % svcs.length]! };
    }
    default: {
      const all = servicesNow(read);
      return all.length === 0 ? b : { ...b, ...all[target % all.length]! };
    }
  }
}

/** The entry of `op` at the cursor's next index (advancing it); health picks resolved against `read`. */
function entryOf(op: Op, c: Cursor, read: Read, requestId?: string): Entry {
  const index = ++c.index;
  if (op.kind === 'empty') return { index, term: 1, type: 'normal' };
  c.time = Math.max(1, c.time + op.dt);
  const rid = requestId ?? op.rid ?? `${c.tag}-${index}`;
  const data = encodeCommand({ ...resolve(op.body, read), requestId: rid, time: op.zeroTime ? 0 : c.time });
  return { index, term: 1, type: 'normal', data };
}

/** Applies `ops` to `store` one entry per batch (health picks resolved against its state as it
 * goes); returns the entries (to replay elsewhere) and the results. */
async function applyOneByOne(store: DatumStore, ops: readonly Op[], tag = 'u'): Promise<{ entries: Entry[]; results: ApplyResult[] }> {
  const c = cursor(store, tag);
  const entries: Entry[] = [];
  const results: ApplyResult[] = [];
  for (const op of ops) {
    const e = entryOf(op, c, (k) => store.get(k));
    entries.push(e);
    results.push(...(await store.apply([e])));
  }
  return { entries, results };
}

async function applyInBatches(store: DatumStore, entries: readonly Entry[], sizes: readonly number[]): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const b of batches(entries, sizes)) results.push(...(await store.apply(b)));
  return results;
}

/** The same entry at another index and time (same body and request id). */
function again(e: Entry, index: number, time: number): Entry {
  const data = new Uint8Array(e.data!);
  new DataView(data.buffer).setFloat64(1, time);
  return { index, term: 1, type: 'normal', data };
}

// ---- invariants ------------------------------------------------------------------------------

function assertInvariants(store: DatumStore): void {
  const services = new Map<string, ServiceRecord>();
  const lists = new Map<string, InstancesValue>();
  for (const d of store.range('')) {
    const p = parseKey(d.key);
    assert.ok(p, `a datum key that is not the registry's: ${JSON.stringify(d.key)}`);
    assert.ok(d.revision >= 1 && d.revision <= store.applied(), `${d.key}: revision ${d.revision} beyond applied ${store.applied()}`);
    assert.ok(d.time <= store.appliedTime(), `${d.key}: time ${d.time} after applied time ${store.appliedTime()}`);
    const k = `${p.ns}\u001f${p.grouped}`;
    if (p.kind === 's') services.set(k, d.value as ServiceRecord);
    else lists.set(k, d.value as InstancesValue);
  }
  for (const [k, v] of lists) {
    const [ns, grouped] = k.split('\u001f') as [string, string];
    const svc = services.get(k);
    assert.ok(svc, `instance list of ${ns}/${grouped} without a service datum`);
    assert.ok(v.instances.length > 0, `empty instance list datum for ${ns}/${grouped}`);
    const ids = v.instances.map((i) => instanceId(i.ip, i.port, i.clusterName, grouped));
    for (let j = 1; j < ids.length; j++) assert.ok(ids[j - 1]! < ids[j]!, `${ns}/${grouped}: not sorted by instance id: ${ids.join(', ')}`);
    const addresses = v.instances.map((i) => `${i.ip}:${i.port}`);
    assert.equal(new Set(addresses).size, addresses.length, `${ns}/${grouped}: the same ip:port twice: ${addresses.join(', ')}`);
    for (const i of v.instances) {
      assert.equal(i.ephemeral, svc.ephemeral, `${ns}/${grouped}: instance ${i.ip}:${i.port} ephemeral=${i.ephemeral} in a service ephemeral=${svc.ephemeral}`);
      assert.ok(i.rev >= 1 && i.rev <= store.applied(), `${ns}/${grouped}: instance rev ${i.rev}`);
    }
    assert.ok(store.get(instancesKey(ns, grouped))!.revision >= Math.max(...v.instances.map((i) => i.rev)), 'a list datum older than one of its instances');
  }
  for (const [k, svc] of services) {
    if (!lists.has(k)) assert.equal(svc.explicit, true, `service ${k.replace('\u001f', '/')} without instances is not explicit`);
  }
  // Point reads agree with the range (applied state, committed or not).
  for (const d of store.range('')) assert.deepEqual(store.get(d.key), d);
}

// ---- properties --------------------------------------------------------------------------------

const okNew = (r: ApplyResult, index: number) => r.revision === index && r.ok;

describe('registry state machine properties', () => {
  it('any sequence gives the same datums and results entry by entry as in one batch or random batches (default retention: ids never forgotten)', async () => {
    await fc.assert(
      fc.asyncProperty(opsA(false), splitA, (ops, sizes) =>
        withStores(async ({ mk }) => {
          // Default retention (10 min): the times here (steps <= 50 ms) never leave the window.
          const a = mk();
          const b = mk();
          const { entries, results } = await applyOneByOne(a, ops);
          const batched = await applyInBatches(b, entries, sizes);
          assert.deepEqual(batched, results);
          assertSameState(a, b, 'one by one vs batched');
          assert.equal(a.applied(), ops.length);
        }),
      ),
      { numRuns: 60 },
    );
  });

  it('the same, when the retention window of applied time passes inside a batch', async () => {
    await fc.assert(
      fc.asyncProperty(opsA(true), splitA, (ops, sizes) =>
        withStores(async ({ mk }) => {
          const a = mk({ requestIdRetentionMs: R });
          const b = mk({ requestIdRetentionMs: R });
          const { entries, results } = await applyOneByOne(a, ops);
          assert.deepEqual(await applyInBatches(b, entries, sizes), results);
          assertSameState(a, b, 'one by one vs batched');
        }),
      ),
      { numRuns: 60 },
    );
  });

  it('an id that leaves the window inside a batch is forgotten there as it is one entry per batch (regression: ids were forgotten once per batch)', async () => {
    // X at t, Y at t+R+1 (X leaves the window), X again.
    await withStores(async ({ mk }) => {
      const a = mk({ requestIdRetentionMs: R });
      const b = mk({ requestIdRetentionMs: R });
      const reg = { type: 'register', ns: 'public', service: 'DEFAULT_GROUP@@s1', instance: { ip: '10.0.0.1', port: 8080, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} } };
      const dereg = { type: 'deregister', ns: 'public', service: 'DEFAULT_GROUP@@s1', ip: '10.0.0.1', port: 8080, cluster: 'DEFAULT' };
      const es: Entry[] = [
        { index: 1, term: 1, type: 'normal', data: encodeCommand({ ...reg, requestId: 'X', time: T0 }) },
        { index: 2, term: 1, type: 'normal', data: encodeCommand({ ...dereg, requestId: 'Y', time: T0 + R + 1 }) },
        { index: 3, term: 1, type: 'normal', data: encodeCommand({ ...reg, requestId: 'X', time: T0 + R + 2 }) },
      ];
      const one: ApplyResult[] = [];
      for (const e of es) one.push(...(await a.apply([e])));
      const all = await b.apply(es);
      // X was forgotten by entry 2, so entry 3 registers again (revision 3), not a duplicate.
      assert.deepEqual(one[2], { ok: true, result: { id: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@s1' }, revision: 3 });
      assert.deepEqual(all, one, 'results of one batch vs one entry per batch');
      assertSameState(a, b, 'one batch vs one entry per batch');
      assert.equal(b.get(instancesKey('public', 'DEFAULT_GROUP@@s1'))?.revision, 3);
    });
  });

  it('snapshot → restore into a fresh store gives the same datums, applied index and time, and the same dedup and forgetting afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(opsA(true), opsA(false, 0, 5), opsA(true), (ops, stale, more) =>
        withStores(async ({ mk }) => {
          const a = mk({ requestIdRetentionMs: R });
          const b = mk({ requestIdRetentionMs: R });
          await applyOneByOne(a, ops);
          // b held some other state before the snapshot arrives: all of it must go.
          await applyOneByOne(b, stale, 'stale');
          const image = await a.snapshot();
          await b.restore({ id: 'snap', index: a.applied(), term: 1, conf: { voters: [], learners: [], addresses: {} }, size: image.length, checksum: 0 }, image);
          assertSameState(a, b, 'after restore');
          assert.ok(Buffer.from(await b.snapshot()).equals(Buffer.from(image)), 'the restored store images to the same bytes');
          // The same later entries (request ids from the same pool and the same own-id tags, so
          // some are duplicates of ids the image holds) do the same on both.
          const { entries, results } = await applyOneByOne(a, more);
          const rb: ApplyResult[] = [];
          for (const e of entries) rb.push(...(await b.apply([e])));
          assert.deepEqual(rb, results);
          assertSameState(a, b, 'after the same entries applied to both');
        }),
      ),
      { numRuns: 40 },
    );
  });

  it(
    'a restart (env closed and opened again) resumes with the same datums, applied index and time, retained ids and dedup',
    async () => {
    // The smallest case: X registers at t; Y (same batch) at t+R+1 deregisters and pushes X out
    // of the window; X again at that same time (applied time does not move, nothing more is
    // forgotten). Without a restart X is applied again; after a restart it must be too.
    await withStores(async ({ mk, restart }) => {
      const c = mk({ requestIdRetentionMs: R });
      let a = mk({ requestIdRetentionMs: R });
      const reg = { type: 'register', ns: 'public', service: 'DEFAULT_GROUP@@s1', instance: { ip: '10.0.0.1', port: 8080, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} } };
      const dereg = { type: 'deregister', ns: 'public', service: 'DEFAULT_GROUP@@s1', ip: '10.0.0.1', port: 8080, cluster: 'DEFAULT' };
      const es: Entry[] = [
        { index: 1, term: 1, type: 'normal', data: encodeCommand({ ...reg, requestId: 'X', time: T0 }) },
        { index: 2, term: 1, type: 'normal', data: encodeCommand({ ...dereg, requestId: 'Y', time: T0 + R + 1 }) },
      ];
      await c.apply(es);
      await a.apply(es);
      assert.equal(c.retainedRequestIds(), 1, 'only Y is retained');
      a = await restart(a);
      assert.equal(a.retainedRequestIds(), 1, 'only Y is retained after the restart');
      const retry: Entry = { index: 3, term: 1, type: 'normal', data: encodeCommand({ ...reg, requestId: 'X', time: T0 + R + 1 }) };
      const [rc] = await c.apply([retry]);
      const [ra] = await a.apply([retry]);
      assert.deepEqual(rc, { ok: true, result: { id: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@s1' }, revision: 3 });
      assert.deepEqual(ra, rc, 'the restarted store applies X like the other');
      assertSameState(c, a, 'restarted vs never restarted');
    });
    await fc.assert(
      fc.asyncProperty(opsA(true), splitA, opsA(true, 1, 15), (ops, sizes, more) =>
        withStores(async ({ mk, restart }) => {
          // c: no restart, one entry per batch. a: the same entries in random batches, restarted.
          const c = mk({ requestIdRetentionMs: R });
          let a = mk({ requestIdRetentionMs: R });
          const { entries } = await applyOneByOne(c, ops);
          await applyInBatches(a, entries, sizes);
          const before = stateOf(a);
          a = await restart(a);
          assert.deepEqual(stateOf(a), before, 'state after the restart');
          assertSameState(c, a, 'restarted vs never restarted');
          const next = await applyOneByOne(c, more);
          const ra: ApplyResult[] = [];
          for (const e of next.entries) ra.push(...(await a.apply([e])));
          assert.deepEqual(ra, next.results, 'the same entries after the restart');
          assertSameState(c, a, 'after more entries');
        }),
      ),
      { numRuns: 50 },
    );
    },
  );

  it('the same request id applied again within the retention window changes nothing', async () => {
    const stepA = fc.record({ op: opA(false), dt: fc.integer({ min: 0, max: 50 }) });
    await fc.assert(
      fc.asyncProperty(opsA(true, 0, 20), cmdOpA(false), fc.array(stepA, { maxLength: 4 }), fc.integer({ min: 0, max: 50 }), (prefix, first, middle, dt) =>
        withStores(async ({ mk }) => {
          const s = mk({ requestIdRetentionMs: R });
          await applyOneByOne(s, prefix);
          const c = cursor(s, 'm');
          // (Stamped: an unstamped first command on an empty store would be applied at time 0,
          // and the retry, at leader time, far beyond the window.)
          const e1 = entryOf({ ...first, zeroTime: false }, c, (k) => s.get(k), 'dup-X');
          const [r1] = await s.apply([e1]);
          // Middle commands (ids of their own), each at most 50 ms later: all within the window.
          for (const { op, dt: step } of middle) {
            await s.apply([entryOf(op.kind === 'cmd' ? { ...op, dt: step } : op, c, (k) => s.get(k))]);
          }
          const before = datumBytes(s);
          const retained = s.retainedRequestIds();
          const index = s.applied() + 1;
          const [r2] = await s.apply([again(e1, index, c.time + dt)]);
          if (okNew(r1!, e1.index)) {
            assert.deepEqual(r2, { ok: true, result: { duplicate: true, appliedAt: e1.index }, revision: e1.index });
            assert.ok(datumBytes(s).equals(before), 'a duplicate changed datums');
            // (Its time may still let older ids leave the window: never more retained.)
            assert.ok(s.retainedRequestIds() <= retained);
          } else if (middle.length === 0) {
            // A rejected command is not remembered: the retry is evaluated again, on the same
            // state, and is rejected the same way.
            assert.ok(!r1!.ok && !r2!.ok);
            assert.deepEqual({ ...r2!, revision: 0 }, { ...r1!, revision: 0 });
            assert.equal(r2!.revision, index);
            assert.ok(datumBytes(s).equals(before));
          }
          assert.equal(s.applied(), index);
        }),
      ),
      { numRuns: 80 },
    );
  });

  it('once the retention window of applied time has passed, a request id is forgotten: applying it again takes effect', async () => {
    await fc.assert(
      fc.asyncProperty(opsA(true, 0, 20), cmdOpA(false), cmdOpA(false), fc.integer({ min: 1, max: 300 }), (prefix, first, jump, extra) =>
        withStores(async ({ mk }) => {
          // a: ... X, jump past the window, X again.  b: the same, with a fresh id in the last.
          const a = mk({ requestIdRetentionMs: R });
          const b = mk({ requestIdRetentionMs: R });
          const { entries } = await applyOneByOne(a, prefix);
          for (const e of entries) await b.apply([e]);
          const c = cursor(a, 'j');
          const e1 = entryOf(first, c, (k) => a.get(k), 'dup-X');
          const [r1] = await a.apply([e1]);
          await b.apply([e1]);
          const recorded = okNew(r1!, e1.index);
          const jumpTo = a.appliedTime() + R + extra;
          const ej: Entry = { index: e1.index + 1, term: 1, type: 'normal', data: encodeCommand({ ...resolve(jump.body, (k) => a.get(k)), requestId: 'jump', time: jumpTo }) };
          await a.apply([ej]);
          await b.apply([ej]);
          assertSameState(a, b, 'before the retry');
          const retry = again(e1, ej.index + 1, jumpTo);
          const fresh = { index: ej.index + 1, term: 1, type: 'normal' as const, data: encodeCommand({ ...(decode(e1.data!) as Body), requestId: 'fresh', time: jumpTo }) };
          const [ra] = await a.apply([retry]);
          const [rb] = await b.apply([fresh]);
          assert.equal(ra!.revision, retry.index, 'the retry was applied as a new command, not as a duplicate');
          assert.deepEqual(ra, rb, 'the retry does what a command with a new id does');
          assert.ok(datumBytes(a).equals(datumBytes(b)));
          assert.equal(a.retainedRequestIds(), b.retainedRequestIds());
          if (recorded && ra!.ok) assert.notDeepEqual(ra!.result, { duplicate: true, appliedAt: e1.index });
        }),
      ),
      { numRuns: 60 },
    );
  });

  it('retainedRequestIds() is exactly the ids applied within the retention window of applied time', async () => {
    await fc.assert(
      fc.asyncProperty(opsA(true, 1, 30), (ops) =>
        withStores(async ({ mk }) => {
          const s = mk({ requestIdRetentionMs: R });
          const c = cursor(s, 'u');
          // Model: id → applied time of the entry that applied it.
          const model = new Map<string, number>();
          for (const op of ops) {
            const e = entryOf(op, c, (k) => s.get(k));
            const [r] = await s.apply([e]);
            if (e.data && okNew(r!, e.index)) model.set(decode(e.data).requestId as string, s.appliedTime());
            for (const [id, t] of model) if (t < s.appliedTime() - R) model.delete(id);
            assert.equal(s.retainedRequestIds(), model.size, `retained ids after entry ${e.index}`);
            assert.ok(s.retainedRequestIds() <= ID_POOL.length + ops.length);
          }
        }),
      ),
      { numRuns: 60 },
    );
  });

  it('after any sequence: lists non-empty, sorted by instance id, one instance per ip:port, of the service kind; every list has its service; a service without instances is explicit', async () => {
    await fc.assert(
      fc.asyncProperty(opsA(true, 1, 30), splitA, (ops, sizes) =>
        withStores(async ({ mk }) => {
          const a = mk({ requestIdRetentionMs: R });
          const c = cursor(a, 'u');
          for (const batch of batches(ops, sizes)) {
            // Health picks resolved against the state before the batch: still valid commands.
            const entries = batch.map((op) => entryOf(op, c, (k) => a.get(k)));
            await a.apply(entries);
            assertInvariants(a);
          }
        }),
      ),
      { numRuns: 80 },
    );
  });
});

function decode(data: Uint8Array): Record<string, unknown> {
  return packr.unpack(data.subarray(9)) as Record<string, unknown>;
}
