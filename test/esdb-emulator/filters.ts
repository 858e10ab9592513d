// Server-side `$all` filters, parsed from `ReadReq.Options.FilterOptions` the way EventStoreDB
// parses them: either the stream name or the event type, matched by a list of prefixes or by one
// regular expression (a non-empty regex wins over prefixes).
import { DEFAULT_FILTER_SEARCH_WINDOW_EVENTS } from './limits.js';
import type { FilterOptionsT } from './proto.js';
import type { RecordedEvent } from './store.js';

export interface AllFilter {
  matches(event: RecordedEvent): boolean;
  /**
   * A subscription sends a checkpoint after this many events were considered (matching or not):
   * `checkpointIntervalMultiplier × searchWindow`, where the window is the filter's `max` or
   * EventStoreDB's default read batch of 32. The client's `checkpointInterval` option is the
   * multiplier, not a count of events.
   */
  readonly checkpointIntervalEvents: number;
}

export type ParsedFilter =
  { readonly ok: true; readonly filter: AllFilter } | { readonly ok: false; readonly reason: string };

/** Everything passes: what `no_filter` means. */
export const NO_FILTER: AllFilter = {
  matches: () => true,
  checkpointIntervalEvents: Number.POSITIVE_INFINITY,
};

/**
 * EventStoreDB adds its default `$all` filter to every filtered `$all` read: non-system streams
 * pass, and the server's own bookkeeping streams are hidden. The emulator never writes those
 * streams itself, but a test may seed them, so the rule is kept.
 */
function passesDefaultAllFilter(event: RecordedEvent): boolean {
  if (!event.streamId.startsWith('$')) return true;
  if (event.streamId === '$epoch-information') return false;
  const isPersistentSubscriptionBookkeeping =
    event.streamId.startsWith('$persistentsubscription-$all::') &&
    (event.streamId.endsWith('-checkpoint') || event.streamId.endsWith('-parked'));
  return !isPersistentSubscriptionBookkeeping;
}

export function parseFilter(options: FilterOptionsT): ParsedFilter {
  const onStreamName = options.hasStreamIdentifier();
  const expression = onStreamName ? options.getStreamIdentifier() : options.getEventType();
  if (expression === undefined)
    return { ok: false, reason: 'filter has neither stream_identifier nor event_type' };

  const window = options.hasMax() ? options.getMax() : DEFAULT_FILTER_SEARCH_WINDOW_EVENTS;
  const multiplier = options.getCheckpointintervalmultiplier();
  if (window <= 0) return { ok: false, reason: `filter max search window must be > 0, got ${window}` };
  if (multiplier <= 0)
    return { ok: false, reason: `checkpoint interval multiplier must be > 0, got ${multiplier}` };

  const subject = onStreamName ? (e: RecordedEvent) => e.streamId : (e: RecordedEvent) => e.type;
  const regexSource = expression.getRegex();
  let test: (value: string) => boolean;
  if (regexSource !== '') {
    let regex: RegExp;
    try {
      // .NET's Regex.Match is an unanchored search, like RegExp.test. The dialects differ at the
      // edges (named-group syntax, some escapes); the filters clients send (`^[^$].*`, `^org-`)
      // mean the same in both. No `u` flag: .NET accepts escapes such as `\-` that `u` rejects.
      regex = new RegExp(regexSource);
    } catch (error: unknown) {
      return { ok: false, reason: `invalid filter regex ${JSON.stringify(regexSource)}: ${String(error)}` };
    }
    test = (value) => regex.test(value);
  } else {
    const prefixes = expression.getPrefixList();
    if (prefixes.length === 0) return { ok: false, reason: 'filter has neither a regex nor prefixes' };
    test = (value) => prefixes.some((prefix) => value.startsWith(prefix));
  }

  return {
    ok: true,
    filter: {
      matches: (event) => passesDefaultAllFilter(event) && test(subject(event)),
      checkpointIntervalEvents: multiplier * window,
    },
  };
}
