/**
 * DNS-rebinding protection for the MCP endpoints: a browser page must not reach a local server
 * through a hostile name. A request with an Origin must come from an allowed origin (403
 * otherwise); the Host must be an allowed host when the server listens on a loopback address
 * (or when hosts are configured). Clients that are not browsers send no Origin.
 */
export interface OriginPolicy {
  /** Extra allowed origins (`https://dashboard.example.com`); loopback origins are always allowed. */
  readonly allowedOrigins: readonly string[];
  /** Allowed Host values; null: any host (the server is behind a proxy that checks it). */
  readonly allowedHosts: readonly string[] | null;
}

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function hostnameOf(host: string): string {
  const bracket = host.startsWith('[') ? host.indexOf(']') : -1;
  if (bracket > 0) return host.slice(0, bracket + 1).toLowerCase();
  return (host.split(':')[0] ?? '').toLowerCase();
}

export function isLoopbackAddress(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

/** The policy for a server listening on `listenHost`, with the configured extras. */
export function originPolicy(
  listenHost: string,
  origins: readonly string[],
  hosts: readonly string[],
): OriginPolicy {
  if (hosts.length > 0) return { allowedOrigins: origins, allowedHosts: hosts };
  return { allowedOrigins: origins, allowedHosts: isLoopbackAddress(listenHost) ? [] : null };
}

/** Null when the request may go on; otherwise why it is refused (403). */
export function refuseOrigin(
  policy: OriginPolicy,
  origin: string | undefined,
  host: string | undefined,
): string | null {
  if (policy.allowedHosts !== null) {
    const allowed =
      host !== undefined &&
      (LOOPBACK_HOSTNAMES.has(hostnameOf(host)) || policy.allowedHosts.includes(host.toLowerCase()));
    if (!allowed) return `Host ${String(host).slice(0, 100)} is not allowed`;
  }
  if (origin !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return 'Origin is not a URL';
    }
    const loopback = LOOPBACK_HOSTNAMES.has(parsed.hostname.toLowerCase());
    if (!loopback && !policy.allowedOrigins.includes(parsed.origin)) {
      return `Origin ${parsed.origin.slice(0, 100)} is not allowed`;
    }
  }
  return null;
}
