/**
 * The CLI's only way to the terminal. Results go to stdout; messages for people go to
 * stderr, so that stdout stays clean for machine-readable output (and, later, for MCP over
 * stdio).
 */
export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}
