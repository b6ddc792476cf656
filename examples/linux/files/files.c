/* A Linux program run as an eapp (static glibc, no Keystone SDK): it uses
 * files the host grants through its FilePolicy, proxied by the runtime.
 * Each check prints one line "files: NAME ret=R errno=E canary=ok|BAD ..."
 * for tests/linux/test_enclave_files.py; buffers are surrounded by canary
 * bytes that a runtime believing a lying host would overwrite. At the end
 * it prints the instructions (instret) of a 4 KiB pread, a 4 KiB pwrite and
 * a plain ocall, averaged over ROUNDS. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define DIR "/tmp/ksf"
#define CANARY 0xA5
#define ROUNDS 50
#define OCALL 1001
#define OCALL_NOP 6

static unsigned char area[3 * 4096];

static const char *canary(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != CANARY)
            return "BAD";
    return "ok";
}

/* The canaries around area[4096 .. 4096 + len). */
static const char *around(size_t len)
{
    if (canary(area, 4096)[0] == 'B' || canary(area + 4096 + len, 4096 - len)[0] == 'B')
        return "BAD";
    return "ok";
}

static void fill(void) { memset(area, CANARY, sizeof area); }

static void line(const char *name, long ret, const char *can, const char *extra)
{
    printf("files: %s ret=%ld errno=%d canary=%s %s\n", name, ret, ret < 0 ? errno : 0, can,
           extra);
}

static unsigned long instret(void)
{
    unsigned long v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
}

int main(int argc, char **argv)
{
    char text[128];
    long r;
    int fd;

    printf("files: argc=%d", argc);
    for (int i = 0; i < argc; i++)
        printf(" argv[%d]=%s", i, argv[i]);
    const char *mode = getenv("KSF_MODE");
    printf(" KSF_MODE=%s\n", mode ? mode : "(unset)");
    fflush(stdout);
    /* argv[1] = bad-read-buffer / bad-write-buffer / bad-path: a pointer
     * that is not the eapp's own (the runtime ends the enclave). */
    if (argc > 1 && strcmp(argv[1], "bad-read-buffer") == 0) {
        fd = open(DIR "/in.txt", O_RDONLY);
        r = read(fd, (void *)0xffffffffc0000000UL, 16);
        line("bad-read-buffer", r, "ok", "not reached");
        return 5;
    }
    if (argc > 1 && strcmp(argv[1], "bad-write-buffer") == 0) {
        fd = open(DIR "/rw/out.txt", O_WRONLY | O_CREAT, 0600);
        /* Starts in area, runs off the mapped pages (hidden from gcc's
         * bounds warning through a volatile pointer). */
        unsigned char *volatile start = area;
        r = write(fd, start, 64UL << 20);
        line("bad-write-buffer", r, "ok", "not reached");
        return 5;
    }
    if (argc > 1 && strcmp(argv[1], "bad-path") == 0) {
        r = open((const char *)0xffffffffc0000000UL, O_RDONLY);
        line("bad-path", r, "ok", "not reached");
        return 5;
    }
    errno = 0;
    r = open(DIR "/secret", O_RDONLY);
    line("refused", r, "ok", "");
    r = open(DIR "/in.txt", O_RDWR);
    line("refused-rw", r, "ok", "");
    r = open(DIR "/rw/../secret", O_RDONLY);
    line("refused-dotdot", r, "ok", "");

    fd = open(DIR "/in.txt", O_RDONLY);
    snprintf(text, sizeof text, "fd=%d", fd);
    line("open", fd, "ok", text);

    fill();
    r = read(fd, area + 4096, 100);
    snprintf(text, sizeof text, "data=%.*s", r > 0 ? (int)(r < 40 ? r : 40) : 0, area + 4096);
    for (char *c = text; *c; c++)
        if (*c == '\n')
            *c = '|';
    line("read", r, around(100), text);

    fill();
    r = pread(fd, area + 4096, 5, 6);
    snprintf(text, sizeof text, "data=%.*s", r > 0 ? (int)r : 0, area + 4096);
    line("pread", r, around(5), text);

    fill();
    struct stat *st = (struct stat *)(area + 4096);
    r = fstat(fd, st);
    snprintf(text, sizeof text, "size=%ld", r == 0 ? (long)st->st_size : -1L);
    line("fstat", r, around(sizeof *st), text);

    r = lseek(fd, 0, SEEK_END);
    line("lseek-end", r, "ok", "");
    r = close(fd);
    line("close", r, "ok", "");
    r = close(fd);
    line("close-again", r, "ok", "");
    r = read(77, area, 1);
    line("read-bad-fd", r, "ok", "");

    fd = open(DIR "/rw/out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    line("create", fd, "ok", "");
    r = write(fd, "hello from the enclave\n", 23);
    line("write", r, "ok", "");
    r = pwrite(fd, "HELLO", 5, 0);
    line("pwrite", r, "ok", "");
    struct iovec iov[2] = {{"vec-one ", 8}, {"vec-two\n", 8}};
    r = writev(fd, iov, 2);
    line("writev", r, "ok", "");
    close(fd);

    FILE *f = fopen(DIR "/in.txt", "r");
    text[0] = 0;
    if (f && fgets(text, sizeof text, f))
        text[strcspn(text, "\n")] = 0;
    line("fgets", f ? (long)strlen(text) : -1L, "ok", text);
    if (f)
        fclose(f);
    f = fopen(DIR "/rw/log.txt", "w");
    if (f) {
        fprintf(f, "stdio %d\n", 42);
        r = fclose(f);
    } else {
        r = -1;
    }
    line("fprintf", r, "ok", "");

    fd = open(DIR "/in.txt", O_RDONLY);
    char a[4], b[6];
    struct iovec riov[2] = {{a, sizeof a}, {b, sizeof b}};
    r = readv(fd, riov, 2);
    snprintf(text, sizeof text, "data=%.4s%.6s", a, b);
    line("readv", r, "ok", text);
    close(fd);

    /* Cost: 4 KiB pread and pwrite on one file, and a plain ocall. */
    fd = open(DIR "/rw/bench.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(area, 'b', 4096);
    if (pwrite(fd, area, 4096, 0) != 4096) {
        line("bench", -1, "ok", "");
        return 1;
    }
    unsigned long t0 = instret();
    for (int i = 0; i < ROUNDS; i++)
        if (pread(fd, area, 4096, 0) != 4096)
            return 2;
    unsigned long t1 = instret();
    for (int i = 0; i < ROUNDS; i++)
        if (pwrite(fd, area, 4096, 0) != 4096)
            return 3;
    unsigned long t2 = instret();
    for (int i = 0; i < ROUNDS; i++)
        if (syscall(OCALL, OCALL_NOP, 0, 0, 0, 0) != 0)
            return 4;
    unsigned long t3 = instret();
    close(fd);
    printf("files: bench rounds=%d pread4k=%lu pwrite4k=%lu ocall=%lu\n", ROUNDS,
           (t1 - t0) / ROUNDS, (t2 - t1) / ROUNDS, (t3 - t2) / ROUNDS);
    return 0;
}
