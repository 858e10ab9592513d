/** What of an EventStoreDB connection string may appear in logs: never its credentials. */
export function redactConnectionString(connectionString: string): string {
  // `esdb://user:password@host:2113,host2:2113?tls=true`: the part between `//` and `@`.
  return connectionString.replace(/^([a-z+]+:\/\/)[^@/?]*@/i, '$1');
}
