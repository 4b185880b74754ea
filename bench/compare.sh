#!/usr/bin/env bash
# compare.sh measures qkv against PyTorch 1.13 + OpenBLAS on this machine,
# runs of the two interleaved, at the default, small and large sizes.
#
#   bench/compare.sh                       # the benchmark: qkvbench against torch_bench.py
#   bench/compare.sh cli                   # the program: qkv-train against torch_train.py
#   bench/compare.sh dtype                 # float64 against float32: qkvbench -dtype
#
# The benchmark mode measures training and forward-only throughput of one
# step in a loop, REPS times (default 5) for BENCH_SECONDS (default 10) per side,
# and prints the medians and the best runs, the ratios qkv/PyTorch and the
# median peak resident memory of each process. On a shared machine the best
# runs are the ones least disturbed by other work.
#
#   REPS=3 BENCH_SECONDS=5 SIZES="small" MODES="train" bench/compare.sh
#
# The command-line mode trains each size the way a user does, through
#
#   qkv-train -task copy -len T -min-len T -d-model D -heads H -layers L -d-ff F \
#       -batch B -steps S -log-every S/10 -eval-every S -save-every S -out DIR
#
# (fixed-length batches; validation, a checkpoint and the test set at the
# end only) against bench/torch_train.py, its PyTorch twin (which evaluates
# in batches as large as qkv-train's: qkvbench -eval-batch), and against
# qkvbench's training step for BENCH_SECONDS, in ROUNDS rounds (default 5) whose
# order rotates. Throughput is read from each run's metrics.jsonl: the
# steps of every logging window but the first (graph building, warm-up)
# over their time. It prints per size the median, worst and best round's
# ratio qkv-train/PyTorch, the peak resident memory of each (the largest
# over the rounds), and qkv-train against qkvbench in throughput and memory:
# issue 17 asks that qkv-train's peak resident memory stay within 10% of
# qkvbench's plus one evaluation graph (qkvbench -eval-bytes measures one),
# and the table says whether it does.
#
#   ROUNDS=3 SIZES="large" bench/compare.sh cli
#   STEPS_large=80 bench/compare.sh cli    # steps per run; defaults 3000, 600, 40
#
# The dtype mode runs qkvbench at float32 and float64 in turn, ROUNDS
# rounds of BENCH_SECONDS each, the order alternating, for each size and
# each of MODES, and prints the median, worst and best round's ratio of
# float64's tokens/s to float32's. It needs no PyTorch.
#
#   ROUNDS=3 BENCH_SECONDS=6 bench/compare.sh dtype
#
# The anchor is Debian's python3-torch with libopenblas0-pthread, 2 threads
# (torch.set_num_threads(2), OPENBLAS_NUM_THREADS=2, OMP_WAIT_POLICY=PASSIVE),
# with glibc's malloc keeping freed memory (MALLOC_MMAP_THRESHOLD_ 32 MiB,
# MALLOC_TRIM_THRESHOLD_ 1 GiB; see below).
# Missing packages are installed with apt-get; the script stops if torch
# does not load OpenBLAS. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-bench}
case $MODE in
bench | cli | dtype) ;;
*)
	echo "usage: bench/compare.sh [bench|cli|dtype]" >&2
	exit 2
	;;
esac
REPS=${REPS:-5}
ROUNDS=${ROUNDS:-5}
# Not SECONDS: bash keeps its own SECONDS (time since the shell started, 0
# here), so `${SECONDS:-10}` ran qkvbench for 0 s unless SECONDS was set.
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
SIZES=${SIZES:-"default small large"}
MODES=${MODES:-"train forward"}
PY=/usr/bin/python3

need=()
[ -x /usr/bin/time ] || need+=(time)
if [ "$MODE" != dtype ]; then
	dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
	dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

export OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
# glibc's malloc hands PyTorch's large tensors back to the kernel when they
# are freed (mmap above 128 KiB, trimming above 128 KiB free) and faults
# them in again the next step: torch_bench.py's large training step ran
# 3,900 tokens/s with 408k page faults in 5 s, and 6,400 with 109k once
# freed memory is kept. The anchor gets its better setting. (qkv is pure Go
# and does not use glibc's malloc.)
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824
if [ "$MODE" != dtype ] && ! $PY -c 'import torch; torch.ones(64, 64) @ torch.ones(64, 64); import sys; sys.exit(0 if any("openblas" in l for l in open("/proc/self/maps")) else 1)'; then
	echo "compare.sh: torch does not load OpenBLAS (check update-alternatives --display libblas.so.3-x86_64-linux-gnu); refusing to compare" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/qkvbench" ./bench/cmd/qkvbench
go build -o "$work/qkv-train" ./cmd/train

# throughput DIR: tokens/s of a run's metrics.jsonl, every logging window
# but the first: the steps of those windows over their time.
throughput() {
	$PY - "$1/metrics.jsonl" <<-'EOF'
		import json, sys
		rows = [json.loads(l) for l in open(sys.argv[1])]
		rows = [r for r in rows if "tokens_per_sec" in r]
		if len(rows) < 2:
		    sys.exit("compare.sh: %s logged %d training windows; want at least 2" % (sys.argv[1], len(rows)))
		steps = secs = 0.0
		for prev, r in zip(rows, rows[1:]):
		    n = r["step"] - prev["step"]
		    steps, secs = steps + n, secs + n / r["tokens_per_sec"]
		print("%.0f" % (steps / secs))
	EOF
}

# timed NAME CMD...: runs CMD under /usr/bin/time, appends its peak RSS in
# KB to $work/NAME.rss and prints its output on failure.
timed() {
	local name=$1
	shift
	local out
	out=$(/usr/bin/time -f 'RSS %M' "$@" 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	echo "$out" | sed -n 's/^RSS \([0-9]*\)$/\1/p' | tail -1 >>"$work/$name.rss"
	echo "$out" >"$work/$name.out"
}

# run NAME CMD...: runs CMD timed and appends "tokens/s rss_kb" to $work/NAME.
run() {
	local name=$1
	timed "$@"
	local tps rss
	tps=$(sed -n 's/.*: \([0-9]*\) tokens\/s.*/\1/p' "$work/$name.out" | tail -1)
	rss=$(tail -1 "$work/$name.rss")
	echo "$tps $rss" >>"$work/$name"
	echo "  $(grep tokens/s "$work/$name.out")  [peak RSS $((rss / 1024)) MB]" >&2
}

# cli runs the command-line mode (see the top of the file).
cli() {
	declare -A dims=([default]="64 4 2 128 12 32" [small]="64 4 2 256 32 64" [large]="256 8 4 1024 64 32")
	declare -A steps=([default]=${STEPS_default:-3000} [small]=${STEPS_small:-600} [large]=${STEPS_large:-40})
	for size in $SIZES; do
		read -r d h l f t b <<<"${dims[$size]}"
		local s=${steps[$size]} eb le
		le=$((s >= 20 ? s / 10 : 2))
		eb=$("$work/qkvbench" -size "$size" -eval-batch)
		"$work/qkvbench" -size "$size" -eval-bytes >"$work/evalbytes-$size"
		echo "$size (d_model $d, heads $h, layers $l, d_ff $f, length $t, batch $b; $s steps):" >&2
		for round in $(seq "$ROUNDS"); do
			local order=(qkv torch bench)
			case $((round % 3)) in
			2) order=(torch bench qkv) ;;
			0) order=(bench qkv torch) ;;
			esac
			for who in "${order[@]}"; do
				rm -rf "$work/run"
				case $who in
				qkv)
					timed "qkv-$size" "$work/qkv-train" -task copy -len "$t" -min-len "$t" -d-model "$d" -heads "$h" -layers "$l" -d-ff "$f" \
						-batch "$b" -steps "$s" -log-every "$le" -eval-every "$s" -save-every "$s" -out "$work/run"
					throughput "$work/run" >>"$work/qkv-$size.tps"
					;;
				torch)
					timed "torch-$size" $PY bench/torch_train.py --size "$size" --steps "$s" --log-every "$le" --eval-batch "$eb" --out "$work/run"
					throughput "$work/run" >>"$work/torch-$size.tps"
					;;
				bench)
					timed "bench-$size" "$work/qkvbench" -size "$size" -mode train -seconds "$SECONDS_PER_RUN"
					sed -n 's/.*: \([0-9]*\) tokens\/s.*/\1/p' "$work/bench-$size.out" >>"$work/bench-$size.tps"
					;;
				esac
			done
			echo "  round $round: qkv-train $(tail -1 "$work/qkv-$size.tps") tokens/s ($(($(tail -1 "$work/qkv-$size.rss") / 1024)) MB)," \
				"PyTorch $(tail -1 "$work/torch-$size.tps") ($(($(tail -1 "$work/torch-$size.rss") / 1024)) MB)," \
				"qkvbench $(tail -1 "$work/bench-$size.tps") ($(($(tail -1 "$work/bench-$size.rss") / 1024)) MB)" >&2
		done
	done
	$PY - "$work" "$ROUNDS" $SIZES <<-'EOF'
		import statistics, sys
		work, rounds, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
		def nums(name):
		    return [float(l) for l in open(f"{work}/{name}") if l.strip()]
		print("\n| size | qkv-train tokens/s | PyTorch tokens/s | qkv-train/PyTorch | worst round | best round | qkv-train peak RSS | PyTorch peak RSS | qkvbench tokens/s | qkv-train/qkvbench | qkvbench peak RSS | one eval graph | allowance | within |")
		print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for s in sizes:
		    q, p, b = nums(f"qkv-{s}.tps"), nums(f"torch-{s}.tps"), nums(f"bench-{s}.tps")
		    ratios = [x / y for x, y in zip(q, p)]
		    vs_bench = [x / y for x, y in zip(q, b)]
		    rss = {w: max(nums(f"{w}-{s}.rss")) / 1024 for w in ("qkv", "torch", "bench")}
		    evalg = nums(f"evalbytes-{s}")[0] / (1 << 20)
		    allow = 1.1 * rss["bench"] + evalg
		    print(f"| {s} | {statistics.median(q):.0f} | {statistics.median(p):.0f} | {statistics.median(ratios):.2f} | {min(ratios):.2f} | {max(ratios):.2f} "
		          f"| {rss['qkv']:.0f} MB | {rss['torch']:.0f} MB | {statistics.median(b):.0f} | {statistics.median(vs_bench):.2f} | {rss['bench']:.0f} MB "
		          f"| {evalg:.0f} MB | {allow:.0f} MB | {'yes' if rss['qkv'] <= allow else 'NO'} |")
	EOF
	echo "(medians over $ROUNDS interleaved rounds; ratios are each round's qkv-train over the same round's PyTorch, and over the same round's qkvbench; peak RSS the largest of the rounds; one eval graph: the live heap of one of qkv-train's evaluation graphs, built and run once (qkvbench -eval-bytes); allowance: 1.1 × qkvbench's peak RSS + one eval graph, issue 17's bound on qkv-train's; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
}

# dtype runs the dtype mode (see the top of the file).
dtype() {
	for size in $SIZES; do
		for mode in $MODES; do
			echo "$size $mode:" >&2
			for round in $(seq "$ROUNDS"); do
				local order=(float32 float64)
				[ $((round % 2)) = 0 ] && order=(float64 float32)
				for dt in "${order[@]}"; do
					run "$dt-$size-$mode" "$work/qkvbench" -size "$size" -mode "$mode" -dtype "$dt" -seconds "$SECONDS_PER_RUN"
				done
			done
		done
	done
	$PY - "$work" $SIZES -- $MODES <<-'EOF'
		import statistics, sys
		work, rest = sys.argv[1], sys.argv[2:]
		sizes, modes = rest[:rest.index("--")], rest[rest.index("--") + 1:]
		def tps(name):
		    return [float(l.split()[0]) for l in open(f"{work}/{name}") if l.strip()]
		print("\n| size | mode | float32 tokens/s | float64 tokens/s | float64/float32 | worst round | best round |")
		print("|---|---|---:|---:|---:|---:|---:|")
		for s in sizes:
		    for m in modes:
		        a, b = tps(f"float32-{s}-{m}"), tps(f"float64-{s}-{m}")
		        r = [y / x for x, y in zip(a, b)]
		        print(f"| {s} | {m} | {statistics.median(a):.0f} | {statistics.median(b):.0f} | {statistics.median(r):.2f} | {min(r):.2f} | {max(r):.2f} |")
	EOF
	echo "(medians over $ROUNDS rounds of ${SECONDS_PER_RUN}s per side, the order alternating; ratios are each round's float64 over the same round's float32; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
case $MODE in
cli | dtype)
	$MODE
	exit 0
	;;
esac
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
