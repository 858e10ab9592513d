/**
 * The event store on PostgreSQL and PGlite (the same SQL for both).
 *
 * Global order is the trap: a sequence number is taken when a row is inserted, not when its
 * transaction commits, so a reader polling `position > last` can pass over a row whose
 * transaction commits late. Every row therefore records its transaction id (xid8), readers
 * order by (transaction_id, global_position) and read only transactions below the oldest
 * still running (`pg_snapshot_xmin(pg_current_snapshot())`): below that line nothing can
 * appear any more, so the order readers see never changes behind them.
 *
 * One append is one call of ll_append: it locks the stream head row, checks the expected
 * revision, recognizes an idempotent retry, chains the hashes and inserts every event with
 * one INSERT. ll_append_batch runs several appends (already sorted by stream name, so
 * concurrent batches lock rows in one order and cannot deadlock) in one transaction: group
 * commit, still a single round trip.
 */
export const migration = {
  version: 1,
  name: 'event_store',
  sql: String.raw`
CREATE TABLE ll_streams (
  stream_name text PRIMARY KEY,
  -- The last event's revision and hash: verify compares them with the events.
  revision bigint NOT NULL,
  last_hash bytea NOT NULL
);

CREATE SEQUENCE ll_events_position_seq AS bigint;

CREATE TABLE ll_events (
  transaction_id xid8 NOT NULL,
  global_position bigint NOT NULL,
  stream_name text NOT NULL,
  stream_revision bigint NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  schema_version integer NOT NULL,
  org_id text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  occurred_at timestamptz NOT NULL,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (transaction_id, global_position)
);

CREATE UNIQUE INDEX ll_events_stream_revision ON ll_events (stream_name, stream_revision);
CREATE UNIQUE INDEX ll_events_event_id ON ll_events (event_id);
CREATE INDEX ll_events_org_order ON ll_events (org_id, transaction_id, global_position);

-- Writers of one stream are serialized by an advisory lock on the stream name, not a row
-- lock, because taking it does not assign a transaction id: a writer's xid is assigned only
-- by its first write, after it holds every lock it needs, so whoever held the lock before it
-- has a smaller xid. That keeps each stream's revisions in the same order as the global order.
-- p_expected: >= 0 an exact revision, -1 no stream, -2 any.
-- outcome: ok | idempotent | conflict | duplicate_event_id.
-- enable_seqscan is off because every lookup here has a unique index, and a plan cached while
-- the table was small must never turn into a scan of millions of events.
CREATE FUNCTION ll_append(p_stream text, p_org text, p_expected bigint, p_events jsonb)
RETURNS TABLE (r_outcome text, r_revision bigint, r_commit text, r_position bigint)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_revision bigint;
  v_hash bytea;
  v_first_prev bytea;
  v_hashes bytea[] := '{}';
  v_positions bigint[];
  v_found_stream text;
  v_found_revision bigint;
  v_matching integer;
  v_xid xid8;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, 0));
  SELECT s.revision, s.last_hash INTO v_revision, v_hash FROM ll_streams s WHERE s.stream_name = p_stream;
  IF NOT FOUND THEN
    v_revision := -1;
    v_hash := decode(repeat('00', 32), 'hex');
  END IF;

  -- Is the first id stored already? Then this is a retry (every id, in this stream, at
  -- consecutive revisions, with the same expectation) or a reused id. A reused id further
  -- down the list is caught by the unique index on insert.
  SELECT e.stream_name, e.stream_revision INTO v_found_stream, v_found_revision
    FROM ll_events e WHERE e.event_id = (p_events -> 0 ->> 'eventId')::uuid;
  IF FOUND THEN
    IF v_found_stream = p_stream AND (p_expected = -2 OR p_expected = v_found_revision - 1) THEN
      SELECT count(*) INTO v_matching
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, o)
        JOIN ll_events x ON x.stream_name = p_stream AND x.stream_revision = v_found_revision + t.o - 1
         AND x.event_id = (t.e ->> 'eventId')::uuid;
      IF v_matching = v_count THEN
        RETURN QUERY SELECT 'idempotent'::text, x.stream_revision, x.transaction_id::text, x.global_position
          FROM ll_events x WHERE x.stream_name = p_stream AND x.stream_revision = v_found_revision + v_count - 1;
        RETURN;
      END IF;
    END IF;
    IF (p_expected = -1 AND v_revision <> -1) OR (p_expected >= 0 AND v_revision <> p_expected) THEN
      RETURN QUERY SELECT 'conflict'::text, v_revision, NULL::text, NULL::bigint;
      RETURN;
    END IF;
    RETURN QUERY SELECT 'duplicate_event_id'::text, v_revision, NULL::text, NULL::bigint;
    RETURN;
  END IF;

  IF (p_expected = -1 AND v_revision <> -1) OR (p_expected >= 0 AND v_revision <> p_expected) THEN
    RETURN QUERY SELECT 'conflict'::text, v_revision, NULL::text, NULL::bigint;
    RETURN;
  END IF;

  v_first_prev := v_hash;
  FOR i IN 0 .. v_count - 1 LOOP
    v_hash := sha256(v_hash || decode(p_events -> i ->> 'contentHash', 'hex'));
    v_hashes := array_append(v_hashes, v_hash);
  END LOOP;
  -- The first write of the transaction: the xid is assigned here, after the lock.
  SELECT array_agg(p ORDER BY p) INTO v_positions
    FROM (SELECT nextval('ll_events_position_seq') AS p FROM generate_series(1, v_count)) s;
  v_xid := pg_current_xact_id();

  INSERT INTO ll_events (transaction_id, global_position, stream_name, stream_revision, event_id,
                         event_type, schema_version, org_id, data, metadata, occurred_at, prev_hash, hash)
  SELECT v_xid, v_positions[t.o], p_stream, v_revision + t.o, (t.e->>'eventId')::uuid,
         t.e->>'type', (t.e->>'schemaVersion')::integer, p_org, t.e->'data', t.e->'metadata',
         (t.e->>'occurredAt')::timestamptz,
         CASE WHEN t.o = 1 THEN v_first_prev ELSE v_hashes[t.o - 1] END, v_hashes[t.o]
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, o);

  INSERT INTO ll_streams (stream_name, revision, last_hash) VALUES (p_stream, v_revision + v_count, v_hash)
    ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision, last_hash = excluded.last_hash;
  RETURN QUERY SELECT 'ok'::text, v_revision + v_count, v_xid::text, v_positions[v_count];
END
$fn$;

-- p_appends: [{stream, org, expected, events}, …], sorted by stream name; one result row per
-- append, by index. Every stream is locked before anything is written (see above),
-- in name order, so concurrent batches cannot deadlock.
CREATE FUNCTION ll_append_batch(p_appends jsonb)
RETURNS TABLE (r_index integer, r_outcome text, r_revision bigint, r_commit text, r_position bigint)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  v_count integer := jsonb_array_length(p_appends);
BEGIN
  FOR i IN 0 .. v_count - 1 LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(p_appends -> i ->> 'stream', 0));
  END LOOP;
  FOR i IN 0 .. v_count - 1 LOOP
    RETURN QUERY SELECT i, a.r_outcome, a.r_revision, a.r_commit, a.r_position
      FROM ll_append(p_appends -> i ->> 'stream', p_appends -> i ->> 'org',
                     (p_appends -> i ->> 'expected')::bigint, p_appends -> i -> 'events') a;
  END LOOP;
END
$fn$;
`,
};
