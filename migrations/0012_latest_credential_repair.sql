-- Before this release an upload set its tenant's latest credential to itself, whatever
-- the order concurrent uploads committed in: a tenant could point at an older upload than
-- its newest and show the wrong state (rejected with a verified newest upload, or the
-- reverse). Uploads now only move the pointer forward; this puts every tenant's pointer
-- on its newest upload by (uploaded_at, id), the order of every list, and the tenants_state
-- trigger derives the state again.
SELECT set_config('provisioner.all_tenants', 'on', true);

UPDATE tenants t
SET latest_credential_id = n.id,
    latest_credential_uploaded_at = n.uploaded_at,
    latest_credential_state = n.state
FROM (
    SELECT DISTINCT ON (tenant_id) tenant_id, id, uploaded_at, state
    FROM credentials
    ORDER BY tenant_id, uploaded_at DESC, id DESC
) n
WHERE n.tenant_id = t.id
  AND t.latest_credential_id IS DISTINCT FROM n.id;
