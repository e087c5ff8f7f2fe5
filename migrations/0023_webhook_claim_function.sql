-- The webhook claim becomes one function call, as the verification claim did in 0021.
--
-- Sent from WebhookDeliveryQueue.claim, it was a transaction of two statements (the open
-- endpoints with their leases, then the claim given them as values): five round trips, both
-- statements parsed and planned on every call. In PostgreSQL's log of a drain to one endpoint,
-- 1.5 ms of each claim's 5.7 went to that, and the endpoint waits for the claim: the claim is
-- made when the last attempt of the previous one has ended, so its whole time is on the path
-- of every delivery.
--
-- The two statements are those WebhookDeliveryQueue.claim sent (its comments say why each is
-- written as it is), unchanged but for where their values come from:
--  1. the enabled endpoints below their share, with their live leases (this worker's answered
--     deliveries left out: they hold no request open);
--  2. the claim over the due order, its scan cut at the free slots, each endpoint kept within
--     its share by the window, the attempt counted and the lease taken.
-- The first statement keeps the connection's generic plan. The second is planned for its
-- arguments on every call: as a generic plan, the endpoint array and the scan's LIMIT are
-- unknown to the planner, which is the plan the statement was written to avoid (the whole
-- backlog sorted for each claim). What is saved is the parsing, the first statement's planning
-- and one round trip (four instead of five). The function's SET clause puts the setting back
-- when it returns.
--
-- The claimed rows come first; the last row has a NULL id and says only `shares_full`: with
-- what was claimed, every enabled endpoint is at its share (or none is enabled), so only an
-- answer can make the next claim find anything.
CREATE FUNCTION claim_webhook_deliveries(
    worker text, batch_limit integer, lease_ms bigint, per_endpoint integer, max_attempts integer, answered uuid[]
)
RETURNS TABLE (
    id uuid, endpoint_id uuid, event_id uuid, event_type text, tenant_id uuid, tenant_slug text, credential_id uuid,
    uri_set_version integer, occurred_at timestamptz, attempt integer, attempt_limit integer, url text,
    secret_key_id text, secret_sealed bytea, previous_secret_key_id text, previous_secret_sealed bytea, shares_full boolean
)
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
AS $$
#variable_conflict use_column
DECLARE
    open_ids uuid[];
    open_leased integer[];
    free integer;
BEGIN
    SELECT coalesce(array_agg(e.id), '{}'), coalesce(array_agg(coalesce(l.n, 0)::integer), '{}')
    INTO open_ids, open_leased
    FROM webhook_endpoints e
    LEFT JOIN (
        SELECT d.endpoint_id, count(*) AS n FROM webhook_deliveries d
        WHERE d.status = 'pending' AND d.lease_expires_at > now()
          AND NOT (d.claimed_by = worker AND d.id = ANY (answered))
        GROUP BY d.endpoint_id
    ) l ON l.endpoint_id = e.id
    WHERE e.enabled AND coalesce(l.n, 0) < per_endpoint;

    SELECT coalesce(sum(per_endpoint - leased), 0) INTO free FROM unnest(open_leased) AS o(leased);
    IF batch_limit <= 0 OR free <= 0 THEN
        RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::uuid, NULL::text, NULL::uuid,
                            NULL::integer, NULL::timestamptz, NULL::integer, NULL::integer, NULL::text,
                            NULL::text, NULL::bytea, NULL::text, NULL::bytea, cardinality(open_ids) = 0;
        RETURN;
    END IF;

    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    RETURN QUERY
    WITH open AS (
        SELECT * FROM unnest(open_ids, open_leased) AS o(id, leased)
    ), picked AS (
        SELECT d.id, d.endpoint_id, d.seq FROM webhook_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())
          AND d.attempt < greatest(coalesce(d.attempt_limit, 0), max_attempts)
          AND d.endpoint_id = ANY (open_ids)
          AND (NOT EXISTS (
              SELECT 1 FROM webhook_deliveries p
              WHERE p.endpoint_id = d.endpoint_id AND p.tenant_id = d.tenant_id AND p.status = 'pending' AND p.seq < d.seq)
               OR d.attempt < 0)
        ORDER BY d.next_attempt_at, d.seq
        LIMIT least(batch_limit * 4, batch_limit + per_endpoint, free)
        FOR UPDATE OF d SKIP LOCKED
    ), chosen AS (
        SELECT ranked.id FROM (
            SELECT picked.id, picked.seq,
                   row_number() OVER (PARTITION BY picked.endpoint_id ORDER BY picked.seq) + open.leased AS slot
            FROM picked JOIN open ON open.id = picked.endpoint_id
        ) ranked
        WHERE ranked.slot <= per_endpoint
        ORDER BY ranked.seq
        LIMIT batch_limit
    ), claimed AS (
        UPDATE webhook_deliveries d
        SET attempt = d.attempt + 1, claimed_by = worker, lease_expires_at = now() + lease_ms * interval '1 millisecond'
        FROM chosen, webhook_endpoints e
        WHERE d.id = chosen.id AND e.id = d.endpoint_id
        RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.tenant_id, d.tenant_slug, d.credential_id,
                  d.uri_set_version, d.occurred_at, d.attempt, d.attempt_limit, e.url, e.secret_key_id, e.secret_sealed,
                  CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_key_id END AS previous_secret_key_id,
                  CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_sealed END AS previous_secret_sealed
    )
    SELECT c.*, NULL::boolean FROM claimed c
    UNION ALL
    SELECT NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::uuid, NULL::text, NULL::uuid,
           NULL::integer, NULL::timestamptz, NULL::integer, NULL::integer, NULL::text,
           NULL::text, NULL::bytea, NULL::text, NULL::bytea,
           NOT EXISTS (
               SELECT 1 FROM open o
               WHERE o.leased + (SELECT count(*) FROM claimed c WHERE c.endpoint_id = o.id) < per_endpoint
           );
END
$$;

REVOKE ALL ON FUNCTION claim_webhook_deliveries(text, integer, bigint, integer, integer, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_webhook_deliveries(text, integer, bigint, integer, integer, uuid[]) TO provisioner_app;
