-- A downloaded JSON without a secret: an upload with no secret whose
-- client_id matches an earlier upload of its tenant takes that upload's secret over. The secret
-- is put into the file at upload, before it is sealed, so the worker verifies a file that has
-- it; this column records which upload it came from, so that every verification of the row
-- (re-verification and new URI sets included) adds the warning `client_secret_carried_over`.
--
-- The id of a credential of the same tenant, set once by the INSERT of the upload: the
-- table-wide SELECT and INSERT of 0004 cover it, and provisioner_app is not granted UPDATE of
-- it. No foreign key: its check would take a KEY SHARE lock on the earlier row, which the
-- queue's FOR UPDATE SKIP LOCKED claim would then skip or wait on; rows are never deleted.
ALTER TABLE credentials ADD COLUMN secret_carried_from uuid;

-- Restated for the record (a no-op beside 0004's table-wide grants).
GRANT SELECT (secret_carried_from), INSERT (secret_carried_from) ON credentials TO provisioner_app;
