#!/usr/bin/env bash
# A real Slurm run of a sharded study on this machine: starts a one-node Slurm cluster (munge,
# slurmctld, slurmd; Debian's slurm-wlm, installed if missing, as root), submits
# deploy/slurm/submit.sh for a small study in 4 shards plus the dependent merge job, waits,
# prints what Slurm says of the jobs, and compares the merged study with a single-process run
# of the same study, run by run, bit for bit. It stops only the daemons it started, by their
# process ids. Configuration and spool live in a temporary folder (SLURM_CONF), not /etc/slurm.
#
#   bash tools/slurm_check.sh            # exit 0 when the merged study is identical
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if ! command -v slurmctld > /dev/null; then
  echo "== installing slurm-wlm"
  apt-get update -qq > /dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm > /dev/null
fi

work=$(mktemp -d /tmp/rnnstudy-slurm.XXXXXX)
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2> /dev/null || true; done
  sleep 1
  for pid in "${started[@]}"; do kill -9 "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

echo "== building the one binary every node runs"
cargo build --release --quiet -p xtask
bin=$work/rnnstudy
cp target/release/xtask "$bin"

echo "== starting a one-node cluster in $work"
host=$(hostname -s)
mkdir -p "$work/ctld" "$work/d" "$work/out"
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" << CONF
ClusterName=rnnstudy
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/jobcomp.log
MinJobAge=3600
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
if ! pgrep -x munged > /dev/null; then
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  [ -f /etc/munge/munge.key ] || mungekey -c
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  runuser -u munge -- munged
  sleep 1
  started+=("$(pgrep -n -x munged)")
fi
slurmctld
slurmd
for _ in $(seq 30); do
  [ -s "$work/slurmctld.pid" ] && [ -s "$work/slurmd.pid" ] && break
  sleep 1
done
started+=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
for _ in $(seq 30); do sinfo -h -o %T | grep -q idle && break; sleep 1; done
sinfo

cat > "$work/study.toml" << 'TOML'
name = "slurm-check"
lengths = [8, 16]
seeds = 3
iters = 2000
eval_every = 500
heldout = 500

[[variant]]
model = "rnn"

[[variant]]
model = "lstm"
hidden = 32
optimizer = "adam"
lr_io = 0.01
lr_rec = 0.01
clip = 1.0

[[variant]]
model = "dnn"
TOML

echo "== submitting 4 shards and the merge"
cd "$work/out"
submitted=$(RNNSTUDY_BIN=$bin "$root/deploy/slurm/submit.sh" "$work/study.toml" "$work/out/sweep" 4)
echo "$submitted"
array=$(echo "$submitted" | awk '{print $2}')
merge=$(echo "$submitted" | awk '{print $6}')
squeue
for _ in $(seq 600); do
  [ -z "$(squeue -h)" ] && break
  sleep 1
done
echo "== what Slurm says"
scontrol show job "$merge" | grep -E "JobId|JobState|Dependency|ExitCode"
scontrol show job "$array" | grep -E "JobId=|ArrayTaskId|JobState|ExitCode" | paste - - - -
echo "-- job completion log:"
sed -E 's/ (UserId|GroupId|Partition|TimeLimit|NodeList|NodeCnt|ProcCnt|WorkDir|ReservationName|Tres|Account|QOS|WcKey|Cluster|SubmitTime|EligibleTime|DerivedExitCode)=[^ ]*//g' "$work/jobcomp.log"
grep -h "shard" "$work/out"/rnnstudy-*_*.out || true
tail -n 2 "$work/out"/rnnstudy-merge-*.out

echo "== the same study in one process"
"$bin" study --config "$work/study.toml" --out "$work/single" > /dev/null
python3 "$root/tools/compare_studies.py" "$work/single/study.json" "$work/out/sweep/study.json"
