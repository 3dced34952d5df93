#!/bin/bash
# Watches a batch job in `squeue --me` until it has left the queue, for at
# most LIMIT seconds (default 90), so that a busy cluster cannot keep you (or
# a notebook: notebooks/07-slurm.ipynb uses it) waiting forever: prints
# `squeue --me`, then the job's line whenever its state changes, then how
# the job ended. The job stays queued when the time is up.
#
#   bash jobs/watch.sh 123456 [LIMIT]
#   sbatch 00-hello-world.sh | tee submitted.txt && bash watch.sh submitted.txt
#
# A FILE instead of a job id holds what sbatch printed ("Submitted batch job
# 123456", or the id alone with --parsable); a missing or empty FILE means
# nothing was submitted, which is said, not an error.
set -euo pipefail

arg=${1:?usage: bash watch.sh JOBID|FILE [LIMIT]}
limit=${2:-90}
job=$arg
if [[ ! $job =~ ^[0-9]+$ ]]; then
	job=$( (cat -- "$arg" 2>/dev/null || true) | awk '/^Submitted batch job [0-9]+/ { print $4 } /^[0-9]+(;.*)?$/ { sub(/;.*/, ""); print }' | tail -n 1)
fi
if [[ -z $job ]]; then
	echo "No job to watch: nothing was submitted."
	exit 0
fi

# how a job that left the queue ended, while slurmctld still remembers it
# (MinJobAge, 5 minutes by default); sacct knows for good where accounting is on
ended() {
	local record
	if record=$(scontrol --oneliner show job "$1" 2>/dev/null); then
		grep -oE '\b(JobState|ExitCode)=[^ ]+' <<<"$record" | paste -sd ' ' -
	else
		echo "SLURM has forgotten it already (sacct -j $1 tells, where accounting is on)"
	fi
}

echo "$ squeue --me"
squeue --me
echo
start=$SECONDS
last=
while ((SECONDS - start < limit)); do
	# PENDING with its reason (Resources, Priority), RUNNING with its nodes
	line=$(squeue --me --noheader --format='%i %T %R' | awk -v job="$job" '$1 == job')
	if [[ -z $line ]]; then
		printf '%3d s  job %s has left the queue: %s\n' $((SECONDS - start)) "$job" "$(ended "$job")"
		exit 0
	fi
	if [[ $line != "$last" ]]; then
		printf '%3d s  job %s\n' $((SECONDS - start)) "$line"
		last=$line
	fi
	sleep 1
done
echo "job $job is still in the queue after $limit s: look again later (squeue --me), or cancel it (scancel $job)"
