/* A Linux program run as an eapp (static glibc, no Keystone SDK): it uses
 * the sockets the host's SocketPolicy grants, proxied by the runtime
 * (docs/runtime.md, "Sockets"): TCP and UDP over the guest's loopback.
 * Each check prints one line "net: NAME ret=R errno=E canary=ok|BAD ..."
 * for tests/linux/test_enclave_sockets.py; the buffers the host's answers
 * are copied into sit inside canary bytes that a runtime believing a lying
 * host would overwrite. At the end it prints the instructions (instret) of
 * a 4 KiB send, a 4 KiB receive and a plain ocall, averaged over ROUNDS.
 * The policy the tests give: TCP bind and connect 127.0.0.1:7401, UDP bind
 * and connect 127.0.0.1:7411; ports 7402, 7403 and 7412 are refused. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define CANARY 0xA5
#define ROUNDS 50
#define OCALL 1001
#define OCALL_NOP 6
#define TCP_PORT 7401
#define UDP_PORT 7411

static unsigned char area[3 * 4096];

static void fill(void) { memset(area, CANARY, sizeof area); }

/* The canaries around area[4096 .. 4096 + len). */
static const char *around(size_t len)
{
    for (size_t i = 0; i < sizeof area; i++)
        if ((i < 4096 || i >= 4096 + len) && area[i] != CANARY)
            return "BAD";
    return "ok";
}

static void line(const char *name, long ret, const char *can, const char *extra)
{
    printf("net: %s ret=%ld errno=%d canary=%s %s\n", name, ret, ret < 0 ? errno : 0, can, extra);
    fflush(stdout);
}

static unsigned long instret(void)
{
    unsigned long v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* An address call (getsockname/getpeername/accept) into a 16-byte buffer
 * at area[4096]: "len=L port=P" (port of a sockaddr_in). */
static void addr_extra(char *out, size_t n, long r, socklen_t len)
{
    struct sockaddr_in a;
    memcpy(&a, area + 4096, sizeof a);
    if (r < 0)
        snprintf(out, n, "len=-1");
    else
        snprintf(out, n, "len=%u family=%u port=%u", (unsigned)len, (unsigned)a.sin_family,
                 (unsigned)ntohs(a.sin_port));
}

int main(void)
{
    char text[160];
    long r;
    socklen_t len;
    struct sockaddr_in at = loopback(TCP_PORT);

    r = socket(AF_UNIX, SOCK_STREAM, 0);
    line("unix", r, "ok", "");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(text, sizeof text, "fd=%d", lfd);
    line("socket", lfd, "ok", text);
    int one = 1;
    r = setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    line("setsockopt", r, "ok", "");
    r = setsockopt(lfd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
    line("setsockopt-outside-subset", r, "ok", "");
    struct sockaddr_in other = loopback(TCP_PORT + 1);
    r = bind(lfd, (struct sockaddr *)&other, sizeof other);
    line("bind-refused", r, "ok", "");
    r = bind(lfd, (struct sockaddr *)&at, sizeof at);
    line("bind", r, "ok", "");
    r = listen(lfd, 4);
    line("listen", r, "ok", "");

    fill();
    len = 16;
    r = getsockname(lfd, (struct sockaddr *)(area + 4096), &len);
    addr_extra(text, sizeof text, r, len);
    line("getsockname", r, around(16), text);

    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in closed = loopback(TCP_PORT + 2);
    r = connect(cfd, (struct sockaddr *)&closed, sizeof closed);
    line("connect-refused", r, "ok", "");
    r = connect(cfd, (struct sockaddr *)&at, sizeof at);
    line("connect", r, "ok", "");

    fill();
    len = 16;
    int sfd = accept4(lfd, (struct sockaddr *)(area + 4096), &len, SOCK_CLOEXEC);
    addr_extra(text, sizeof text, sfd, len);
    line("accept", sfd, around(16), text);

    fill();
    len = 16;
    r = getpeername(cfd, (struct sockaddr *)(area + 4096), &len);
    addr_extra(text, sizeof text, r, len);
    line("getpeername", r, around(16), text);

    r = write(cfd, "ping from client", 16);
    line("send", r, "ok", "");
    fill();
    r = read(sfd, area + 4096, 64);
    snprintf(text, sizeof text, "data=%.*s", r > 0 ? (int)r : 0, (char *)area + 4096);
    line("recv", r, around(r > 0 ? (size_t)r : 0), text);

    r = send(sfd, "pong", 4, 0);
    line("send-back", r, "ok", "");
    fill();
    len = 16;
    struct sockaddr_in from;
    /* MSG_DONTWAIT: under a host that lied about the accept no pong was
     * sent, and a blocking receive would wait for ever. */
    r = recvfrom(cfd, area + 4096, 64, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    snprintf(text, sizeof text, "data=%.*s len=%u", r > 0 ? (int)r : 0, (char *)area + 4096,
             (unsigned)len);
    line("recvfrom", r, around(r > 0 ? (size_t)r : 0), text);

    fill();
    len = 4;
    r = getsockopt(cfd, SOL_SOCKET, SO_TYPE, area + 4096, &len);
    int type;
    memcpy(&type, area + 4096, sizeof type);
    snprintf(text, sizeof text, "type=%d len=%u", r == 0 ? type : -1, (unsigned)len);
    line("getsockopt", r, around(4), text);
    r = setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    line("nodelay", r, "ok", "");
    r = lseek(cfd, 0, SEEK_SET);
    line("lseek", r, "ok", "");

    /* Cost: a 4 KiB send and a 4 KiB receive over the connection, and a
     * plain ocall. */
    unsigned long t_send = 0, t_recv = 0, t_ocall = 0;
    int bench_ok = sfd >= 0;
    memset(area, 'b', 4096);
    for (int i = 0; bench_ok && i < ROUNDS; i++) {
        unsigned long t0 = instret();
        if (write(cfd, area, 4096) != 4096)
            bench_ok = 0;
        unsigned long t1 = instret();
        size_t got = 0;
        while (bench_ok && got < 4096) {
            long n = read(sfd, area + 4096 + got, 4096 - got);
            if (n <= 0)
                bench_ok = 0;
            else
                got += n;
        }
        unsigned long t2 = instret();
        t_send += t1 - t0;
        t_recv += t2 - t1;
    }
    unsigned long t3 = instret();
    for (int i = 0; i < ROUNDS; i++)
        if (syscall(OCALL, OCALL_NOP, 0, 0, 0, 0) != 0)
            bench_ok = 0;
    t_ocall = instret() - t3;
    if (bench_ok)
        printf("net: bench rounds=%d send4k=%lu recv4k=%lu ocall=%lu\n", ROUNDS, t_send / ROUNDS,
               t_recv / ROUNDS, t_ocall / ROUNDS);

    r = shutdown(cfd, SHUT_WR);
    line("shutdown", r, "ok", "");
    r = read(sfd, area, 16);
    line("recv-eof", r, "ok", "");
    r = close(sfd);
    line("close", r, "ok", "");
    close(cfd);
    close(lfd);
    r = close(lfd);
    line("close-again", r, "ok", "");

    int u1 = socket(AF_INET, SOCK_DGRAM, 0);
    int u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in uat = loopback(UDP_PORT);
    r = bind(u1, (struct sockaddr *)&uat, sizeof uat);
    line("udp-bind", r, "ok", "");
    struct sockaddr_in uother = loopback(UDP_PORT + 1);
    r = sendto(u2, "datagram", 8, 0, (struct sockaddr *)&uother, sizeof uother);
    line("udp-sendto-refused", r, "ok", "");
    r = sendto(u2, "datagram", 8, 0, (struct sockaddr *)&uat, sizeof uat);
    line("udp-sendto", r, "ok", "");
    fill();
    len = 16;
    r = recvfrom(u1, area + 4096, 64, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    snprintf(text, sizeof text, "data=%.*s len=%u family=%u", r > 0 ? (int)r : 0,
             (char *)area + 4096, (unsigned)len, (unsigned)from.sin_family);
    line("udp-recvfrom", r, around(r > 0 ? (size_t)r : 0), text);
    close(u1);
    close(u2);
    return 0;
}
