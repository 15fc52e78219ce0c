/* modbus_server.c - the device of the Modbus/TCP proxy benchmark: a small
 * epoll Modbus/TCP server, one thread, that answers FC3 (read holding
 * registers, register i holds i & 0xFFFF) and every other function with
 * exception 0x01. It handles pipelined requests on one connection (the
 * edge multiplexes its clients on one upstream connection), so that the
 * proxies, not the device, are what the benchmark measures.
 * Usage: modbus_server PORT (on 127.0.0.1; PORT 0 picks one and prints it). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 8192
#define MAX_EVENTS 64

typedef struct {
	int fd;
	size_t len;
	uint8_t in[BUF];
	uint8_t out[BUF * 2];
} conn_t;

static size_t answer_fc3(const uint8_t *req, uint8_t *out)
{
	unsigned addr = (unsigned)req[8] << 8 | req[9], count = (unsigned)req[10] << 8 | req[11];
	memcpy(out, req, 7);
	if (count < 1 || count > 125) {
		out[7] = 0x83;
		out[8] = 0x03;
		out[4] = 0, out[5] = 3;
		return 9;
	}
	out[7] = 3;
	out[8] = (uint8_t)(2 * count);
	for (unsigned i = 0; i < count; i++) {
		unsigned v = (addr + i) & 0xFFFF;
		out[9 + 2 * i] = (uint8_t)(v >> 8);
		out[10 + 2 * i] = (uint8_t)v;
	}
	unsigned len = 3 + 2 * count;
	out[4] = (uint8_t)(len >> 8), out[5] = (uint8_t)len;
	return 6 + len;
}

/* The response to the ADU at req (length n): FC3 or exception 0x01. */
static size_t answer(const uint8_t *req, size_t n, uint8_t *out)
{
	if (req[7] == 3 && n == 12)
		return answer_fc3(req, out);
	memcpy(out, req, 7);
	out[4] = 0, out[5] = 3;
	out[7] = (uint8_t)(req[7] | 0x80);
	out[8] = 0x01;
	return 9;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1; /* the benchmark's clients read every answer: a full buffer is a bug */
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* Reads what is there and answers every complete ADU; -1 to close. */
static int serve(conn_t *c)
{
	ssize_t r = read(c->fd, c->in + c->len, BUF - c->len);
	if (r <= 0)
		return r < 0 && errno == EAGAIN ? 0 : -1;
	c->len += (size_t)r;
	size_t at = 0, out = 0;
	while (c->len - at >= 8) {
		size_t n = 6 + ((size_t)c->in[at + 4] << 8 | c->in[at + 5]);
		if (n < 8 || n > 260)
			return -1;
		if (c->len - at < n)
			break;
		out += answer(c->in + at, n, c->out + out);
		at += n;
	}
	memmove(c->in, c->in + at, c->len - at);
	c->len -= at;
	return write_all(c->fd, c->out, out);
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0) {
		perror("modbus_server: bind/listen");
		exit(1);
	}
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void accept_one(int ep, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK), one = 1;
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	conn_t *c = calloc(1, sizeof *c);
	c->fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: modbus_server PORT\n");
		return 2;
	}
	int lfd = listen_on(atoi(argv[1])), ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[MAX_EVENTS];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			conn_t *c = evs[i].data.ptr;
			if (c == NULL) {
				accept_one(ep, lfd);
			} else if (serve(c) < 0) {
				close(c->fd);
				free(c);
			}
		}
	}
}
