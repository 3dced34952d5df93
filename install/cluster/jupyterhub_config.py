# JupyterHub with batchspawner: each user's notebook server runs inside a SLURM
# job, so %mpirun cells launch their ranks with srun on the job's nodes.
# Tested as shipped, with only site values set after it (addresses, paths,
# partition, node memory), by test/e2e/test_hub.py (README: "Deploying on
# JupyterHub").
#
# batchspawner starts the server as `{req_srun} jupyterhub-singleuser` in the
# job: the kernel then lives inside job step 0, and mpigo launches ranks with
# `srun --overlap` (a plain mpirun or srun would wait forever for a new step).
# Merge these lines into jupyterhub_config.py; the profile list needs the
# wrapspawner package (ProfilesSpawner), the rest only batchspawner.
import batchspawner  # noqa: F401 (registers the hub's /hub/api/batchspawner, which
# batchspawner-singleuser reports its port to; wrapspawner alone does not import it)

c = get_config()  # noqa: F821 (defined by JupyterHub when it loads this file)

c.JupyterHub.spawner_class = "wrapspawner.ProfilesSpawner"
c.Spawner.http_timeout = 120
c.Spawner.default_url = "/lab"  # JupyterLab, what users expect
# Run in the job's shell before the server starts:
# - SLURM_EXPORT_ENV=ALL: batchspawner submits with sbatch --export=VARS, and
#   sbatch hands that on to every srun in the job as SLURM_EXPORT_ENV. Left
#   so, the server's step would get those VARS only (not what `module load`
#   sets: no mpigo kernel spec), and the ranks' srun of %mpirun too (not the
#   variables that connect each rank back to the kernel). Slurm's manual
#   advises this line for such jobs.
# - module load mpigo: Go, MPI and the kernel spec (install/cluster/install.sh
#   writes the module). `module` is defined in the job: batchspawner asks for
#   the user's login environment (--get-user-env=L), where Lmod's
#   /etc/profile.d script exports BASH_ENV for every bash.
c.BatchSpawnerBase.req_prologue = """export SLURM_EXPORT_ENV=ALL
module load mpigo"""
# How the job starts the server: `srun` makes it step 0 of the job, so that
# %mpirun -n N starts the ranks in a step of their own with `srun --overlap`,
# on all the job's CPUs. --ntasks=1 --nodes=1: ONE server, whatever the job
# holds; batchspawner's default, a plain `srun`, starts one server per task of
# the job (4 in the workshop profile, 32 in the two-node one).
c.SlurmSpawner.req_srun = "srun --ntasks=1 --nodes=1"

# (display name, key, spawner, its settings); -n of %mpirun defaults to the job's
# CPUs (the server runs in a one-task step), and more ranks than the job holds
# is an error that suggests %mpirun --sbatch. req_nprocs is batchspawner's
# #SBATCH --cpus-per-task; req_options more #SBATCH options.
c.ProfilesSpawner.profiles = [
    # the workshop notebooks use at most 4 ranks: 4 tasks of 1 CPU on one node
    ("Workshop: 4 MPI ranks on 1 node, 1 hour", "mpi4", "batchspawner.SlurmSpawner",
     dict(req_nprocs="1", req_runtime="1:00:00", req_memory="4G",
          req_options="--nodes=1 --ntasks=4")),
    ("2 nodes x 16 ranks, 2 hours", "mpi32", "batchspawner.SlurmSpawner",
     dict(req_nprocs="1", req_runtime="2:00:00", req_memory="16G",
          req_options="--nodes=2 --ntasks-per-node=16")),
    # batchspawner's default shape: one task with many CPUs. %mpirun -n N then
    # runs up to N ranks on those CPUs (oversubscribing within them).
    ("1 task, 8 CPUs (goroutines; %mpirun up to 8 ranks)", "cpus8", "batchspawner.SlurmSpawner",
     dict(req_nprocs="8", req_runtime="2:00:00", req_memory="8G")),
]

# ---- site values -----------------------------------------------------------
# c.SlurmSpawner.req_partition = "standard"   # where the servers' jobs go
# c.SlurmSpawner.req_account = "my-account"
# Where install/cluster/install.sh wrote the modulefiles, when users' login
# environment does not have it on MODULEPATH already (sbatch exports it to the
# job, in place of the login value):
# c.Spawner.environment = {"MODULEPATH": "/sw/modulefiles:/etc/lmod/modules"}
# Where batchspawner-singleuser and jupyterhub-singleuser (with JupyterLab) are
# on the nodes, when not on the PATH the job gets (sudo's secure_path):
# c.SlurmSpawner.batchspawner_singleuser_cmd = "/sw/jupyter/bin/batchspawner-singleuser"
# c.Spawner.cmd = ["/sw/jupyter/bin/jupyterhub-singleuser"]
# The hub's API must be reachable from the nodes (batchspawner-singleuser
# reports its port there, the server checks logins there):
# c.JupyterHub.hub_ip = "0.0.0.0"; c.JupyterHub.hub_connect_ip = "login1.cluster"
