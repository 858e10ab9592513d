/**
 * A progress line on stderr for long work: a bar when the total is known, a count and a rate
 * either way. Redrawn at most every PROGRESS_REDRAW_MS, so it costs nothing on the hot path.
 */
const PROGRESS_REDRAW_MS = 100;
const BAR_WIDTH = 30;

export function progressLine(
  label: string,
  total: number | null,
): { update(done: number): void; finish(done: number): void } {
  const started = Date.now();
  let last = 0;
  const render = (done: number): string => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = Math.round(done / seconds);
    if (total === null || total === 0)
      return `${label}: ${done.toLocaleString('en')} events (${rate.toLocaleString('en')}/s)`;
    const share = Math.min(done / total, 1);
    const filled = Math.round(share * BAR_WIDTH);
    return `${label}: [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${Math.round(share * 100)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} events (${rate.toLocaleString('en')}/s)`;
  };
  const tty = process.stderr.isTTY;
  return {
    update(done) {
      const now = Date.now();
      if (now - last < PROGRESS_REDRAW_MS) return;
      last = now;
      process.stderr.write(tty ? `\r${render(done)}` : `${render(done)}\n`);
    },
    finish(done) {
      process.stderr.write(tty ? `\r${render(done)}\n` : `${render(done)}\n`);
    },
  };
}
