#!/usr/bin/env bash
# compare.sh measures qkv against PyTorch 1.13 + OpenBLAS on this machine:
# training and forward-only throughput at the default, small and large
# sizes, runs of the two interleaved REPS times, and prints the medians and
# the best runs, the ratios qkv/PyTorch and the median peak resident memory
# of each process. On a shared machine the best runs are the ones least
# disturbed by other work.
#
#   bench/compare.sh                       # REPS=5 SECONDS=10, all sizes and modes
#   REPS=3 SECONDS=5 SIZES="small" MODES="train" bench/compare.sh
#
# The anchor is Debian's python3-torch with libopenblas0-pthread, 2 threads
# (torch.set_num_threads(2), OPENBLAS_NUM_THREADS=2, OMP_WAIT_POLICY=PASSIVE).
# Missing packages are installed with apt-get; the script stops if torch
# does not load OpenBLAS. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-5}
SECONDS_PER_RUN=${SECONDS:-10}
SIZES=${SIZES:-"default small large"}
MODES=${MODES:-"train forward"}
PY=/usr/bin/python3

need=()
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

export OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
if ! $PY -c 'import torch; torch.ones(64, 64) @ torch.ones(64, 64); import sys; sys.exit(0 if any("openblas" in l for l in open("/proc/self/maps")) else 1)'; then
	echo "compare.sh: torch does not load OpenBLAS (check update-alternatives --display libblas.so.3-x86_64-linux-gnu); refusing to compare" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/qkvbench" ./bench/cmd/qkvbench

# run NAME CMD...: appends "tokens/s rss_kb" to $work/NAME.
run() {
	local name=$1
	shift
	local out
	out=$(/usr/bin/time -f 'RSS %M' "$@" 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	local tps rss
	tps=$(echo "$out" | sed -n 's/.*: \([0-9]*\) tokens\/s.*/\1/p' | tail -1)
	rss=$(echo "$out" | sed -n 's/^RSS \([0-9]*\)$/\1/p' | tail -1)
	echo "$tps $rss" >>"$work/$name"
	echo "  $(echo "$out" | grep tokens/s)  [peak RSS $((rss / 1024)) MB]" >&2
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for size in $SIZES; do
	for mode in $MODES; do
		echo "$size $mode:" >&2
		for rep in $(seq "$REPS"); do
			run "qkv-$size-$mode" "$work/qkvbench" -size "$size" -mode "$mode" -seconds "$SECONDS_PER_RUN"
			run "torch-$size-$mode" $PY bench/torch_bench.py --size "$size" --mode "$mode" --seconds "$SECONDS_PER_RUN"
		done
	done
done

printf '\n| size | mode | qkv tokens/s | PyTorch tokens/s | qkv/PyTorch | best qkv | best PyTorch | best/best | qkv peak RSS | PyTorch peak RSS |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for size in $SIZES; do
	for mode in $MODES; do
		q=$(cut -d' ' -f1 "$work/qkv-$size-$mode" | median)
		t=$(cut -d' ' -f1 "$work/torch-$size-$mode" | median)
		qb=$(cut -d' ' -f1 "$work/qkv-$size-$mode" | sort -n | tail -1)
		tb=$(cut -d' ' -f1 "$work/torch-$size-$mode" | sort -n | tail -1)
		qr=$(cut -d' ' -f2 "$work/qkv-$size-$mode" | median)
		tr=$(cut -d' ' -f2 "$work/torch-$size-$mode" | median)
		awk -v s="$size" -v m="$mode" -v q="$q" -v t="$t" -v qb="$qb" -v tb="$tb" -v qr="$qr" -v tr="$tr" 'BEGIN {
			printf "| %s | %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f MB | %.0f MB |\n", s, m, q, t, q / t, qb, tb, qb / tb, qr / 1024, tr / 1024 }'
	done
done
echo "(medians and bests of $REPS interleaved runs of ${SECONDS_PER_RUN}s each; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
