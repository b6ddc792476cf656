/* A Linux program built against musl 1.2.3 (static, riscv64; see
 * keystone_py/build/musl.py) and run as an eapp under `ks-files`
 * (tests/linux/test_musl_program.py). It prints its argv and one variable
 * of its environment, reads a file the host grants read-only (read(2) and
 * stdio), writes one in the read-write folder, uses malloc (small and
 * large) and an anonymous mmap, and returns 7 + argc so the host sees the
 * value main returned. One line "musl: NAME ..." per check. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DIR "/tmp/ksf"

int main(int argc, char **argv)
{
    char buf[128];
    long r;

    printf("musl: argc=%d", argc);
    for (int i = 0; i < argc; i++)
        printf(" argv[%d]=%s", i, argv[i]);
    const char *mode = getenv("MUSL_MODE");
    printf(" MUSL_MODE=%s\n", mode ? mode : "(unset)");

    int fd = open(DIR "/in.txt", O_RDONLY);
    r = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = '|';
    printf("musl: read ret=%ld errno=%d data=%s\n", r, r < 0 ? errno : 0, buf);
    if (fd >= 0)
        close(fd);

    FILE *in = fopen(DIR "/in.txt", "r");
    int lines = 0;
    while (in && fgets(buf, sizeof buf, in))
        lines++;
    printf("musl: fgets lines=%d\n", lines);
    if (in)
        fclose(in);

    fd = open(DIR "/secret", O_RDONLY);
    printf("musl: refused ret=%d errno=%d\n", fd, fd < 0 ? errno : 0);

    FILE *out = fopen(DIR "/rw/musl.txt", "w");
    r = out ? fprintf(out, "written by musl, %d args", argc) : -1;
    printf("musl: fprintf ret=%ld close=%d\n", r, out ? fclose(out) : -1);

    /* Small blocks come from musl's heap (brk, then mmap); 1 MiB is an
     * mmap of its own. */
    size_t sum = 0;
    char *small[64];
    for (int i = 0; i < 64; i++) {
        small[i] = malloc(40 + i);
        if (small[i]) {
            memset(small[i], i, 40 + i);
            sum += (unsigned char)small[i][39];
        }
    }
    for (int i = 0; i < 64; i++)
        free(small[i]);
    char *big = malloc(1 << 20);
    if (big) {
        memset(big, 0x5a, 1 << 20);
        sum += (unsigned char)big[(1 << 20) - 1];
    }
    free(big);
    printf("musl: malloc sum=%zu\n", sum);

    unsigned char *map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    if (map == MAP_FAILED) {
        printf("musl: mmap failed errno=%d\n", errno);
    } else {
        int zero = map[0] == 0 && map[3 * 4096 - 1] == 0;
        map[4096] = 0x42;
        printf("musl: mmap zero=%d byte=%#x unmap=%d\n", zero, map[4096],
               munmap(map, 3 * 4096));
    }
    return 7 + argc;
}
