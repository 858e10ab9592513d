/**
 * Amounts the ledger must refuse (SPEC §4), each with the reason it must give: the ones a user
 * reported, and a few more of the same kind. Every reason is for a 2-decimal asset such as KES.
 */
/** The bad amounts of the issue, and a few more, with the reason each must be refused for. */
export const BAD_AMOUNTS: readonly (readonly [label: string, value: unknown, reason: RegExp])[] = [
  ['"0"', '0', /must be greater than zero/],
  ['"0.00"', '0.00', /must be greater than zero/],
  ['"-1"', '-1', /"-1" is not a plain positive decimal/],
  ['"1e3"', '1e3', /"1e3" is not a plain positive decimal/],
  ['"NaN"', 'NaN', /"NaN" is not a plain positive decimal/],
  ['"Infinity"', 'Infinity', /"Infinity" is not a plain positive decimal/],
  ['"0.001" on a 2-decimal asset', '0.001', /has 3 decimals; this asset allows 2/],
  ['"12.345" on a 2-decimal asset', '12.345', /has 3 decimals; this asset allows 2/],
  ['"1" followed by 30 zeros', `1${'0'.repeat(30)}`, /must be at most 10\^20/],
  ['10^20 and a cent', '100000000000000000000.01', /must be at most 10\^20/],
  ['" 12.50" (leading space)', ' 12.50', /" 12.50" is not a plain positive decimal/],
  ['"12.50 " (trailing space)', '12.50 ', /"12.50 " is not a plain positive decimal/],
  ['"" (empty)', '', /is not a plain positive decimal/],
  ['"+1"', '+1', /is not a plain positive decimal/],
  ['"1,000.00"', '1,000.00', /is not a plain positive decimal/],
  ['"012"', '012', /is not a plain positive decimal/],
  ['".5"', '.5', /is not a plain positive decimal/],
  ['"5."', '5.', /is not a plain positive decimal/],
  ['"0x10"', '0x10', /is not a plain positive decimal/],
  ['a JSON number', JSON.parse('12.5'), /must be a decimal string/],
  ['a JSON number beyond 2^53', JSON.parse('9007199254740993'), /must be a decimal string/],
  ['a bigint', 1250n, /must be a decimal string/],
  ['null', null, /must be a decimal string/],
];

/** The same, for the fields where null means something (no limit; the whole amount). */
export const BAD_AMOUNTS_NOT_NULL = BAD_AMOUNTS.filter(([, value]) => value !== null);
