/**
 * The fixed windows (UTC) the limits count in: a minute and a day for requests, a calendar
 * month for commands. Every process computes the same window for the same instant, so their
 * counts meet in one row of ll_rate_windows.
 */
export type LimitWindow = 'minute' | 'day' | 'month';

/** The fixed window (UTC) holding `now`: its start and its end. */
export function windowOf(kind: LimitWindow, now: Date): { start: Date; end: Date } {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const day = now.getUTCDate();
  switch (kind) {
    case 'minute': {
      const start = new Date(Date.UTC(year, month, day, now.getUTCHours(), now.getUTCMinutes()));
      return { start, end: new Date(start.getTime() + 60_000) };
    }
    case 'day':
      return { start: new Date(Date.UTC(year, month, day)), end: new Date(Date.UTC(year, month, day + 1)) };
    case 'month':
      return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
  }
}
