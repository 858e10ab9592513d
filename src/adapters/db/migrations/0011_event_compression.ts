/**
 * Faster compression for the large values (issue 5): a ledger batch is one event of a few
 * hundred kilobytes, and a book's snapshot can be megabytes. PostgreSQL compresses such values
 * with pglz by default; lz4 compresses about twice as fast and decompresses several times
 * faster at a similar ratio, which is what the append path and every projector read pay.
 * Only values written from now on use it: old ones stay readable as they are. Where the
 * server was built without lz4 (PGlite is), nothing changes.
 */
export const migration = {
  version: 11,
  name: 'event_compression',
  sql: String.raw`
DO $$
BEGIN
  ALTER TABLE ll_events ALTER COLUMN data SET COMPRESSION lz4;
  ALTER TABLE ll_events ALTER COLUMN metadata SET COMPRESSION lz4;
  ALTER TABLE ll_snapshots ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available here: values keep the default compression';
END
$$;
`,
};
