/* The root image's smoke test: a statically linked glibc program that zCore runs as its
 * root process (ROOTPROC=/bin/hello?ARG...). It echoes its arguments, computes from them
 * and prints a word from the environment, so a test sees that zCore loaded it, passed
 * argv/envp and ran its code (glibc's start-up also needs AT_RANDOM: patch 0005). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long fib(unsigned n) {
    unsigned long a = 0, b = 1;
    while (n--) {
        unsigned long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv) {
    printf("zcore-hello: argc=%d", argc);
    for (int i = 1; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\n");
    for (int i = 1; i < argc; i++) {
        char *end;
        unsigned long n = strtoul(argv[i], &end, 10);
        if (*argv[i] && !*end && n <= 90)
            printf("zcore-hello: fib(%lu)=%lu\n", n, fib((unsigned)n));
    }
    char *buf = malloc(1 << 20);
    if (!buf) {
        printf("zcore-hello: malloc failed\n");
        return 1;
    }
    memset(buf, 0x5a, 1 << 20);
    unsigned long sum = 0;
    for (int i = 0; i < (1 << 20); i += 4096)
        sum += (unsigned char)buf[i];
    printf("zcore-hello: heap ok, sum=%lu\n", sum);
    free(buf);
    printf("zcore-hello: done\n");
    return 0;
}
