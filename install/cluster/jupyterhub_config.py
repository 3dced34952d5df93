# JupyterHub with batchspawner: each user's notebook server runs inside a SLURM
# job, so %mpirun cells launch their ranks with srun on the job's nodes.
#
# batchspawner starts the server as `srun jupyterhub-singleuser` in the job:
# the kernel then lives inside a job step, and mpigo launches ranks with
# `srun --overlap` (a plain mpirun or srun would wait forever for a new step).
# Merge these lines into jupyterhub_config.py; the profile list needs the
# wrapspawner package (ProfilesSpawner), the rest only batchspawner.
c = get_config()  # noqa: F821 (defined by JupyterHub when it loads this file)

c.JupyterHub.spawner_class = "wrapspawner.ProfilesSpawner"
c.Spawner.http_timeout = 120
c.BatchSpawnerBase.req_prologue = "module load mpigo"  # Go, MPI and the kernel spec
c.BatchSpawnerBase.req_srun = "srun"  # the server runs in a job step (see above)

# (display name, key, spawner, its settings); -n of %mpirun defaults to the job's
# CPUs (the server runs in a one-task step), and more ranks than the job holds
# is an error that suggests %mpirun --sbatch.
c.ProfilesSpawner.profiles = [
    ("Workshop: 4 MPI ranks on 1 node, 1 hour", "mpi4", "batchspawner.SlurmSpawner",
     dict(req_nprocs="4", req_runtime="1:00:00", req_memory="4G",
          req_options="--ntasks=4 --cpus-per-task=1")),
    ("2 nodes x 16 ranks, 2 hours", "mpi32", "batchspawner.SlurmSpawner",
     dict(req_nprocs="1", req_runtime="2:00:00", req_memory="16G",
          req_options="--nodes=2 --ntasks-per-node=16 --cpus-per-task=1")),
    # batchspawner's default shape: one task with many CPUs. %mpirun -n N then
    # runs up to N ranks on those CPUs (oversubscribing within them).
    ("1 task, 8 CPUs (goroutines; %mpirun up to 8 ranks)", "cpus8", "batchspawner.SlurmSpawner",
     dict(req_nprocs="8", req_runtime="2:00:00", req_memory="8G")),
]
# c.SlurmSpawner.req_partition = "standard"   # where a cluster's go
# c.SlurmSpawner.req_account = "my-account"
