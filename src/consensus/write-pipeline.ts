// The driver's pipeline of Readies (DESIGN §4; etcd's asynchronous storage writes): each Ready's
// write is started when it is taken, and the rest of it — persisted messages, apply, advance —
// runs here, Ready after Ready in the order they were taken, each after its own write is durable.
// Invariant: a Ready's persisted messages leave only after its write and every earlier one.

import { MessageType, type Ready } from './types.ts';

/** A Ready taken from the core whose later steps have not all run yet. */
export interface Flight {
  rd: Ready;
  /** Resolves once the Ready's write is durable (at once when it had nothing to write). */
  written: Promise<void>;
  /** Its persisted messages have left. */
  sent: boolean;
  /** Settles once the Ready is advanced. */
  done: Promise<void>;
}

export class WritePipeline {
  /** Oldest first. */
  private flights: Flight[] = [];
  private tail: Promise<void> = Promise.resolve();

  /** @param halted whether the node stopped (nothing more runs); @param onError a step failed. */
  constructor(
    private readonly halted: () => boolean,
    private readonly onError: (err: unknown) => void,
  ) {}

  get size(): number {
    return this.flights.length;
  }

  /** A write is in flight with messages waiting for it. */
  get persistingWithMessages(): boolean {
    return this.flights.some((f) => !f.sent && f.rd.persistedMessages.length > 0);
  }

  /** Settles once the oldest Ready is advanced. */
  oldestDone(): Promise<void> {
    return this.flights[0]?.done ?? Promise.resolve();
  }

  /** Puts a Ready whose write was started on the pipeline; `complete` runs its later steps and
   * ends with finished(). */
  push(rd: Ready, written: Promise<void>, complete: (f: Flight) => Promise<void>): void {
    written.catch(() => undefined); // awaited (and reported) by `complete`
    const flight: Flight = { rd, written, sent: false, done: Promise.resolve() };
    this.flights.push(flight);
    flight.done = this.chain(() => complete(flight));
  }

  /** The oldest Ready was advanced. */
  finished(): void {
    this.flights.shift();
  }

  /** Runs `step` after everything already on the pipeline. */
  chain(step: () => Promise<void>): Promise<void> {
    const done = this.tail.then(() => (this.halted() ? undefined : step()));
    this.tail = done.catch((err: unknown) => this.onError(err));
    return this.tail;
  }

  /** Waits until every Ready taken so far is advanced (or the node halted). */
  async drain(): Promise<void> {
    while (this.flights.length > 0 && !this.halted()) await this.tail;
  }

  /** Withdraws acknowledgements of indexes >= `from` from Readies whose messages have not left: a
   * later append truncated those entries (see withdrawAcks in step-follower.ts). */
  withdrawAcks(from: number): void {
    for (const f of this.flights) {
      if (f.sent) continue;
      f.rd.persistedMessages = f.rd.persistedMessages.filter((x) => !(x.type === MessageType.AppResp && !x.reject && (x.index ?? 0) >= from));
    }
  }
}
