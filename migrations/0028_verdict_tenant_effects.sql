-- The verdicts' effects on each tenant, set-based. Over 1,000 tenants a batch of 4,000 verdicts
-- updates every tenant it touches, and two per-row PL/pgSQL triggers ran for each of them:
-- `tenants_active_health` (the new active credential's health, one lookup a row) and
-- `webhook_event_from_tenant` (one call of `webhook_record_events` a row, whose SET clause and
-- endpoint check run even when no endpoint exists). In one lane's verdicts measured in psql
-- (2,024 uploads over 501 tenants) the statement took 115-155 ms with them and 97 ms without.
--
-- complete_verifications now writes both itself: the winner's health comes with the job rows it
-- already reads, and the activation events of all its tenants are recorded in one call after the
-- statement, in tenant order, after the statement's `credential.rejected` events, as the row
-- triggers fired them before. The two triggers stay for every other writer of a tenant's active
-- credential, and skip the rows of this one statement: the function raises
-- `provisioner.verdict_tenant_effects` around it, and its SET clause puts the setting back when
-- it returns (also on an error).
--
-- complete_verifications is 0027's apart from step 3's health, events and setting.

DROP TRIGGER tenants_active_health ON tenants;
CREATE TRIGGER tenants_active_health BEFORE UPDATE OF active_credential_id ON tenants
    FOR EACH ROW
    WHEN (OLD.active_credential_id IS DISTINCT FROM NEW.active_credential_id
          AND current_setting('provisioner.verdict_tenant_effects', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION tenants_active_health();

DROP TRIGGER webhook_event_from_tenant ON tenants;
CREATE TRIGGER webhook_event_from_tenant AFTER UPDATE OF active_credential_id, suspended ON tenants
    FOR EACH ROW
    WHEN ((OLD.active_credential_id IS DISTINCT FROM NEW.active_credential_id OR OLD.suspended IS DISTINCT FROM NEW.suspended)
          AND current_setting('provisioner.verdict_tenant_effects', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION webhook_event_from_tenant();

CREATE OR REPLACE FUNCTION complete_verifications(ids uuid[], versions integer[], verdicts text[], findings_list jsonb[], uri_versions integer[]) RETURNS integer
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_custom_plan'
    SET provisioner.verdict_tenant_effects TO 'off'
    AS $$
DECLARE
    tenant_ids uuid[];
    locked uuid[];
    recorded integer;
    event_types text[];
    event_tenants uuid[];
    event_credentials uuid[];
    event_versions integer[];
BEGIN
    -- 0. A small batch (an idle worker's verdict or a few) reuses the generic plans this
    --    connection made before: planning the three statements below for one job took 1.4 ms
    --    of the call's 2.2 ms (0.8 ms with the cached plans, also with 20,000 uploads in
    --    `verifying`). A large batch keeps plans made for its size, for the reason given in
    --    0011. The function's SET clause puts the setting back when it returns.
    PERFORM set_config('plan_cache_mode',
                       CASE WHEN cardinality(ids) <= 32 THEN 'force_generic_plan' ELSE 'force_custom_plan' END, true);

    -- 1. Tenant rows, of every job of the batch (taken or not), in id order. ORDER BY is
    --    applied before FOR UPDATE, so rows are locked in that order. The tenants are found
    --    first, without a lock: a row that another batch updated while we waited for it is
    --    rechecked against the statement's conditions, and with the credentials in the
    --    statement each recheck scanned them again and sorted the whole `ids` array (see the
    --    header).
    SELECT array_agg(DISTINCT c.tenant_id) INTO tenant_ids FROM credentials c WHERE c.id = ANY (ids);
    PERFORM 1 FROM tenants t
    WHERE t.id = ANY (tenant_ids)
    ORDER BY t.id
    FOR UPDATE;

    -- 2. The jobs whose verdict is still wanted: `verifying` at the claimed version.
    SELECT array_agg(l.id) INTO locked
    FROM (
        SELECT c.id FROM credentials c
        JOIN unnest(ids, versions) AS j(id, version) ON c.id = j.id AND c.verification_version = j.version
        WHERE c.state = 'verifying'
        ORDER BY c.tenant_id, c.id
        FOR UPDATE OF c
    ) l;
    IF locked IS NULL THEN
        RETURN 0;
    END IF;

    -- 3. Decide, supersede, write, and update the tenants. `newer` (the window) is the jobs of
    --    the same tenant uploaded after this one; `nv` is the tenant's newest upload verified
    --    before this batch. The tenants' active health and activation events are this
    --    statement's to write (see the header).
    PERFORM set_config('provisioner.verdict_tenant_effects', 'on', true);
    WITH job AS (
        SELECT DISTINCT ON (c.id) c.id, c.tenant_id, c.uploaded_at, c.health_state, j.verdict, j.findings,
               nullif(j.uri_version, 0) AS uri_version
        FROM unnest(ids, versions, verdicts, findings_list, uri_versions) WITH ORDINALITY
                 AS j(id, version, verdict, findings, uri_version, n)
        JOIN credentials c ON c.id = j.id AND c.verification_version = j.version
        WHERE c.id = ANY (locked)
        ORDER BY c.id, j.n
    ), decided AS (
        SELECT job.id, job.tenant_id, job.findings, job.uri_version, job.health_state, nv.id IS NOT NULL AS tenant_had_verified,
               CASE WHEN job.verdict = 'verified' AND (
                        coalesce((job.uploaded_at, job.id) < (nv.uploaded_at, nv.id), false)
                        OR coalesce(bool_or(job.verdict = 'verified') OVER newer, false))
                    THEN 'superseded'
                    ELSE job.verdict
               END AS final_state
        FROM job
        LEFT JOIN LATERAL (
            SELECT v.uploaded_at, v.id FROM credentials v
            WHERE v.tenant_id = job.tenant_id AND v.state = 'verified'
            ORDER BY v.uploaded_at DESC, v.id DESC
            LIMIT 1
        ) nv ON true
        WINDOW newer AS (PARTITION BY job.tenant_id ORDER BY job.uploaded_at DESC, job.id DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), superseded AS (
        UPDATE credentials c SET state = 'superseded'
        FROM decided w
        WHERE w.final_state = 'verified' AND w.tenant_had_verified AND c.tenant_id = w.tenant_id AND c.state = 'verified'
        RETURNING c.id
    ), written AS (
        UPDATE credentials c
        SET state = d.final_state, findings = d.findings, uri_set_version = d.uri_version,
            verified_at = now(), lease_expires_at = NULL, claimed_by = NULL, last_error = NULL
        FROM decided d
        WHERE c.id = d.id
        RETURNING c.id
    ), per_tenant AS (
        SELECT d.tenant_id,
               (array_agg(d.id) FILTER (WHERE d.final_state = 'verified'))[1] AS winner,
               (array_agg(d.uri_version) FILTER (WHERE d.final_state = 'verified'))[1] AS winner_uri_version,
               (array_agg(d.health_state) FILTER (WHERE d.final_state = 'verified'))[1] AS winner_health,
               array_agg(d.id) AS job_ids,
               array_agg(d.final_state) AS job_states
        FROM decided d
        GROUP BY d.tenant_id
    ), tenants_updated AS (
        UPDATE tenants t
        SET active_credential_id = CASE
                WHEN p.winner IS NOT NULL THEN
                    CASE WHEN p.winner_uri_version IS NOT DISTINCT FROM t.current_uri_set_version THEN p.winner END
                WHEN t.active_credential_id = ANY (p.job_ids) THEN NULL
                ELSE t.active_credential_id
            END,
            -- What tenants_active_health would set: the new active credential's health (the
            -- verdict does not change a credential's health), none without one.
            active_health_state = CASE
                WHEN p.winner IS NOT NULL THEN
                    CASE WHEN p.winner_uri_version IS NOT DISTINCT FROM t.current_uri_set_version THEN p.winner_health END
                WHEN t.active_credential_id = ANY (p.job_ids) THEN NULL
                ELSE t.active_health_state
            END,
            latest_credential_state = coalesce(p.job_states[array_position(p.job_ids, t.latest_credential_id)],
                                               t.latest_credential_state),
            updated_at = now()
        FROM per_tenant p
        JOIN tenants o ON o.id = p.tenant_id
        WHERE t.id = p.tenant_id
        -- `o` is the row before this statement (locked in step 1, so unchanged meanwhile).
        RETURNING t.id, CASE WHEN t.suspended THEN NULL ELSE t.active_credential_id END AS now_active,
                  CASE WHEN o.suspended THEN NULL ELSE o.active_credential_id END AS was_active, t.current_uri_set_version
    ), activation AS (
        -- What webhook_event_from_tenant would record.
        SELECT u.id AS tenant_id, coalesce(u.now_active, u.was_active) AS credential_id, u.current_uri_set_version,
               CASE WHEN u.now_active IS NULL THEN 'credential.deactivated' ELSE 'credential.activated' END AS type
        FROM tenants_updated u
        WHERE u.now_active IS DISTINCT FROM u.was_active
    )
    SELECT (SELECT count(*) FROM written), array_agg(a.type ORDER BY a.tenant_id), array_agg(a.tenant_id ORDER BY a.tenant_id),
           array_agg(a.credential_id ORDER BY a.tenant_id), array_agg(a.current_uri_set_version ORDER BY a.tenant_id)
    INTO recorded, event_types, event_tenants, event_credentials, event_versions
    FROM activation a;
    PERFORM set_config('provisioner.verdict_tenant_effects', 'off', true);

    -- 4. The activation events, after the statement's own (its `credential.rejected` events).
    IF event_types IS NOT NULL THEN
        PERFORM webhook_record_events(event_types, event_tenants, event_credentials, event_versions);
    END IF;
    RETURN recorded;
END
$$;
