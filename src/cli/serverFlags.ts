/**
 * Node flags a ledgerline server runs with (`npm start`, and the bench's server, which must be
 * measured as it is run). Kept here so the two cannot drift; a test holds package.json to it.
 *
 * --max-semi-space-size: a server answering thousands of commands a second allocates short-
 * lived objects (request bodies, decoded events, SQL parameters) far faster than V8's default
 * young generation (16 MB semi-spaces) expects: it scavenges constantly, and objects still in
 * flight at each scavenge are copied, some promoted to the old generation. 64 MB semi-spaces
 * scavenge a quarter as often and let most of those objects die first. Measured in CPU
 * profiles of the ledger bench: the main thread's share in the garbage collector fell from
 * 9.1 % to 6.8 % (batch endpoint) and from 4.7 % to 3.4 % (single transfers). It costs up to
 * 3 × 48 MB more reserved memory per process.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
