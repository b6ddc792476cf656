/* A Linux program run as an eapp (static glibc) that keeps a sealed file
 * (docs/runtime.md, "Sealed files"): the host grants SEALED with
 * FilePolicy::sealed, the runtime encrypts and authenticates it with this
 * enclave's sealing key, and the program uses plain read/write/pread/
 * pwrite/lseek/fstat. argv[1] picks what it does:
 *
 *   write    create SEALED (3 blocks of text with MARKER), pwrite, lseek,
 *            read across a block edge, fstat, reopen and compare all; then
 *            the instructions of a sealed and a plain 4 KiB pread/pwrite
 *   read     open SEALED read-only and read block 0 and block 1
 *   update   pwrite "NEW" at offset 10 (a newer version of block 0)
 *   reopen   pwrite, close, open again (a host may roll it back between)
 *
 * Each check prints "sealed: NAME ret=R errno=E [extra]". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR "/tmp/kss"
#define SEALED DIR "/rw/s.bin"
#define PLAIN DIR "/rw/plain.bin"
#define MARKER "SEALED-PLAINTEXT-MARKER"
#define SIZE (3 * 4096 - 100)
#define ROUNDS 20

#ifndef VARIANT
#define VARIANT "sealed"
#endif

static char want[SIZE], got[SIZE + 64], block[4096];

static void line(const char *name, long ret, const char *extra)
{
    printf("sealed: %s ret=%ld errno=%d %s\n", name, ret, ret < 0 ? errno : 0, extra);
}

static unsigned long instret(void)
{
    unsigned long v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
}

static void expected(void)
{
    for (int i = 0; i < SIZE; i++)
        want[i] = 'a' + i % 26;
    for (int i = 0; i + (int)sizeof MARKER < SIZE; i += 512)
        memcpy(want + i, MARKER, sizeof MARKER - 1);
}

/* read() until SIZE + 64 bytes or the end: the count, or -1. */
static long read_all(int fd)
{
    long total = 0, r;
    while (total < SIZE + 64 && (r = read(fd, got + total, SIZE + 64 - total)) > 0)
        total += r;
    return r < 0 ? -1 : total;
}

/* Instructions per 4 KiB pread and pwrite at offset 0 of fd. */
static void cost(int fd, unsigned long *rd, unsigned long *wr)
{
    unsigned long t = instret();
    for (int i = 0; i < ROUNDS; i++)
        if (pread(fd, block, 4096, 0) != 4096)
            line("bench-pread", -1, "");
    *rd = (instret() - t) / ROUNDS;
    t = instret();
    for (int i = 0; i < ROUNDS; i++)
        if (pwrite(fd, block, 4096, 0) != 4096)
            line("bench-pwrite", -1, "");
    *wr = (instret() - t) / ROUNDS;
}

static int do_write(void)
{
    char extra[128];
    struct stat st;
    long r;
    int fd = open(SEALED, O_RDWR | O_CREAT | O_TRUNC, 0600);
    line("open", fd, "");
    if (fd < 0)
        return 1;
    line("open-twice", open(SEALED, O_RDONLY), "");
    line("write", write(fd, want, SIZE), "");
    memcpy(want + 5000, "PWRITE", 6);
    line("pwrite", pwrite(fd, "PWRITE", 6, 5000), "");
    line("lseek", lseek(fd, 4090, SEEK_SET), "");
    r = read(fd, got, 12);
    snprintf(extra, sizeof extra, "same=%d", r == 12 && memcmp(got, want + 4090, 12) == 0);
    line("read-across", r, extra);
    r = fstat(fd, &st);
    snprintf(extra, sizeof extra, "size=%ld", r == 0 ? (long)st.st_size : -1L);
    line("fstat", r, extra);
    line("lseek-end", lseek(fd, 0, SEEK_END), "");
    line("close", close(fd), "");
    fd = open(SEALED, O_RDONLY);
    r = read_all(fd);
    snprintf(extra, sizeof extra, "same=%d", r == SIZE && memcmp(got, want, SIZE) == 0);
    line("reread", r, extra);
    line("write-read-only", write(fd, "x", 1), "");
    close(fd);

    unsigned long sr, sw, pr, pw;
    fd = open(DIR "/rw/bench.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    int plain = open(PLAIN, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || plain < 0 || pwrite(fd, block, 4096, 0) != 4096 ||
        pwrite(plain, block, 4096, 0) != 4096) {
        line("bench", -1, "");
        return 1;
    }
    cost(fd, &sr, &sw);
    cost(plain, &pr, &pw);
    printf("sealed: bench rounds=%d sealed_pread4k=%lu sealed_pwrite4k=%lu plain_pread4k=%lu "
           "plain_pwrite4k=%lu\n", ROUNDS, sr, sw, pr, pw);
    close(fd);
    close(plain);
    return 0;
}

static int do_read(void)
{
    char extra[64];
    int fd = open(SEALED, O_RDONLY);
    line("open", fd, "");
    if (fd < 0)
        return 0;
    memset(got, 0, sizeof got);
    long r = pread(fd, got, 16, 0);
    snprintf(extra, sizeof extra, "data=%.16s", r > 0 ? got : "");
    line("read0", r, extra);
    memset(got, 0, sizeof got);
    r = pread(fd, got, 16, 4096);
    snprintf(extra, sizeof extra, "data=%.16s", r > 0 ? got : "");
    line("read1", r, extra);
    close(fd);
    return 0;
}

static int do_update(void)
{
    int fd = open(SEALED, O_RDWR);
    line("open", fd, "");
    line("update", pwrite(fd, "NEW", 3, 10), "");
    close(fd);
    return 0;
}

static int do_reopen(void)
{
    int fd = open(SEALED, O_RDWR);
    line("open", fd, "");
    line("update", pwrite(fd, "NEW", 3, 10), "");
    close(fd);
    fd = open(SEALED, O_RDONLY);
    line("reopen", fd, "");
    if (fd >= 0)
        close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "write";
    printf("sealed: program=%s mode=%s\n", VARIANT, mode);
    expected();
    if (strcmp(mode, "write") == 0)
        return do_write();
    if (strcmp(mode, "read") == 0)
        return do_read();
    if (strcmp(mode, "update") == 0)
        return do_update();
    if (strcmp(mode, "reopen") == 0)
        return do_reopen();
    line("mode", -1, mode);
    return 2;
}
