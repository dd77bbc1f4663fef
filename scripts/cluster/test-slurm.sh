#!/usr/bin/env bash
# make test-slurm: the Slurm scripts of docs/scaling.md under a real Slurm, on this machine.
#
# Starts a one-node cluster for localhost with 2 CPUs (Debian's slurm-wlm and munge,
# installed when missing; munged, slurmctld and slurmd run from this script, with their
# configuration, keys, state, logs and pid files under $SLURM_TEST_DIR), then:
#
#  1. runs scripts/cluster/testdata/slurm-test.yaml once locally (bin/saliency run
#     -threads 2, no shards, the file named by a relative path; the jobs name it by an
#     absolute one): the reference folder;
#  2. submits scripts/cluster/slurm-run.sbatch as an array of 3 tasks and
#     scripts/cluster/slurm-report.sbatch with --dependency=afterok on the array, as
#     docs/scaling.md shows;
#  3. kills each task while it computes, once it has finished some units (the tasks take
#     both CPUs, so they run one at a time): task 1 is requeued while it runs (scontrol
#     requeue, as a pre-emption would), and the report job must still wait; task 2 is
#     cancelled (scancel) and then requeued; task 3 is cancelled and its shard run again
#     alone (SHARDS=3 sbatch --array=3). Slurm must cancel the first report job (its
#     afterok can no longer be met), which is submitted again with afterany on the
#     array and the rerun, as slurm-report.sbatch says;
#  4. checks that each shard, resumed, found exactly the units it had finished when it
#     was killed (those files not written again) and computed the rest;
#  5. checks that the cluster's folder holds exactly the files of the local run, each the
#     same bytes (sha256), and no lock or temporary file.
#
# The jobs are cancelled and the daemons stopped at the end, whether the test passed or
# not; $SLURM_TEST_DIR (default out/test-slurm) keeps the logs until the next run.
# Needs root (the daemons run as root, and apt-get when a package is missing) and
# bin/saliency (make build). Ports: $SLURM_TEST_PORT and the next one (default 16817).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
STATE=${SLURM_TEST_DIR:-$ROOT/out/test-slurm}
PORT=${SLURM_TEST_PORT:-16817}
EXPERIMENT=$ROOT/scripts/cluster/testdata/slurm-test.yaml
SALIENCY=$ROOT/bin/saliency
NODE=$(hostname -s)
CPUS=2
SHARDS=3
start=$(date +%s)

say() { printf 'test-slurm [%3ds] %s\n' $(($(date +%s) - start)) "$*"; }
fail() {
	printf 'test-slurm: FAIL: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || fail "run as root: the test starts munged, slurmctld and slurmd and submits as root"
[[ -x $SALIENCY ]] || fail "$SALIENCY is missing: make build"

# --- Debian's packages, where missing.
missing=()
for c in munged slurmctld slurmd sbatch; do
	command -v "$c" >/dev/null || missing+=("$c")
done
if ((${#missing[@]})); then
	say "installing slurm-wlm and munge (missing: ${missing[*]})"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# A shell inside a Slurm job, or one that points at another cluster, must not leak in.
for v in $(compgen -e | grep -E '^(SLURM|SBATCH|SQUEUE|SINFO|SCANCEL|SCONTROL)_' || true); do
	unset "$v"
done

# --- The daemons. A run that was itself killed may have left some: stop them first.
stop_pid() { # pidfile name
	local f=$1 pid
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$2 (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$f"
}

stop_cluster() {
	if [[ -f $STATE/run/slurmctld.pid ]] && kill -0 "$(cat "$STATE/run/slurmctld.pid")" 2>/dev/null; then
		# The jobs first: their processes run under slurmstepd, which outlives slurmd.
		scancel --full --quiet "--user=$(id -un)" 2>/dev/null || true
		for _ in $(seq 120); do
			[[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
			sleep 0.5
		done
		[[ -z $(squeue -h -o %i 2>/dev/null) ]] || say "warning: jobs still listed after 60 s: $(squeue -h -o '%i %T' | tr '\n' ' ')"
	fi
	stop_pid "$STATE/run/slurmd.pid" slurmd
	stop_pid "$STATE/run/slurmctld.pid" slurmctld
	stop_pid "$STATE/run/munged.pid" munged
}

if [[ -d $STATE ]]; then
	export SLURM_CONF=$STATE/etc/slurm.conf
	stop_cluster
	rm -rf "$STATE"
fi
mkdir -p "$STATE"/{etc,run,log,ctld,spool,jobs}
STATE=$(cd "$STATE" && pwd -P)
chmod 700 "$STATE/etc"
export SLURM_CONF=$STATE/etc/slurm.conf

cleanup() {
	local rc=$?
	stop_cluster
	local left=()
	for f in "$STATE"/run/*.pid; do
		[[ -e $f ]] && left+=("$f")
	done
	((${#left[@]} == 0)) || say "warning: pid files left: ${left[*]}"
	if ((rc == 0)); then
		say "daemons stopped; PASS in $(($(date +%s) - start)) s"
	else
		say "daemons stopped; logs in $STATE/log and $STATE/jobs"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# munge: a key of this cluster's own, and a socket of its own.
dd if=/dev/urandom of="$STATE/etc/munge.key" bs=1024 count=1 status=none
chmod 400 "$STATE/etc/munge.key"
MUNGE_SOCKET=$STATE/run/munge.socket
munged --key-file="$STATE/etc/munge.key" --socket="$MUNGE_SOCKET" \
	--pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
	--seed-file="$STATE/run/munged.seed" ||
	fail "munged did not start: $(tail -3 "$STATE/log/munged.log" 2>/dev/null)"

mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat >"$SLURM_CONF" <<EOF
# A one-node cluster for scripts/cluster/test-slurm.sh (generated; removed by the next run).
ClusterName=saliency-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire: a requeued job waits this long before it starts again (default 120 s)
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# seconds between SIGTERM and SIGKILL of a cancelled job (a run stops between two units)
KillWait=30
MinJobAge=3600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$NODE"
for i in $(seq 100); do
	[[ $(sinfo -h -N -o %T 2>/dev/null) == idle ]] && break
	((i < 100)) || fail "the node did not come up: $(sinfo -N 2>&1 | tail -2); see $STATE/log"
	sleep 0.3
done
say "cluster up: $(sinfo -h -N -o '%N %c CPUs %m MB %T'), slurm $(sinfo -V | awk '{print $2}')"

# --- The reference: one local run, no shards, the threads the array tasks use.
LOCAL=$STATE/local
OUT=$STATE/cluster
say "local run of ${EXPERIMENT#"$ROOT"/} into $LOCAL"
# The experiment named relatively here and absolutely in the jobs: the folders must not differ.
"$SALIENCY" run -threads "$CPUS" -out "$LOCAL" "${EXPERIMENT#"$ROOT"/}" >"$STATE/log/local-run.log" 2>&1 ||
	fail "the local run failed: $(tail -5 "$STATE/log/local-run.log")"
say "$(grep 'units computed' "$STATE/log/local-run.log")"

# --- The array and the report job, as docs/scaling.md submits them.
export EXPERIMENT OUT SALIENCY
cd "$STATE/jobs"
jid=$(sbatch --parsable --array=1-$SHARDS --export=ALL "$ROOT/scripts/cluster/slurm-run.sbatch")
rid=$(sbatch --parsable --dependency=afterok:"$jid" --export=ALL "$ROOT/scripts/cluster/slurm-report.sbatch")
say "submitted array job $jid (tasks 1-$SHARDS) and report job $rid (afterok:$jid)"

state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
units() { { find "$OUT/units" -name '*.json' 2>/dev/null || true; } | wc -l; }

# wait_state JOB SECONDS STATE...: waits until JOB is in one of the states.
wait_state() {
	local job=$1 t=$2 s w
	shift 2
	for _ in $(seq $((t * 5))); do
		s=$(state "$job")
		for w in "$@"; do
			[[ $s == "$w" ]] && return 0
		done
		sleep 0.2
	done
	fail "job $job is ${s:-unknown} after $t s, not $*; see $STATE/jobs and $STATE/log"
}

# mid_run TASK: waits until array task TASK runs and has finished 3 units (the tasks
# take both CPUs, so they run one at a time and the new units are its own), then
# writes the units finished so far (inode and path) to $STATE/kept-TASK.txt.
mid_run() {
	local task=${jid}_$1 n0 n s
	for _ in $(seq 1500); do
		s=$(state "$task")
		[[ $s == PENDING || $s == CONFIGURING || -z $s ]] || break
		sleep 0.2
	done
	[[ $s == RUNNING ]] || fail "task $1 is $s, not RUNNING: it could not be killed mid-run"
	n0=$(units)
	for _ in $(seq 1500); do
		n=$(units)
		((n >= n0 + 3)) && break
		[[ $(state "$task") == RUNNING ]] || fail "task $1 ended ($(state "$task")) before it could be killed mid-run: the experiment is too small"
		sleep 0.1
	done
	((n >= n0 + 3)) || fail "task $1 finished no 3 units in 150 s"
	find "$OUT/units" -name '*.json' -printf '%i %p\n' | sort -k2 >"$STATE/kept-$1.txt"
}

dependency() { scontrol -o show job "$1" | grep -o 'Dependency=[^ ]*' | cut -d= -f2; }

# Task 1: requeued while it computes, as a pre-emption or a node failure would.
mid_run 1
scontrol requeue "${jid}_1"
say "task 1 requeued while computing after $(wc -l <"$STATE/kept-1.txt") units: $(state "${jid}_1")"

# Task 2: cancelled while it computes (scancel), then requeued (scontrol requeue). Once
# it runs, Slurm has looked at the report job's dependency again: task 1's requeue
# must have left it waiting.
mid_run 2
[[ $(dependency "$rid") == *'(unfulfilled)'* ]] ||
	fail "the report job's dependency is $(dependency "$rid") after task 1 was requeued while it ran"
say "report job $rid still waits after task 1's requeue: $(dependency "$rid")"
scancel "${jid}_2"
wait_state "${jid}_2" 60 CANCELLED
scontrol requeue "${jid}_2"
say "task 2 cancelled after $(wc -l <"$STATE/kept-2.txt") units, requeued: $(state "${jid}_2")"

# Task 3: cancelled while it computes, then its shard run again alone.
mid_run 3
scancel "${jid}_3"
wait_state "${jid}_3" 60 CANCELLED
jid3=$(SHARDS=$SHARDS sbatch --parsable --array=3 --export=ALL "$ROOT/scripts/cluster/slurm-run.sbatch")
say "task 3 cancelled after $(wc -l <"$STATE/kept-3.txt") units, run again alone as job $jid3 (SHARDS=$SHARDS --array=3)"

# The report job again, after the array and the rerun, as slurm-report.sbatch says.
rid0=$rid
rid=$(sbatch --parsable --dependency=afterany:"$jid:$jid3" --export=ALL "$ROOT/scripts/cluster/slurm-report.sbatch")
say "report job $rid submitted (afterany:$jid:$jid3)"
wait_state "$rid" 900 COMPLETED FAILED CANCELLED TIMEOUT OUT_OF_MEMORY NODE_FAIL
for t in 1 2; do
	[[ $(state "${jid}_$t") == COMPLETED ]] || fail "task $t ended $(state "${jid}_$t"): $(tail -5 "saliency-run-${jid}_$t.log")"
done
[[ $(state "${jid3}_3") == COMPLETED ]] || fail "the rerun of task 3 ended $(state "${jid3}_3"): $(tail -5 "saliency-run-${jid3}_3.log")"
[[ $(state "$rid") == COMPLETED ]] || fail "the report job $rid ended $(state "$rid"): $(tail -5 "saliency-report-$rid.log")"
say "tasks 1 and 2, the rerun of 3 and the report job completed"
# The first report job's afterok on the array could no longer be met once task 2 was
# cancelled: Slurm cancels it (slurm-report.sbatch has --kill-on-invalid-dep) rather
# than leave it pending forever.
wait_state "$rid0" 120 CANCELLED
r=$(scontrol -o show job "$rid0" | grep -o 'Reason=[^ ]*')
[[ $r == Reason=DependencyNeverSatisfied ]] || fail "the first report job $rid0 was cancelled with $r"
say "the first report job $rid0 was cancelled by Slurm: $r"

# --- The checks.
# resumed TASK LOG...: the shard's last attempt (the last end line of the logs) found
# finished units and computed the rest; the attempt killed is in the logs (a requeued
# task's log is appended to); every unit finished when it was killed is the same file.
resumed() {
	local k=$1 line c f x ino path
	shift
	line=$(cat "$@" | grep -E "units computed, [0-9]+ found finished \(shard $k/$SHARDS:" | tail -1) ||
		fail "no end line of shard $k in $*"
	read -r c f < <(sed -E 's/.*: ([0-9]+) units computed, ([0-9]+) found finished.*/\1 \2/' <<<"$line")
	x=$(cat "$@" | sed -n -E 's/^saliency run: interrupted after ([0-9]+) of.*/\1/p' | tail -1)
	[[ -n $x ]] || fail "$* do not show the attempt of shard $k that was killed (a requeued task's log is appended to)"
	((c > 0)) || fail "shard $k had nothing left to compute when it resumed: it was not killed mid-run ($line)"
	((f > 0 && f == x)) || fail "shard $k had finished $x units when it was killed and found $f when it resumed"
	while read -r ino path; do
		[[ $(stat -c %i "$path" 2>/dev/null) == "$ino" ]] || fail "$path, finished before shard $k was killed, was written again"
	done <"$STATE/kept-$k.txt"
	say "shard $k: killed after $x units, resumed: $c computed, $f found finished; none of the $(wc -l <"$STATE/kept-$k.txt") units in the folder then was written again"
}
resumed 1 "saliency-run-${jid}_1.log"
resumed 2 "saliency-run-${jid}_2.log"
resumed 3 "saliency-run-${jid}_3.log" "saliency-run-${jid3}_3.log"

# The folder: the files of the local run, each the same bytes, and nothing else (no
# lock, no temporary file).
sums() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); }
sums "$LOCAL" >"$STATE/local.sha256"
sums "$OUT" >"$STATE/cluster.sha256"
if ! diff "$STATE/local.sha256" "$STATE/cluster.sha256" >"$STATE/differ.txt"; then
	fail "the cluster's folder differs from the local run's ($STATE/differ.txt): $(head -20 "$STATE/differ.txt")"
fi
say "the cluster's folder equals the local run's: $(wc -l <"$STATE/local.sha256") files, the same sha256 each"
