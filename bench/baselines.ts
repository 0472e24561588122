// The HTTP ceilings as child processes: raw node:http and express hello-worlds.

import { spawn } from 'node:child_process';
import { onCleanup } from './cleanup.ts';
import type { Target } from './load.ts';

export interface Hello {
  origin: string;
  pid: number | undefined;
  target: Target;
  stop(): void;
}

export async function startHello(kind: 'raw' | 'express'): Promise<Hello> {
  const proc = spawn(process.execPath, ['--import', 'tsx', new URL('./hello-server.ts', import.meta.url).pathname, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = onCleanup(() => proc.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} hello server did not start in 20 s`)), 20_000);
    proc.once('exit', (code) => reject(new Error(`${kind} hello server exited (${code})`)));
    proc.stdout!.once('data', (b: Buffer) => {
      clearTimeout(timer);
      resolve(Number(b.toString().trim()));
    });
  }).catch((e: unknown) => {
    stop();
    throw e;
  });
  const origin = `http://127.0.0.1:${port}`;
  return { origin, pid: proc.pid, target: { origin, method: 'GET', path: () => '/' }, stop };
}
