-- The data set of `scripts/scale`: :sessions sessions over :accounts accounts, generated inside
-- PostgreSQL (one INSERT ... SELECT over generate_series) so a million rows take minutes, not
-- the hour a JSON import of them would. Run on a migrated database, as
--
--   psql -v sessions=1000000 -v accounts=100 -f scripts/scale_data.sql DB
--
-- Deterministic: every varied value is a hash of the session's number (hashint8extended), so
-- every run builds the same rows and the queries of scripts/scale find the same matches.
-- Session i (0-based) has id session_prefix || i zero-padded to 7 digits (24 hex characters,
-- as ObjectIds; below a million that is scripts/bench's form, prefix || '0' || 6 digits, so
-- scripts/bench_wrk.lua can PATCH them) and belongs to account i % :accounts; creation times
-- are spread evenly over the year from 2025-12-01 in the order of i (the table is filled in
-- creation order, as a live one is). Keep the prefixes in step with scripts/scale.
\set ON_ERROR_STOP on
\set session_prefix '65f0a1b2c3d4e5f6a'
\set account_prefix '65f0acc0ffee'

BEGIN;

-- Building the indexes once after the rows are in is several times faster than maintaining
-- them row by row: keep the definitions the migrations made, drop them, put them back at the
-- end (the primary key stays; it is a constraint).
SET LOCAL maintenance_work_mem = '512MB';
CREATE TEMP TABLE kept_indexes ON COMMIT DROP AS
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = 'public' AND tablename = 'sessions' AND indexname <> 'sessions_pkey';
SELECT format('DROP INDEX %I', indexname) FROM kept_indexes \gexec

INSERT INTO accounts (id, name)
SELECT :'account_prefix' || lpad(a::text, 12, '0'), 'Scale Account ' || lpad(a::text, 3, '0')
FROM generate_series(0, :accounts - 1) AS a;

-- Word lists the generated values pick from; h(i, k) below is the k-th hash of session i.
CREATE TEMP TABLE words AS SELECT
    ARRAY['Jane', 'Sam', 'Ana', 'Luis', 'Mei', 'Omar', 'Priya', 'Tom', 'Zoe', 'Ivan', 'Kofi', 'Lena']
        AS first_names,
    ARRAY['Caller', 'Agent', 'Garcia', 'Chen', 'Okafor', 'Novak', 'Smith', 'Tanaka', 'Kowalski', 'Haddad']
        AS last_names,
    ARRAY['Northwind Traders', 'Contoso Ltd', 'Fabrikam', 'Tailspin Toys', 'Wide World Importers',
          'Litware', 'Adventure Works', 'Proseware', 'Wingtip Toys', 'Fourth Coffee'] AS companies,
    ARRAY['Billing', 'Support', 'Sales', 'Escalations', 'Onboarding'] AS queues,
    ARRAY['Disconnected', 'Ringing', 'Connected', 'Hold', 'Passive'] AS call_states,
    ARRAY['None', 'Queued', 'Ringing', 'Connected', 'Hold', 'Disconnected'] AS queue_states,
    ARRAY['Completed', 'Voicemail', 'Abandoned', 'Transferred'] AS outcomes;

CREATE FUNCTION pg_temp.h(i bigint, k bigint, n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS 'SELECT abs(hashint8extended(i, k)) % n';
-- A JSON string. The json columns are written as compact text, as the server itself stores
-- them (json_build_object would add spaces the server then sends back verbatim).
CREATE FUNCTION pg_temp.js(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT to_json(t)::text';
-- An ISO 8601 UTC time with milliseconds, as the wire's dates are.
CREATE FUNCTION pg_temp.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')$$;

INSERT INTO sessions (
    id, date_created, date_last_modified, created_by, last_modified_by, dial_state, call_state,
    queue_state, account_id, account_name, customer_id, customer_breadcrumb, customer_name,
    endpoint_id, endpoint_name, date_completed, destination, to_address, from_address, from_name,
    answered_by_name, queue_member_id, channel, ended, outcome, call_sid, console_data,
    hold_queue_name, conference_sid, display_name, log, members, callback_number,
    answered_by_id, direction, from_phone_number, was_missed, ring_queue_id, created_at)
SELECT
    :'session_prefix' || lpad(g.i::text, 7, '0'),
    pg_temp.iso(g.created),
    pg_temp.iso(g.modified),
    'system',
    g.agent_id,
    CASE WHEN g.ended THEN 'None' ELSE 'Active' END,
    CASE WHEN g.ended THEN 'Disconnected' ELSE w.call_states[1 + pg_temp.h(g.i, 10, 5)] END,
    CASE WHEN g.ended THEN 'Disconnected' ELSE w.queue_states[1 + pg_temp.h(g.i, 11, 6)] END,
    :'account_prefix' || lpad(g.a::text, 12, '0'),
    'Scale Account ' || lpad(g.a::text, 3, '0'),
    g.customer_id,
    ('[{"id":"' || substr(md5('segment' || g.a), 1, 24) || '","name":"Enterprise Customers"},'
     || '{"id":"' || g.customer_id || '","name":' || pg_temp.js(g.company) || '}]')::json,
    g.company,
    g.endpoint_id,
    'Main Line ' || g.line,
    CASE WHEN g.ended THEN pg_temp.iso(g.modified) END,
    g.line,
    g.line,
    g.caller_phone,
    g.caller_name,
    g.agent_name,
    substr(md5('member' || g.i), 1, 24),
    'Voice',
    g.ended,
    CASE WHEN g.ended THEN w.outcomes[1 + pg_temp.h(g.i, 12, 4)] END,
    'CA' || md5('call' || g.i),
    'Caller asked about invoice INV-' || (10000 + pg_temp.h(g.i, 13, 90000)) || '; verified account',
    g.queue || ' hold',
    'CF' || md5('conference' || g.i),
    g.caller_name || ' (' || g.company || ')',
    -- 3 to 8 log entries, a few seconds apart, from the templates a call goes through.
    (SELECT ('[' || string_agg(
                '{"date":"' || pg_temp.iso(g.created + k * interval '7 seconds')
                || '","message":' || pg_temp.js(CASE pg_temp.h(g.i, 100 + k, 10)
                    WHEN 0 THEN 'Incoming call from ' || g.caller_phone || ' to ' || g.line
                    WHEN 1 THEN 'Call entered flow ''' || g.queue || ' routing'' (node: Business hours check)'
                    WHEN 2 THEN 'Caller selected option ' || (1 + pg_temp.h(g.i, 200 + k, 9))
                                || ' in IVR menu ''' || g.queue || ''''
                    WHEN 3 THEN 'Call queued in ''' || g.queue || ''' with priority ' || (1 + pg_temp.h(g.i, 200 + k, 9))
                    WHEN 4 THEN 'Ringing agent ' || g.agent_name || ' (' || g.endpoint_id || ')'
                    WHEN 5 THEN 'Agent ' || g.agent_name || ' answered after ' || (2 + pg_temp.h(g.i, 200 + k, 40)) || ' seconds'
                    WHEN 6 THEN 'Call placed on hold by ' || g.agent_name || ': waiting for supervisor'
                    WHEN 7 THEN 'Transfer to ''' || g.queue || ''' requested by ' || g.agent_name
                    WHEN 8 THEN 'CRM screen-pop sent for contact crm-' || (100000 + pg_temp.h(g.i, 200 + k, 900000))
                    ELSE 'Wrap-up code ''Resolved - first contact'' set by ' || g.agent_name
                END) || '}', ',' ORDER BY k) || ']')::json
     FROM generate_series(1, 3 + pg_temp.h(g.i, 14, 6)) AS k),
    ('[{"identity":"' || substr(md5('caller' || g.i), 1, 24) || '","displayName":"' || g.caller_name
     || '","isOriginalMember":true,"callState":"Connected","role":"Caller","callSid":"CA'
     || md5('call' || g.i) || '","muted":false},{"identity":"' || g.agent_id || '","endpointId":"'
     || g.endpoint_id || '","displayName":"' || g.agent_name || '","isOriginalMember":false,'
     || '"applicationData":{"queue":"' || g.queue || '","language":"en-US"},"callState":"Connected",'
     || '"role":"Agent","callSid":"CA' || md5('agent' || g.i) || '","muted":false}]')::json,
    g.caller_phone,
    g.agent_id,
    CASE WHEN pg_temp.h(g.i, 15, 5) = 0 THEN 'Outgoing' ELSE 'Incoming' END,
    g.caller_phone,
    pg_temp.h(g.i, 16, 20) = 0,
    substr(md5('queue' || g.a || g.queue), 1, 24),
    g.created
FROM words w, LATERAL (
    SELECT s.i, s.a, s.created, s.created + interval '3 minutes' AS modified,
        pg_temp.h(s.i, 1, 10) < 4 AS ended,
        -- 200 customers, 50 endpoints and 20 numbers called per account.
        substr(md5('customer' || s.a || '-' || pg_temp.h(s.i, 2, 200)), 1, 24) AS customer_id,
        substr(md5('endpoint' || s.a || '-' || pg_temp.h(s.i, 3, 50)), 1, 24) AS endpoint_id,
        '+1555' || lpad(s.a::text, 3, '0') || lpad((1000 + pg_temp.h(s.i, 4, 20))::text, 4, '0') AS line,
        '+1' || (201 + pg_temp.h(s.i, 5, 789)) || (2000000 + pg_temp.h(s.i, 6, 8000000)) AS caller_phone,
        w.first_names[1 + pg_temp.h(s.i, 7, 12)] || ' ' || w.last_names[1 + pg_temp.h(s.i, 8, 10)] AS caller_name,
        w.first_names[1 + pg_temp.h(s.i, 17, 12)] || ' ' || w.last_names[1 + pg_temp.h(s.i, 18, 10)] AS agent_name,
        substr(md5('agent' || s.a || '-' || pg_temp.h(s.i, 17, 12)), 1, 24) AS agent_id,
        w.companies[1 + pg_temp.h(s.i, 9, 10)] AS company,
        w.queues[1 + pg_temp.h(s.i, 19, 5)] AS queue
    FROM (SELECT n AS i, n % :accounts AS a,
                 timestamptz '2025-12-01 00:00:00+00'
                     + n * (interval '365 days' / :sessions)
                     + pg_temp.h(n, 0, 1000) * interval '1 millisecond' AS created
          FROM generate_series(0, :sessions - 1) AS n) s
) g;

SELECT indexdef FROM kept_indexes \gexec

COMMIT;
