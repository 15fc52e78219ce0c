/* listener.c - opens the broker's listening socket (see listener.h). */
#include "broker/listener.h"
#include "core/listen_addr.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 1024

static int fail(int fd, const char *addr, const char *what, char *err, size_t err_len)
{
	int e = errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, err_len, "cannot %s %s: %s%s", what, addr, strerror(e),
		 e == EADDRINUSE ? " (is another broker running? stop it, or choose another address "
				   "with --listen, or `make run LISTEN=127.0.0.1:8421`)"
		 : e == EADDRNOTAVAIL ? " (no interface of this machine has that address)"
		 : e == EACCES ? " (ports below 1024 need privileges)"
			       : "");
	return -1;
}

int listener_open(const char *addr, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	int one = 1;
	if (listen_addr_parse(addr, &ss, err, err_len) != 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(fd, addr, "open a socket for", err, err_len);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
		return fail(fd, addr, "set SO_REUSEADDR on", err, err_len);
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
		return fail(fd, addr, "set IPV6_V6ONLY on", err, err_len);
	socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, (const struct sockaddr *)&ss, len) != 0)
		return fail(fd, addr, "listen on", err, err_len);
	if (listen(fd, LISTEN_BACKLOG) != 0)
		return fail(fd, addr, "listen on", err, err_len);
	return fd;
}
