/**
 * The Lipa na M-Pesa Online password (PROVIDERS.md §1): `base64(shortcode + passkey + timestamp)`,
 * plain concatenation, where the timestamp is `YYYYMMDDHHmmss` in Nairobi time and the same
 * value is sent as `Timestamp`. Pure: the caller passes the instant.
 */

/** Kenya keeps East Africa Time, UTC+3, all year (no daylight saving). */
export const NAIROBI_UTC_OFFSET_MS = 3 * 60 * 60 * 1000;
const MS_PER_DAY = 86_400_000;

/** `YYYYMMDDHHmmss` in Nairobi time for an instant given in Unix milliseconds. */
export function nairobiTimestamp(epochMs: number): string {
  const local = Math.floor(epochMs) + NAIROBI_UTC_OFFSET_MS;
  const days = Math.floor(local / MS_PER_DAY);
  const msOfDay = local - days * MS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const seconds = Math.floor(msOfDay / 1000);
  return (
    String(year).padStart(4, '0') +
    pad2(month) +
    pad2(day) +
    pad2(Math.floor(seconds / 3600)) +
    pad2(Math.floor((seconds % 3600) / 60)) +
    pad2(seconds % 60)
  );
}

export function stkPassword(shortcode: string, passkey: string, timestamp: string): string {
  return Buffer.from(`${shortcode}${passkey}${timestamp}`, 'utf8').toString('base64');
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

/** Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm). */
function civilFromDays(daysSinceEpoch: number): { year: number; month: number; day: number } {
  const z = daysSinceEpoch + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}
