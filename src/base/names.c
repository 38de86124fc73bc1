/*
 * names.c - the kernel's numbers as the words people and tools use: TCP states as ss
 * names them, address families, socket types and protocols; socket addresses as text
 * ("127.0.0.1:80", "[::1]:80", "/run/x.sock", "@abstract") and in a compact form a
 * record can hold.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "base.h"

void sl_addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof(*a));
    if (!sa || len < sizeof(sa_family_t))
        return;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        a->family = AF_INET;
        a->port = in->sin_port;
        memcpy(a->addr, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        a->family = AF_INET6;
        a->port = in6->sin6_port;
        a->scope = in6->sin6_scope_id;
        memcpy(a->addr, &in6->sin6_addr, 16);
    }
}

void sl_addr_to_sockaddr(const struct sl_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    *len = 0;
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = a->port;
        memcpy(&in->sin_addr, a->addr, 4);
        *len = sizeof(*in);
    } else if (a->family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = a->port;
        in6->sin6_scope_id = a->scope;
        memcpy(&in6->sin6_addr, a->addr, 16);
        *len = sizeof(*in6);
    }
}

void sl_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    out[0] = '\0';
    if (!sa || len < sizeof(sa_family_t) || outlen == 0)
        return;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        if (len < sizeof(*in) || !inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
            return;
        snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
        return;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (len < sizeof(*in6) || !inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)))
            return;
        if (in6->sin6_scope_id)
            snprintf(out, outlen, "[%s%%%u]:%u", host, in6->sin6_scope_id, ntohs(in6->sin6_port));
        else
            snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
        return;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n > sizeof(un->sun_path))
            n = sizeof(un->sun_path);
        if (n == 0)
            return; /* unnamed */
        size_t o = 0;
        if (un->sun_path[0] == '\0') { /* abstract: shown as ss does, with '@' */
            for (size_t i = 0; i < n && o + 1 < outlen; i++)
                out[o++] = un->sun_path[i] ? un->sun_path[i] : '@';
        } else {
            for (size_t i = 0; i < n && un->sun_path[i] && o + 1 < outlen; i++)
                out[o++] = un->sun_path[i];
        }
        out[o] = '\0';
        return;
    }
    default:
        return;
    }
}

const char *sl_tcp_state_name(int state)
{
    static const char *names[] = {
        NULL,       "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE",    "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
    };
    return state > 0 && (size_t)state < SL_ARRAY_LEN(names) ? names[state] : NULL;
}

const char *sl_family_name(int family)
{
    switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_NETLINK: return "netlink";
    default: return "other";
    }
}

const char *sl_type_name(int type)
{
    switch (type) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RAW: return "raw";
    default: return "other";
    }
}

const char *sl_proto_name(int family, int type, int proto)
{
    if (family != AF_INET && family != AF_INET6)
        return NULL;
    switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmp6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_UDPLITE: return "udplite";
    case 262: return "mptcp";
    case 0:
        if (type == SOCK_STREAM)
            return "tcp";
        if (type == SOCK_DGRAM)
            return "udp";
        return NULL;
    default: return NULL;
    }
}
