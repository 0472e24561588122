// Everything the bench starts registers a synchronous undo here: it runs once, at the end of the
// run, on an uncaught error, or on SIGINT/SIGTERM (then the process exits).

const undo = new Map<number, () => void>();
let nextId = 0;

/** Registers `f`; the returned function runs it now (once) and forgets it. */
export function onCleanup(f: () => void): () => void {
  const id = nextId++;
  undo.set(id, f);
  return () => {
    if (undo.delete(id)) f();
  };
}

export function cleanupAll(): void {
  for (const [id, f] of [...undo].reverse()) {
    undo.delete(id);
    try {
      f();
    } catch {
      // keep cleaning
    }
  }
}

export function installSignalHandlers(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (process.stdout.isTTY) process.stdout.write('\n');
      console.error(`bench: ${sig}, stopping every process it started`);
      cleanupAll();
      process.exit(130);
    });
  }
}
