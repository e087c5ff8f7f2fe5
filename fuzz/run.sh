#!/usr/bin/env bash
# fuzz/run.sh, i.e. `make fuzz [FUZZ_SECONDS=60]`: libFuzzer (with AddressSanitizer) over the client_secrets.json
# path of ProvisionerDomain: parser, summary, verifier, finding messages, runtime credential.
#
#  1. Builds fuzz/ (its own SwiftPM package, so that the sanitizer flags never reach the main
#     build; fuzz/Sources/ProvisionerDomain is a symlink to the real sources):
#       swift build --package-path fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
#  2. Runs it for FUZZ_SECONDS (default 60) with -max_len=65536 and fuzz/client_secrets.dict,
#     starting from the committed seeds fuzz/corpus/ plus what earlier runs found. New inputs go
#     to .local/fuzz-corpus/ (never to fuzz/corpus/), crashes to .local/fuzz-artifacts/.
#  3. Exits non-zero on a crash, a sanitizer report, a broken invariant or a slow input
#     (FUZZ_TIMEOUT seconds, default 10), naming the artifact and how to replay it:
#       fuzz/.build/release/ClientSecretsFuzz .local/fuzz-artifacts/crash-...
# Log: .local/fuzz.log. Prints RESULT lines (executions, coverage, corpus size).
set -euo pipefail

LOG_TAG=fuzz
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/../scripts/lib.sh"
cd "$REPO_ROOT"

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-10}"
if ! [[ "$FUZZ_SECONDS" =~ ^[1-9][0-9]*$ ]]; then die "FUZZ_SECONDS must be a positive number of seconds"; fi
CORPUS=.local/fuzz-corpus
ARTIFACTS=.local/fuzz-artifacts
LOG=.local/fuzz.log

ensure_swift
[ -L fuzz/Sources/ProvisionerDomain ] || die "fuzz/Sources/ProvisionerDomain must be a symlink to ../../Sources/ProvisionerDomain"

log "swift build --package-path fuzz -c release -sanitize=fuzzer,address"
swift build --package-path fuzz -c release \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2 ||
	die "the fuzz build failed"
bin="$(swift build --package-path fuzz -c release --show-bin-path)/ClientSecretsFuzz"
[ -x "$bin" ] || die "fuzzer binary not found at $bin"

mkdir -p "$CORPUS" "$ARTIFACTS"
marker=.local/.fuzz-started
touch "$marker"
log "fuzzing for ${FUZZ_SECONDS}s (seeds fuzz/corpus, corpus $CORPUS, artifacts $ARTIFACTS/, log $LOG)"
rc=0
# The outer timeout is a guard only: libFuzzer stops itself after -max_total_time.
timeout --kill-after=30 "$((FUZZ_SECONDS + 300))" \
	env ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}" \
	"$bin" -max_len=65536 -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
	-dict=fuzz/client_secrets.dict -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 \
	"$CORPUS" fuzz/corpus </dev/null >"$LOG" 2>&1 || rc=$?

last="$(grep -E '^#[0-9]+' "$LOG" | tail -n1 || true)"
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n1)"
cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
corpus_size="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")"
new_artifacts="$(find "$ARTIFACTS" -type f -newer "$marker" | sort)"
log "last status: ${last:-none}"
echo "RESULT fuzz_executions=${execs:-0} runs"
echo "RESULT fuzz_coverage=${cov:-0} edges"
echo "RESULT fuzz_features=${ft:-0} features"
echo "RESULT fuzz_corpus=${corpus_size:-0} inputs"
if [ "$rc" -ne 0 ] || [ -n "$new_artifacts" ]; then
	grep -E 'ERROR: |invariant broken|Fatal error|SUMMARY:|Test unit written to' "$LOG" | head -n 20 >&2 || true
	die "the fuzzer found a problem (exit $rc; log $LOG; replay: $bin $(head -n1 <<<"${new_artifacts:-$ARTIFACTS/ARTIFACT}"))"
fi
log "no crash in ${FUZZ_SECONDS}s (${execs:-0} executions, cov ${cov:-0}, ft ${ft:-0})"
