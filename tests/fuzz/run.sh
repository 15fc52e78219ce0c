#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS - replays the seed corpus of every libFuzzer
# target built in BUILD_DIR (each file once), and when SECONDS > 0 also
# fuzzes each target for SECONDS into a scratch copy of its corpus under
# tests/fuzz/findings/<target>/ (gitignored; crash, leak and timeout inputs
# land there too). Prints one line per target; exits non-zero if any
# target crashed, leaked or timed out.
set -uo pipefail

usage() { echo "usage: $0 BUILD_DIR SECONDS" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
build=$1
seconds=${2:-0}
[[ $seconds =~ ^[0-9]+$ ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
bin_dir=$build/tests/fuzz
findings=$here/findings
targets=(fuzz_jws fuzz_access_token fuzz_client_assertion fuzz_dpop fuzz_claims
         fuzz_form fuzz_scope fuzz_config fuzz_ed25519_key fuzz_identity_json
         fuzz_status_list
         fuzz_audit fuzz_policy_parse fuzz_policy_lint fuzz_policy_ext fuzz_policy_eval
         fuzz_edge_config fuzz_edge_route fuzz_fwd_request
         fuzz_spool fuzz_edge_sessions
         fuzz_entities_input fuzz_operator_input fuzz_grant_input fuzz_change_window fuzz_feed
         fuzz_modbus fuzz_monitor
         fuzz_rotation_driver)
common=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -error_exitcode=77
        -timeout_exitcode=78 -print_final_stats=1)

# The value of a libFuzzer final stat from a log, or "?".
stat() { grep -o "stat::$1: *[0-9]*" "$2" | grep -o '[0-9]*$' | tail -1 || true; }

# Replays the seeds of target $1; prints the replay part of its line.
replay() {
	local t=$1 seeds=$here/corpus/$1 log=$findings/$1/replay.log n
	n=$(find "$seeds" -type f | wc -l)
	if "$bin_dir/$t" "${common[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
		printf 'replay %3d inputs ok' "$n"
	else
		printf 'replay %3d inputs FAILED (%s)' "$n" "$log"
		return 1
	fi
}

# Fuzzes target $1 for $seconds; prints the fuzzing part of its line.
fuzz() {
	local t=$1 dir=$findings/$1 log=$findings/$1/fuzz.log before after execs
	rm -rf "$dir/corpus"
	cp -r "$here/corpus/$t" "$dir/corpus"
	before=$(find "$dir/corpus" -type f | wc -l)
	"$bin_dir/$t" "${common[@]}" -max_total_time="$seconds" \
		-artifact_prefix="$dir/" "$dir/corpus" >"$log" 2>&1
	local rc=$?
	after=$(find "$dir/corpus" -type f | wc -l)
	execs=$(stat number_of_executed_units "$log")
	printf ' | fuzz %ss: %s execs, corpus %d -> %d' "$seconds" "${execs:-?}" "$before" "$after"
	if [ $rc -ne 0 ]; then
		printf ' FAILED rc=%d (%s)' "$rc" "$log"
		return 1
	fi
	printf ' ok'
}

failed=0
for t in "${targets[@]}"; do
	if [ ! -x "$bin_dir/$t" ]; then
		printf '%-24s MISSING %s\n' "$t" "$bin_dir/$t"
		failed=1
		continue
	fi
	mkdir -p "$findings/$t"
	line=$(replay "$t") || failed=1
	if [ "$seconds" -gt 0 ]; then
		more=$(fuzz "$t") || failed=1
		line+=$more
	fi
	printf '%-24s %s\n' "$t" "$line"
done
exit $failed
