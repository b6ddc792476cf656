/* A Linux program run as an eapp (static glibc) that uses the path calls
 * the runtime proxies (docs/runtime.md, "Files"): stat by path, getdents64
 * (opendir/readdir and the raw call), unlinkat, renameat, ftruncate and
 * fcntl, each decided by the host's FilePolicy. The host `ks-files --setup
 * DIR --ro DIR/in.txt --rw DIR/rw` grants in.txt read-only and rw/ read-
 * write; DIR itself and DIR/secret are not granted. Each check prints
 * "paths: NAME ret=R errno=E canary=ok|BAD [extra]"; the raw getdents64
 * buffer is surrounded by canary bytes a runtime believing a lying host
 * would overwrite. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DIR_ "/tmp/ksp"
#define CANARY 0xA5

static unsigned char area[3 * 4096];

static void line(const char *name, long ret, const char *extra)
{
    int can = 1;
    for (size_t i = 0; i < 4096; i++)
        can &= area[i] == CANARY && area[2 * 4096 + i] == CANARY;
    printf("paths: %s ret=%ld errno=%d canary=%s %s\n", name, ret, ret < 0 ? errno : 0,
           can ? "ok" : "BAD", extra);
}

static long put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    long r = write(fd, text, strlen(text));
    close(fd);
    return r;
}

int main(void)
{
    char extra[256];
    struct stat st;
    long r;
    memset(area, CANARY, sizeof area);

    r = stat(DIR_ "/in.txt", &st);
    snprintf(extra, sizeof extra, "size=%ld", r == 0 ? (long)st.st_size : -1L);
    line("stat", r, extra);
    line("stat-refused", stat(DIR_ "/secret", &st), "");
    line("stat-missing", stat(DIR_ "/rw/none", &st), "");

    put(DIR_ "/rw/a", "abc");
    put(DIR_ "/rw/b", "bee");

    /* The raw call into the middle page of area: the host's records,
     * checked; then the names through readdir. */
    int d = open(DIR_ "/rw", O_RDONLY | O_DIRECTORY);
    r = syscall(SYS_getdents64, d, area + 4096, 4096);
    snprintf(extra, sizeof extra, "reclen0=%d", r > 0 ? *(unsigned short *)(area + 4096 + 16) : -1);
    line("getdents64", r, r > 0 ? "" : extra);
    memset(area, CANARY, sizeof area);
    close(d);
    DIR *dir = opendir(DIR_ "/rw");
    extra[0] = 0;
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            strncat(extra, e->d_name, sizeof extra - strlen(extra) - 2);
            strcat(extra, ",");
        }
        closedir(dir);
    }
    line("readdir", dir ? 0 : -1, extra);
    dir = opendir(DIR_);
    line("readdir-refused", dir ? 0 : -1, "");

    int fd = open(DIR_ "/rw/a", O_RDWR);
    r = ftruncate(fd, 1);
    fstat(fd, &st);
    snprintf(extra, sizeof extra, "size=%ld", (long)st.st_size);
    line("ftruncate", r, extra);
    int ro = open(DIR_ "/in.txt", O_RDONLY);
    line("ftruncate-read-only", ftruncate(ro, 0), "");
    close(ro);

    line("getfd", fcntl(fd, F_GETFD), "");
    line("setfd", fcntl(fd, F_SETFD, FD_CLOEXEC), "");
    line("getfd-cloexec", fcntl(fd, F_GETFD), "");
    line("getfl", fcntl(fd, F_GETFL) & O_ACCMODE, "");
    int dup = fcntl(fd, F_DUPFD, 10);
    line("dupfd", dup, "");
    r = pwrite(dup, "Z", 1, 1);
    char two[3] = {0};
    r = r == 1 ? pread(fd, two, 2, 0) : -1;
    snprintf(extra, sizeof extra, "data=%s", r > 0 ? two : "");
    line("dup-shares-the-file", r, extra);
    int dup2 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    line("dupfd-cloexec", fcntl(dup2, F_GETFD), "");
    close(dup2);
    close(fd);
    close(dup);

    line("rename", rename(DIR_ "/rw/b", DIR_ "/rw/c"), "");
    line("rename-out", rename(DIR_ "/rw/c", DIR_ "/c"), "");
    line("rename-read-only", rename(DIR_ "/in.txt", DIR_ "/rw/in.txt"), "");
    line("unlink", unlink(DIR_ "/rw/c"), "");
    line("unlink-read-only", unlink(DIR_ "/in.txt"), "");
    line("unlink-refused", unlink(DIR_ "/secret"), "");
    r = stat(DIR_ "/rw/c", &st);
    line("unlinked", r, "");
    return 0;
}
