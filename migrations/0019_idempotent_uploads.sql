-- An upload made under an Idempotency-Key names that key's record (idempotency_keys.id), and a
-- record names at most one upload. The upload's transaction and the one that stores the first
-- answer are two: a process that dies between them leaves the upload made and the key
-- `running`, and the request that takes the key over once its lock runs out (60 s) must find
-- that upload rather than make a second (scripts/pooler-test.sh caught exactly that, a serve
-- SIGKILLed under load). No foreign key: records are deleted after 24 h, uploads are kept.
ALTER TABLE credentials ADD COLUMN idempotency_record_id uuid;
CREATE UNIQUE INDEX credentials_idempotency_record ON credentials (idempotency_record_id)
    WHERE idempotency_record_id IS NOT NULL;
-- INSERT and SELECT are granted table-wide (0004), which covers the new column.
