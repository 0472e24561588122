// One progress line on a terminal, rewritten in place; silent when stdout is not a TTY.

const tty = process.stdout.isTTY === true;
let current = '';
let t0 = performance.now();

function draw(text: string): void {
  if (!tty) return;
  const width = (process.stdout.columns || 100) - 1;
  process.stdout.write(`\r\x1b[2K${text.slice(0, width)}`);
}

export const progress = {
  /** Starts a new step. */
  step(label: string): void {
    current = label;
    t0 = performance.now();
    draw(`» ${label}`);
  },
  /** Updates the current step's counter. */
  update(done: number, total?: number): void {
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    draw(`» ${current}  ${done}${total !== undefined ? `/${total}` : ''}  ${secs}s`);
  },
  /** Clears the line (before printing results). */
  clear(): void {
    if (tty) process.stdout.write('\r\x1b[2K');
  },
};
