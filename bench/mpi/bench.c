/*
 * MPI micro-benchmarks in C, the reference for bench/mpi/gobench (the same
 * measurements through package mpi). Build with mpicc; run.sh does both.
 *
 *   bench pingpong [single|multiple]   on 2 ranks: round-trip latency of an
 *                                      8-byte message, bandwidth at 1 MiB
 *   bench allreduce [single|multiple]  Allreduce (sum) of 1M float64
 *   bench calls [single|multiple]      on 1 rank: nanoseconds per call of
 *                                      the hot calls where MPI does nothing
 *                                      (MPI_PROC_NULL, MPI_COMM_SELF): what a
 *                                      binding adds shows against it
 *
 * Each figure is taken SAMPLES times over ITERS operations (after a warm-up);
 * rank 0 prints one line per figure: NAME median min unit.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 21

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n, const char *unit, int rank)
{
	qsort(v, n, sizeof v[0], cmp);
	if (rank == 0)
		printf("%s %.4f %.4f %s\n", name, v[n / 2], v[0], unit);
}

/* seconds per round trip of count doubles between ranks 0 and 1 */
static double pingpong(double *buf, int count, int iters, int rank)
{
	double t0;
	int i;
	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (i = 0; i < iters; i++) {
		if (rank == 0) {
			MPI_Send(buf, count, MPI_DOUBLE, 1, 0, MPI_COMM_WORLD);
			MPI_Recv(buf, count, MPI_DOUBLE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else if (rank == 1) {
			MPI_Recv(buf, count, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(buf, count, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD);
		}
	}
	return (MPI_Wtime() - t0) / iters;
}

#define CALL_ITERS 200000

/* nanoseconds per call of each hot call on a no-op peer */
static void calls(int rank)
{
	double buf[1] = {1}, out[1], v[SAMPLES], t0;
	MPI_Request req;
	int s, i;
	const char *names[] = {"call_send_procnull", "call_recv_procnull", "call_isend_wait_procnull",
			       "call_allreduce_self_8B"};
	int c;
	for (c = 0; c < 4; c++) {
		for (s = -1; s < SAMPLES; s++) { /* -1: warm-up */
			t0 = MPI_Wtime();
			for (i = 0; i < CALL_ITERS; i++) {
				switch (c) {
				case 0:
					MPI_Send(buf, 1, MPI_DOUBLE, MPI_PROC_NULL, 0, MPI_COMM_WORLD);
					break;
				case 1:
					MPI_Recv(buf, 1, MPI_DOUBLE, MPI_PROC_NULL, 0, MPI_COMM_WORLD,
						 MPI_STATUS_IGNORE);
					break;
				case 2:
					MPI_Isend(buf, 1, MPI_DOUBLE, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &req);
					MPI_Wait(&req, MPI_STATUS_IGNORE);
					break;
				default:
					MPI_Allreduce(buf, out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_SELF);
				}
			}
			if (s >= 0)
				v[s] = (MPI_Wtime() - t0) / CALL_ITERS * 1e9;
		}
		report(names[c], v, SAMPLES, "ns", rank);
	}
}

int main(int argc, char **argv)
{
	int provided, rank, size, s;
	const char *mode = argc > 1 ? argv[1] : "pingpong";
	int multiple = !(argc > 2 && strcmp(argv[2], "single") == 0);
	double v[SAMPLES];

	MPI_Init_thread(&argc, &argv, multiple ? MPI_THREAD_MULTIPLE : MPI_THREAD_SINGLE,
			&provided);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);

	if (strcmp(mode, "pingpong") == 0) {
		const int big = 1 << 17; /* 1 MiB of doubles */
		double *buf = calloc(big, sizeof(double));
		pingpong(buf, 1, 20000, rank); /* warm-up */
		for (s = 0; s < SAMPLES; s++)
			v[s] = pingpong(buf, 1, 20000, rank) * 1e6;
		report("latency_8B_rtt", v, SAMPLES, "us", rank);
		pingpong(buf, big, 50, rank);
		for (s = 0; s < SAMPLES; s++)
			v[s] = 2.0 * big * sizeof(double) / pingpong(buf, big, 100, rank) / 1e6;
		for (s = 0; s < SAMPLES; s++)
			v[s] = -v[s]; /* report the median; "min" is the best (largest) */
		qsort(v, SAMPLES, sizeof v[0], cmp);
		if (rank == 0)
			printf("bandwidth_1MiB %.1f %.1f MB/s\n", -v[SAMPLES / 2], -v[0]);
		free(buf);
	} else if (strcmp(mode, "calls") == 0) {
		calls(rank);
	} else {
		const int n = 1 << 20;
		const int iters = 10;
		double *in = malloc(n * sizeof(double)), *out = malloc(n * sizeof(double));
		int i;
		for (i = 0; i < n; i++)
			in[i] = rank + i * 1e-6;
		MPI_Allreduce(in, out, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
		for (s = 0; s < SAMPLES; s++) {
			double t0, t, tmax;
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = MPI_Wtime();
			for (i = 0; i < iters; i++)
				MPI_Allreduce(in, out, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
			t = (MPI_Wtime() - t0) / iters;
			MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
			v[s] = tmax * 1e3;
		}
		report("allreduce_1M_f64", v, SAMPLES, "ms", rank);
		free(in);
		free(out);
	}
	if (rank == 0)
		printf("thread_level %d ranks %d\n", provided, size);
	MPI_Finalize();
	return 0;
}
