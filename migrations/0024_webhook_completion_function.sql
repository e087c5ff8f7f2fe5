-- Recording webhook results becomes one function call, as the claim did in 0023.
--
-- Sent from WebhookDeliveryQueue.complete, the statement was parsed and planned on every call:
-- 0.7 ms of each 2.2 ms call in a drain to one endpoint (PostgreSQL's log), about 190 calls for
-- 10,000 deliveries. The statement is the one complete sent, unchanged: each result fenced by
-- (id, claimed_by, attempt) and recorded; a `gone` result (410) also disables its endpoint and
-- fails the endpoint's other pending deliveries. Its plan is the same for any batch (the
-- results joined to their rows by primary key), so the connection's generic plan is kept.
-- Returns how many results were taken.
CREATE FUNCTION complete_webhook_deliveries(
    ids uuid[], claimed_bys text[], attempts integer[], statuses text[], gones boolean[], response_statuses integer[],
    attempted_ats timestamptz[], next_attempt_ats timestamptz[], last_errors text[]
)
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
AS $$
DECLARE
    recorded integer;
BEGIN
    WITH r AS (
        SELECT * FROM unnest(ids, claimed_bys, attempts, statuses, gones, response_statuses, attempted_ats, next_attempt_ats, last_errors)
            AS r(id, claimed_by, attempt, status, gone, response_status, attempted_at, next_attempt_at, last_error)
    ), done AS (
        UPDATE webhook_deliveries d
        SET status = r.status, response_status = nullif(r.response_status, 0), attempted_at = r.attempted_at,
            next_attempt_at = CASE WHEN r.status = 'pending' THEN r.next_attempt_at ELSE d.next_attempt_at END,
            last_error = left(nullif(r.last_error, ''), 500), lease_expires_at = NULL, claimed_by = NULL
        FROM r
        WHERE d.id = r.id AND d.claimed_by = r.claimed_by AND d.attempt = r.attempt AND d.status = 'pending'
        RETURNING d.id, d.endpoint_id, r.gone
    ), disabled AS (
        UPDATE webhook_endpoints e SET enabled = false, disabled_reason = 'gone', disabled_at = now()
        WHERE e.id IN (SELECT done.endpoint_id FROM done WHERE done.gone) AND e.enabled
        RETURNING e.id
    ), abandoned AS (
        UPDATE webhook_deliveries d
        SET status = 'failed', lease_expires_at = NULL, claimed_by = NULL,
            last_error = 'not sent: the endpoint answered 410 Gone to another delivery and was disabled'
        WHERE d.endpoint_id IN (SELECT done.endpoint_id FROM done WHERE done.gone) AND d.status = 'pending'
          AND d.id NOT IN (SELECT done.id FROM done)
        RETURNING d.id
    )
    SELECT count(*)::integer INTO recorded FROM done;
    RETURN recorded;
END
$$;

REVOKE ALL ON FUNCTION complete_webhook_deliveries(uuid[], text[], integer[], text[], boolean[], integer[], timestamptz[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION complete_webhook_deliveries(uuid[], text[], integer[], text[], boolean[], integer[], timestamptz[], timestamptz[], text[]) TO provisioner_app;
