// The driver's snapshots: taken from the state machine at its applied index once enough entries
// were applied since the last one (or on request), saved with the configuration as of that index,
// then the log is compacted, keeping `keepEntries` before it for slow followers. The capture runs
// only on the driver's pipeline (between Readies' later steps), where the core's applied
// configuration matches the state machine's applied index; saving and compaction run behind it.

import { crc32 } from './crc32.ts';
import type { DriverLogger, RaftNodeOptions } from './driver-options.ts';
import type { RaftCore } from './raft.ts';
import type { StateMachine } from './state-machine.ts';
import type { Storage } from './storage.ts';
import type { SnapshotMeta } from './types.ts';

/** Restores the state machine from the stored image `meta` (an install, or a restart that finds
 * the state machine behind the installed snapshot). */
export async function restoreFromSnapshot(storage: Storage, sm: StateMachine, meta: SnapshotMeta): Promise<void> {
  const image = storage.readSnapshotChunk(meta.id, 0, meta.size);
  if (!image || image.length !== meta.size) throw new Error(`snapshot image ${meta.id} unreadable`);
  await sm.restore(meta, image);
}

export class Snapshotter {
  /** Index of the last snapshot taken or found. */
  private last: number;
  /** The image being saved and the log compacted behind it (in the background). */
  private saving: Promise<void> | undefined;

  constructor(
    private readonly o: RaftNodeOptions,
    private readonly core: RaftCore,
    private readonly log: DriverLogger,
    private readonly onError: (err: unknown) => void,
  ) {
    this.last = o.storage.snapshot()?.index ?? 0;
  }

  /** Takes one once `snapshotEntries` entries were applied since the last (unless one is still
   * being saved); resolves once its image is captured. */
  async maybeTake(): Promise<void> {
    const every = this.o.snapshotEntries;
    if (!every || this.saving || this.core.log.applied - this.last < every) return;
    await this.take();
  }

  /**
   * Captures an image now and saves it in the background: resolves once captured, with the
   * metadata and a promise that settles once it is saved and the log compacted (undefined when
   * nothing was applied since the newest stored one, or one is still being saved). Only the
   * capture holds the pipeline: saving (a durable write of the image) and compaction (in chunks)
   * go on while Readies are applied; storage writes stay in order.
   */
  async take(): Promise<{ meta: SnapshotMeta; saved: Promise<void> } | undefined> {
    const { storage, stateMachine } = this.o;
    if (this.saving) return undefined;
    const index = stateMachine.applied();
    const term = this.core.log.term(index);
    if (term === undefined || index <= (storage.snapshot()?.index ?? 0)) return undefined;
    const image = await stateMachine.snapshot();
    const meta: SnapshotMeta = {
      id: `${this.o.id}-${index}-${term}`,
      index,
      term,
      conf: this.core.status().conf, // the configuration as of the applied index
      size: image.length,
      checksum: crc32(image),
    };
    this.last = index;
    const saved = (async () => {
      await storage.saveSnapshot(meta, image, this.core.pinnedImages()); // images in transfer stay
      await storage.compact(Math.max(0, index - (this.o.keepEntries ?? 0)));
      this.log.debug({ node: this.o.id, index, term, bytes: image.length }, 'snapshot taken');
    })();
    this.saving = saved.then(
      () => {
        this.saving = undefined;
      },
      (err: unknown) => {
        this.saving = undefined;
        this.onError(err);
      },
    );
    return { meta, saved };
  }

  /** Settles once no snapshot is being saved. */
  async idle(): Promise<void> {
    while (this.saving) await this.saving;
  }
}
