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
 * one INSERT — a single round trip.
 */
export const migration = {
  version: 1,
  name: 'event_store',
  sql: String.raw`
CREATE TABLE ll_streams (
  stream_name text PRIMARY KEY,
  -- -1 while a stream is being created; the last event's revision afterwards.
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

-- p_expected: >= 0 an exact revision, -1 no stream, -2 any.
-- outcome: ok | idempotent | conflict | duplicate_event_id.
CREATE FUNCTION ll_append(p_stream text, p_org text, p_expected bigint, p_events jsonb)
RETURNS TABLE (r_outcome text, r_revision bigint, r_commit text, r_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_ids uuid[];
  v_revision bigint;
  v_hash bytea;
  v_first_prev bytea;
  v_hashes bytea[] := '{}';
  v_positions bigint[];
  v_found integer;
  v_found_same_stream boolean;
  v_found_offsets bigint;
  v_found_first bigint;
  v_xid xid8;
BEGIN
  SELECT s.revision, s.last_hash INTO v_revision, v_hash
    FROM ll_streams s WHERE s.stream_name = p_stream FOR UPDATE;
  IF NOT FOUND THEN
    IF p_expected >= 0 THEN
      RETURN QUERY SELECT 'conflict'::text, -1::bigint, NULL::text, NULL::bigint;
      RETURN;
    END IF;
    -- Two creators race here: the loser waits on the unique index, then locks the winner's row.
    INSERT INTO ll_streams (stream_name, revision, last_hash)
      VALUES (p_stream, -1, decode(repeat('00', 32), 'hex'))
      ON CONFLICT (stream_name) DO NOTHING;
    SELECT s.revision, s.last_hash INTO v_revision, v_hash
      FROM ll_streams s WHERE s.stream_name = p_stream FOR UPDATE;
  END IF;

  SELECT array_agg((e->>'eventId')::uuid ORDER BY o) INTO v_ids
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, o);

  -- Any of these ids stored already? Either an idempotent retry or a reused id. A retry has
  -- every id, in this stream, in the same order, one after the other.
  SELECT count(*), bool_and(e.stream_name = p_stream),
         count(DISTINCT e.stream_revision - array_position(v_ids, e.event_id)),
         min(e.stream_revision - array_position(v_ids, e.event_id) + 1)
    INTO v_found, v_found_same_stream, v_found_offsets, v_found_first
    FROM ll_events e WHERE e.event_id = ANY (v_ids);
  IF v_found > 0 THEN
    IF v_found = v_count AND v_found_same_stream AND v_found_offsets = 1
       AND (p_expected = -2 OR p_expected = v_found_first - 1) THEN
      RETURN QUERY SELECT 'idempotent'::text, e.stream_revision, e.transaction_id::text, e.global_position
        FROM ll_events e WHERE e.stream_name = p_stream AND e.stream_revision = v_found_first + v_count - 1;
      RETURN;
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

  UPDATE ll_streams SET revision = v_revision + v_count, last_hash = v_hash WHERE stream_name = p_stream;
  RETURN QUERY SELECT 'ok'::text, v_revision + v_count, v_xid::text, v_positions[v_count];
END
$fn$;
`,
};
