/* listen_addr.h - the HOST:PORT form of listen addresses (numeric IPv4 or
 * [IPv6], port 1-65535) parsed into a socket address, and whether an
 * address is loopback-only. Pure: no sockets are opened here. */
#ifndef TG_LISTEN_ADDR_H
#define TG_LISTEN_ADDR_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Parses addr into ss; on error writes a sentence into err, returns -1. */
int listen_addr_parse(const char *addr, struct sockaddr_storage *ss, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool listen_addr_is_loopback(const struct sockaddr_storage *ss);

#endif
