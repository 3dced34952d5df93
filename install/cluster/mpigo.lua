-- Lmod modulefile for mpigo, written by install/cluster/install.sh from
-- install/cluster/mpigo.lua, which has placeholders for the paths and modules.
help([[
mpigo @VERSION@: a Jupyter kernel for Go with %mpirun cells that run on the
ranks of your SLURM allocation. Pick "Go (mpigo)" in Jupyter; the workshop
notebooks come with the sources. %mpirun builds with Go and the MPI loaded
below, so keep them loaded in the notebook server's environment.
]])
whatis("Name: mpigo")
whatis("Version: @VERSION@")
whatis("Description: Jupyter kernel for Go and MPI (%mpirun) on SLURM clusters")

local prefix = "@PREFIX@"
local go_module = "@GO_MODULE@"
local mpi_module = "@MPI_MODULE@"

-- %mpirun compiles cells with Go and links them against the MPI that runs them
if go_module ~= "" then depends_on(go_module) end
if mpi_module ~= "" then depends_on(mpi_module) end

prepend_path("PATH", pathJoin(prefix, "bin"))
-- Jupyter finds the kernel spec (kernels/mpigo/kernel.json) on JUPYTER_PATH
prepend_path("JUPYTER_PATH", pathJoin(prefix, "share/jupyter"))
