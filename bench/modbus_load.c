/* modbus_load.c - the load generator of the Modbus/TCP proxy benchmark:
 * CLIENTS threads, each with its own TCP connection, send FC3
 * read_holding_registers(0, 10) to unit 1 and wait for the answer, back to
 * back. After WARMUP s, a DURATION s window: requests/s and the p50/p99
 * round trip of the requests that started and ended in it, and the CPU
 * (utime + stime from /proc) each -p PID used during the window. Every
 * answer is checked (transaction id, function, byte count, values 0..9).
 * Prints one line: "rps R p50_us A p99_us B requests N errors E cpu
 * PID:SECONDS,...". Usage: modbus_load -P PORT [-c CLIENTS] [-d DURATION]
 * [-w WARMUP] [-p PID]... */
#include "bench_util.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define MAX_PIDS 16

typedef struct {
	int port;
	uint64_t *lat; /* round trips in the window, ns */
	size_t n, cap;
	uint64_t errors;
	pthread_t thread;
} client_t;

static atomic_int g_stop;
static _Atomic uint64_t g_from, g_to; /* the window, bench_now_ns */

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int read_exact(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r, n -= (size_t)r;
	}
	return 0;
}

/* One request and its answer; 0 when the answer is right. */
static int round_trip(int fd, uint16_t tid)
{
	uint8_t req[12] = {(uint8_t)(tid >> 8), (uint8_t)tid, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10}, resp[29];
	if (write(fd, req, sizeof req) != (ssize_t)sizeof req || read_exact(fd, resp, sizeof resp) < 0)
		return -1;
	if (memcmp(resp, req, 4) != 0 || resp[5] != 23 || resp[7] != 3 || resp[8] != 20)
		return -1;
	for (int i = 0; i < 10; i++)
		if (resp[9 + 2 * i] != 0 || resp[10 + 2 * i] != i)
			return -1;
	return 0;
}

static void record(client_t *c, uint64_t t0, uint64_t t1)
{
	if (t0 < atomic_load(&g_from) || t1 > atomic_load(&g_to))
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 65536;
		c->lat = realloc(c->lat, c->cap * sizeof *c->lat);
	}
	c->lat[c->n++] = t1 - t0;
}

static void *client_run(void *arg)
{
	client_t *c = arg;
	int fd = connect_to(c->port);
	for (uint16_t tid = 1; fd >= 0 && !atomic_load(&g_stop); tid++) {
		uint64_t t0 = bench_now_ns();
		if (round_trip(fd, tid) < 0) {
			c->errors++;
			close(fd);
			fd = connect_to(c->port);
			continue;
		}
		record(c, t0, bench_now_ns());
	}
	if (fd < 0)
		c->errors++;
	else
		close(fd);
	return NULL;
}

/* utime + stime of pid in seconds, -1 when it is gone. */
static double cpu_seconds(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int port = 0, nclients = 1, pids[MAX_PIDS], npids = 0, opt;
	double duration = 10, warmup = 2, cpu0[MAX_PIDS];
	while ((opt = getopt(argc, argv, "P:c:d:w:p:")) != -1) {
		if (opt == 'P')
			port = atoi(optarg);
		else if (opt == 'c')
			nclients = atoi(optarg);
		else if (opt == 'd')
			duration = atof(optarg);
		else if (opt == 'w')
			warmup = atof(optarg);
		else if (opt == 'p' && npids < MAX_PIDS)
			pids[npids++] = atoi(optarg);
		else
			goto usage;
	}
	if (port <= 0 || nclients < 1 || nclients > MAX_CLIENTS || duration <= 0)
		goto usage;
	static client_t clients[MAX_CLIENTS];
	atomic_store(&g_from, UINT64_MAX);
	atomic_store(&g_to, UINT64_MAX);
	for (int i = 0; i < nclients; i++) {
		clients[i].port = port;
		pthread_create(&clients[i].thread, NULL, client_run, &clients[i]);
	}
	sleep_s(warmup);
	for (int i = 0; i < npids; i++)
		cpu0[i] = cpu_seconds(pids[i]);
	uint64_t from = bench_now_ns();
	atomic_store(&g_to, from + (uint64_t)(duration * 1e9));
	atomic_store(&g_from, from);
	sleep_s(duration);
	double window = (double)(bench_now_ns() - from) / 1e9;
	for (int i = 0; i < npids; i++)
		cpu0[i] = cpu_seconds(pids[i]) - cpu0[i];
	atomic_store(&g_stop, 1);
	size_t total = 0;
	uint64_t errors = 0;
	for (int i = 0; i < nclients; i++) {
		pthread_join(clients[i].thread, NULL);
		total += clients[i].n;
		errors += clients[i].errors;
	}
	uint64_t *all = malloc((total ? total : 1) * sizeof *all);
	for (size_t i = 0, at = 0; i < (size_t)nclients; at += clients[i].n, i++)
		memcpy(all + at, clients[i].lat, clients[i].n * sizeof *all);
	bench_sort_u64(all, total);
	printf("rps %.0f p50_us %.1f p99_us %.1f requests %zu errors %llu cpu ", (double)total / window,
	       (double)bench_quantile_u64(all, total, 0.5) / 1e3, (double)bench_quantile_u64(all, total, 0.99) / 1e3,
	       total, (unsigned long long)errors);
	for (int i = 0; i < npids; i++)
		printf("%s%d:%.3f", i ? "," : "", pids[i], cpu0[i] / window);
	printf("\n");
	return total > 0 && errors == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: modbus_load -P PORT [-c CLIENTS] [-d DURATION] [-w WARMUP] [-p PID]...\n");
	return 2;
}
