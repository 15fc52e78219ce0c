/* listen_addr.c - HOST:PORT listen addresses and the loopback test. */
#include "core/listen_addr.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(const char *addr, char *err, size_t err_len)
{
	snprintf(err, err_len, "listen address '%.200s' is not HOST:PORT with a numeric IPv4 or [IPv6] host "
			       "and a port from 1 to 65535",
		 addr);
	return -1;
}

int listen_addr_parse(const char *addr, struct sockaddr_storage *ss, char *err, size_t err_len)
{
	char host[128];
	const char *colon = strrchr(addr, ':');
	char *end = NULL;
	if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof host)
		return bad(addr, err, err_len);
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 || port > 65535)
		return bad(addr, err, err_len);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(ss, 0, sizeof *ss);
	size_t n = strlen(host);
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (n < 3 || host[n - 1] != ']')
			return bad(addr, err, err_len);
		host[n - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : bad(addr, err, err_len);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : bad(addr, err, err_len);
}

bool listen_addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}
