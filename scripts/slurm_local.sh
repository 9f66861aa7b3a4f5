#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on localhost for the tests (and for trying
# `vidx slurm --submit` by hand):
#
#   eval "$(scripts/slurm_local.sh start)"   # prints export SLURM_CONF=... VIDX_SLURM_DIR=...
#   sbatch --wrap 'hostname'; squeue; sinfo
#   scripts/slurm_local.sh stop               # or: stop DIR
#   scripts/slurm_local.sh status [DIR]
#
# start makes a fresh private directory /tmp/vidx-slurm.XXXXXX (0700, or
# $VIDX_SLURM_DIR if set) holding everything: a random munge key, munged with
# its own socket, pid, log and seed files; slurm.conf (clients find it through
# SLURM_CONF, the daemons get -f); slurmctld's state, slurmd's spool, every log
# and pid file. Nothing under /etc, /run or /var is read or written, so the
# system's own munge/Slurm (if any) is untouched and several clusters can run
# side by side. The ports are two free ones picked at start (not 6817/6818).
# The node is described with what `slurmd -C` reports (real CPUs and memory);
# select/cons_tres with CR_Core_Memory, so an array of 1-CPU tasks runs
# CPUs-many at once. SlurmUser=root (we run as root; a real cluster has a
# slurm user). A cluster is owned by the process that started it (by default
# the caller's parent: scripts/test.sh, or your shell): start first stops any
# earlier cluster whose owner is dead (a test run killed before its trap), so
# stale daemons never pile up, and leaves live ones alone. stop cancels the
# jobs, then kills every process it started (munged, slurmctld, slurmd, and the
# slurmstepd/job processes, found by the cluster directory in their command
# line or environment) and removes the directory.
#
# What works in this sandbox (gVisor "runsc" VM, hostname "vm", 2 CPUs, root,
# Debian 12 slurm-wlm 22.05.8, munge 0.5.15), found by trying:
#   - munged as root with --socket/--key-file/--pid-file/--log-file/--seed-file
#     in the private directory; Slurm reaches it through AuthInfo=socket=...
#   - SlurmctldHost must be this host's short name (slurmctld refuses to start
#     otherwise); the node is named after it too, NodeAddr=127.0.0.1.
#   - ProctrackType=proctrack/linuxproc and TaskPlugin=task/none: no cgroups.
#     The cgroup v1 hierarchies are mounted and mkdir works in them, but
#     proctrack/cgroup and task/cgroup are not used: the issue asks for
#     linuxproc, and the memory controller here is a delegated sub-tree.
#   - JobAcctGatherType=jobacct_gather/none and no accounting storage: sacct
#     has no database, so callers poll squeue/scontrol (scontrol show job keeps
#     finished jobs for MinJobAge seconds, set to 600 here).
#   - systemd is absent: the daemons run in the foreground (-D) in the
#     background of this script, each in its own session.
set -uo pipefail

die() { echo "slurm_local: $*" >&2; exit 1; }

need_tools() {
    for t in munged slurmctld slurmd sinfo scontrol; do
        command -v "$t" >/dev/null || die "$t not found: install slurm-wlm and munge (scripts/deps.sh)"
    done
}

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The pids of the processes belonging to cluster directory $1: the sessions of
# its daemons (each started as a session leader; munged makes its own) and of
# its slurmstepds (recognised by the SLURM_CONF slurmd hands them), which hold
# the jobs' processes. Never this script or its callers.
cluster_pids() {
    local dir=$1 p sids="" me
    for f in "$dir"/*.pid; do
        [ -f "$f" ] && p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && [ -d "/proc/$p" ] &&
            sids="$sids $(ps -o sid= -p "$p")"
    done
    for p in $(pgrep -f '^slurmstepd'); do
        tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qxF "SLURM_CONF=$dir/slurm.conf" &&
            sids="$sids $(ps -o sid= -p "$p")"
    done
    [ -z "${sids// /}" ] && return 0
    me=" $$ $(ancestors) "
    ps -eo pid=,sid= | while read -r p s; do
        case " $sids " in *" $s "*) case "$me" in *" $p "*) ;; *) echo "$p" ;; esac ;; esac
    done
}

ancestors() {
    local p=$$
    while [ "$p" -gt 1 ] 2>/dev/null; do
        p=$(ps -o ppid= -p "$p" | tr -d ' ')
        echo -n "$p "
    done
}

stop_dir() {
    local dir=$1 pids
    [ -d "$dir" ] || return 0
    case "$dir" in /*) ;; *) die "stop: '$dir' is not an absolute path" ;; esac
    [ -f "$dir/cluster" ] || die "stop: $dir is not a slurm_local cluster directory"
    if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
        SLURM_CONF=$dir/slurm.conf timeout 10 scancel --full --user=root >/dev/null 2>&1 || true
    fi
    for sig in TERM TERM KILL; do
        pids=$(cluster_pids "$dir" | sort -u)
        [ -z "$pids" ] && break
        # shellcheck disable=SC2086
        kill -$sig $pids 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            pids=$(for p in $pids; do [ -d "/proc/$p" ] && echo "$p"; done)
            [ -z "$pids" ] && break
            sleep 0.3
        done
    done
    rm -rf "$dir"
}

# Stops clusters left behind by an owner that is gone.
stop_stale() {
    local d owner
    for d in /tmp/vidx-slurm.*; do
        [ -f "$d/cluster" ] || continue
        owner=$(cat "$d/owner" 2>/dev/null)
        if [ -z "$owner" ] || [ ! -d "/proc/$owner" ]; then
            echo "slurm_local: stopping a stale cluster in $d (owner ${owner:-?} is gone)" >&2
            stop_dir "$d"
        fi
    done
}

write_conf() {
    local dir=$1 host=$2 node cpus mem cport dport
    node=$(slurmd -C | head -1 | sed -E "s/^NodeName=[^ ]+ //")
    cpus=$(echo "$node" | sed -nE 's/.*CPUs=([0-9]+).*/\1/p')
    mem=$(echo "$node" | sed -nE 's/.*RealMemory=([0-9]+).*/\1/p')
    cport=$(free_port)
    dport=$(free_port)
    while [ "$dport" = "$cport" ]; do dport=$(free_port); done
    cat >"$dir/slurm.conf" <<EOF
# Written by vidx scripts/slurm_local.sh: a throwaway one-node cluster.
ClusterName=vidxlocal
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$cport
SlurmdPort=$dport
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / (cpus > 0 ? cpus : 1)))
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    local dir=$1
    dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$dir/munge.key"
    munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
        --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
        --seed-file="$dir/munged.seed" >>"$dir/munged.log" 2>&1 ||
        die "munged did not start (see $dir/munged.log)"
    for _ in $(seq 50); do [ -S "$dir/munge.socket" ] && return 0; sleep 0.1; done
    die "munged made no socket (see $dir/munged.log)"
}

# Runs a daemon in the foreground, in its own session, in the background.
spawn() {
    local dir=$1 name=$2
    shift 2
    VIDX_SLURM_DIR=$dir setsid "$@" </dev/null >>"$dir/$name.out" 2>&1 &
}

wait_idle() {
    local dir=$1 state
    for _ in $(seq 150); do
        state=$(SLURM_CONF=$dir/slurm.conf sinfo -h -N -o '%T' 2>/dev/null | head -1)
        case "$state" in idle*) return 0 ;; esac
        sleep 0.2
    done
    echo "slurm_local: the node is '${state:-unknown}', not idle, after 30 s; logs:" >&2
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" "$dir"/*.out >&2 2>/dev/null
    return 1
}

start() {
    need_tools
    stop_stale
    local dir=${VIDX_SLURM_DIR:-} host
    if [ -z "$dir" ]; then
        dir=$(mktemp -d /tmp/vidx-slurm.XXXXXX) || die "cannot make a temporary directory"
    else
        mkdir -p -m 0700 "$dir" || die "cannot make $dir"
    fi
    : >"$dir/cluster"
    echo "${VIDX_SLURM_OWNER:-$PPID}" >"$dir/owner"
    mkdir -p "$dir/state" "$dir/spool"
    host=$(hostname -s)
    start_munge "$dir"
    write_conf "$dir" "$host"
    spawn "$dir" slurmctld slurmctld -D -i -f "$dir/slurm.conf"
    spawn "$dir" slurmd slurmd -D -f "$dir/slurm.conf" -N "$host"
    if ! wait_idle "$dir"; then
        stop_dir "$dir"
        exit 1
    fi
    echo "export SLURM_CONF=$dir/slurm.conf VIDX_SLURM_DIR=$dir"
}

status() {
    local dir=${1:-${VIDX_SLURM_DIR:-}}
    [ -n "$dir" ] && [ -f "$dir/slurm.conf" ] || die "status: no cluster (give its directory or set VIDX_SLURM_DIR)"
    SLURM_CONF=$dir/slurm.conf sinfo -N -l
    SLURM_CONF=$dir/slurm.conf squeue
}

case "${1:-}" in
start) start ;;
stop)
    d=${2:-${VIDX_SLURM_DIR:-}}
    [ -n "$d" ] || die "stop: give the cluster directory or set VIDX_SLURM_DIR"
    stop_dir "$d"
    ;;
status) status "${2:-}" ;;
*)
    echo "usage: $0 start|stop [DIR]|status [DIR]" >&2
    exit 2
    ;;
esac
