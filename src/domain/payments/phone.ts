/**
 * Kenyan mobile numbers (SPEC §5.1): `07XXXXXXXX`, `01XXXXXXXX`, `+2547…`/`+2541…` and
 * `2547…`/`2541…` become the MSISDN Daraja expects, `2547XXXXXXXX` or `2541XXXXXXXX`.
 * Anything else is refused, never guessed at: a number lacking its leading zero, a landline,
 * another country, spaces or dashes inside.
 */

/** A normalized Kenyan mobile number: 12 digits, `254`, then `7` or `1`, then 8 digits. */
export type Msisdn = string & { readonly __brand: 'Msisdn' };

export type PhoneProblemCode = 'PHONE_MALFORMED' | 'PHONE_NOT_KENYAN_MOBILE';

export interface PhoneProblem {
  readonly code: PhoneProblemCode;
  readonly reason: string;
}

const MSISDN = /^254[17]\d{8}$/;
/** The accepted spellings; the captured group is the 9 digits after the country code. */
const FORMS = [/^0([17]\d{8})$/, /^\+254([17]\d{8})$/, /^254([17]\d{8})$/];
/** Digits with an optional leading plus: the shape before the prefix is checked. */
const DIGITS = /^\+?\d+$/;
/** Long enough for any real number, short enough that a reason quoting it stays readable. */
const QUOTED_LENGTH_MAX = 20;

export function isMsisdn(value: unknown): value is Msisdn {
  return typeof value === 'string' && MSISDN.test(value);
}

/** Normalizes a phone number given as text or (as some clients send it) a JSON number. */
export function normalizeKenyanPhone(input: unknown): Msisdn | PhoneProblem {
  let text: string;
  if (typeof input === 'string') text = input.trim();
  else if (typeof input === 'number' && Number.isSafeInteger(input) && input > 0) text = String(input);
  else {
    return {
      code: 'PHONE_MALFORMED',
      reason: 'must be a phone number such as "0712345678" or "254712345678"',
    };
  }
  const quoted = `"${text.slice(0, QUOTED_LENGTH_MAX)}"`;
  if (!DIGITS.test(text)) {
    return { code: 'PHONE_MALFORMED', reason: `${quoted} may hold only digits and a leading +` };
  }
  for (const form of FORMS) {
    const match = form.exec(text);
    if (match?.[1] !== undefined) return `254${match[1]}` as Msisdn;
  }
  return {
    code: 'PHONE_NOT_KENYAN_MOBILE',
    reason: `${quoted} is not a Kenyan mobile number (07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX or 2547XXXXXXXX)`,
  };
}

export function isPhoneProblem(value: Msisdn | PhoneProblem): value is PhoneProblem {
  return typeof value !== 'string';
}
