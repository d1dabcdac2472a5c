# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# mpirun.sh - how the project's scripts start Open MPI jobs in a guest
# (mpirun.openmpi: with MPICH installed too, "mpirun" may be either);
# sourced by run_clients.sh and mpi_bench.sh.
#
# Defines MPIRUN, an mpirun command line without the single copy
# mechanism and the job, mpi_bring_up_lo and cma_failures.

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# pml ob1: UCX, if it were picked, would bypass the vader BTL under test.
# oob/lo, bind-to none, oversubscribe: a one-node guest without a network,
# whose 2 CPUs may run 3 ranks.
# shellcheck disable=SC2034,SC2054 # used by the sourcing script; one argument
MPIRUN=(mpirun.openmpi --mca plm isolated --mca pml ob1 --mca btl self,vader
	--mca btl_vader_backing_directory /dev/shm
	--mca oob_tcp_if_include lo --bind-to none --oversubscribe)

# Open MPI's PMIx server needs an interface that is up; a bare guest may
# not have brought up lo.
mpi_bring_up_lo() {
	if ! command -v ip >/dev/null; then
		echo "# no ip command: lo left as it is"
	elif ! ip -o link show dev lo | grep -q '[<,]UP[,>]'; then
		echo "# bringing up lo"
		ip link set dev lo up || echo "# could not bring up lo"
	fi
}

# cma_failures <tag>: the lines of <tag>.err in which vader reports a
# failed process_vm_readv/writev.
cma_failures() {
	grep -E '(Read|Wrote) -?[0-9]+, expected [0-9]+, errno = [0-9]+' \
		"$1.err" || true
}
