/**
 * Stripe's request bodies are `application/x-www-form-urlencoded` with nested keys:
 * `metadata[order]=42`, `payment_method_types[0]=card`. Brackets stay literal (as Stripe's own
 * libraries send them); everything else is percent-encoded. Undefined values are left out.
 */

export type FormValue =
  | string
  | number
  | bigint
  | boolean
  | undefined
  | readonly FormValue[]
  | { readonly [key: string]: FormValue };

/** Nesting deeper than this is a bug in the caller, not a Stripe parameter. */
const DEPTH_MAX = 5;

export function formEncode(params: Readonly<Record<string, FormValue>>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) append(pairs, encodeKey(key), value, 0);
  return pairs.join('&');
}

function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%5B/gi, '[').replace(/%5D/gi, ']');
}

function append(pairs: string[], key: string, value: FormValue, depth: number): void {
  if (value === undefined) return;
  if (depth > DEPTH_MAX) throw new Error(`form parameter ${key} is nested more than ${DEPTH_MAX} levels`);
  if (Array.isArray(value)) {
    (value as readonly FormValue[]).forEach((item, index) => {
      append(pairs, `${key}[${index}]`, item, depth + 1);
    });
    return;
  }
  if (typeof value === 'object') {
    for (const [name, item] of Object.entries(value))
      append(pairs, `${key}[${encodeKey(name)}]`, item, depth + 1);
    return;
  }
  pairs.push(`${key}=${encodeURIComponent(String(value))}`);
}
