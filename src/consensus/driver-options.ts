// What a RaftNode (driver.ts) is built from: storage, state machine, network, time, randomness,
// and the knobs of the loop. Times are in ms unless named ticks.

import type { RaftConfig } from './raft.ts';
import type { Rand } from './rand.ts';
import type { StateMachine } from './state-machine.ts';
import type { Storage } from './storage.ts';
import type { Timer } from './timer.ts';
import type { Transport } from './transport.ts';
import type { NodeId, Ready } from './types.ts';

export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: DriverLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RaftNodeOptions {
  id: NodeId;
  storage: Storage;
  stateMachine: StateMachine;
  transport: Transport;
  timer: Timer;
  rand: Rand;
  /** Milliseconds per tick. */
  tickMs?: number;
  /** Core options (timeouts in ticks, batching, leases, bootstrap, mutations). */
  raft?: Omit<RaftConfig, 'id' | 'storage' | 'applied' | 'rand'>;
  /** Take a snapshot once this many entries were applied since the last one. */
  snapshotEntries?: number;
  /** Entries kept before the snapshot index when compacting, for slow followers. */
  keepEntries?: number;
  /** Default deadline for proposals and reads, ms. */
  requestTimeoutMs?: number;
  /** Readies taken whose later steps have not run yet (writes in flight), at most. 1 = no
   * pipelining: each Ready is finished before the next is taken. */
  maxWritesInFlight?: number;
  /** Runs the loop later (see kick); setImmediate by default, queueMicrotask in the simulator
   * (whose virtual clock must not interleave with real event-loop phases). */
  defer?: (fn: () => void) => void;
  /** Promotion of a learner is abandoned after this many election timeouts without catch-up. */
  promotionElections?: number;
  logger?: DriverLogger;
  /** Log every Ready, described in one line per action (describeReady), at debug level. */
  traceReady?: boolean;
  /** Observes each Ready before it is acted on (traces, the simulator). */
  onReady?: (rd: Ready) => void;
  /** Observes each batch of applied entries with the state machine's results. */
  onApplied?: (count: number) => void;
  /** A message the core refused (logged at warn as well); the simulator counts it a violation. */
  onRefused?: (why: string) => void;
  /** A fatal error (storage failure, broken invariant): the node stops. */
  onFatal?: (err: unknown) => void;
}

