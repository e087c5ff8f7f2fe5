-- Tracing (README, "Tracing"): the W3C trace context of the request that asked for a
-- verification, kept with the job, so that the worker's verification span links to that
-- request's span. A link, not a parent: the job may run much later and in a batch, so the
-- verification is a trace of its own that points back at the upload (or re-verification, or
-- new URI set) that queued it.
--
-- Written by the upload's INSERT and by a requeue (VerificationRequests.requeue), read by the
-- claim; NULL whenever tracing is off, or the request had no span. The values are made by the
-- service itself from its own span, never copied from a request header, and bounded here as
-- in QueuedTraceContext: a version 00 traceparent, at most 512 bytes of tracestate.
ALTER TABLE credentials
    ADD COLUMN trace_parent text CHECK (trace_parent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'),
    ADD COLUMN trace_state text,
    ADD CONSTRAINT credentials_trace_state_bounded
        CHECK (trace_state IS NULL OR (trace_parent IS NOT NULL AND octet_length(trace_state) <= 512));

-- INSERT is granted table-wide (0004); a requeue replaces the context of the request before.
GRANT UPDATE (trace_parent, trace_state) ON credentials TO provisioner_app;
