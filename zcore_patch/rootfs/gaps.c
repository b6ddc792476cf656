/* The zCore gaps the host programs hit, one check a line (`gaps: NAME ok ...` or
 * `gaps: NAME FAIL ...`), each run in its own child process where the gap could kill
 * the caller, so one gap does not hide the next. `gaps CHECK...` runs the named checks,
 * `gaps` all of them, then prints `gaps: done`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYS_UNKNOWN 1000 /* no riscv64 Linux system call has this number */

/* An unknown system call answers ENOSYS and the caller goes on. */
static int check_enosys(void) {
    long r = syscall(SYS_UNKNOWN, 1, 2, 3);
    int e = errno;
    long s = syscall(SYS_statx, -100, "/", 0, 0x7ff, (void *)0);
    int es = errno;
    printf("gaps: enosys %s unknown=%ld errno=%d statx=%ld errno=%d\n",
           r == -1 && e == ENOSYS ? "ok" : "FAIL", r, e, s, es);
    return 0;
}

/* glibc's fstat is fstatat(fd, "", AT_EMPTY_PATH): it must describe fd itself. */
static int check_fstat(void) {
    struct stat st;
    int r = fstat(1, &st);
    int e = errno;
    int r2 = fstatat(AT_FDCWD, "/bin", &st, 0);
    printf("gaps: fstat %s fstat(1)=%d errno=%d fstatat(/bin)=%d isdir=%d\n",
           r == 0 && r2 == 0 && S_ISDIR(st.st_mode) ? "ok" : "FAIL", r, e, r2,
           r2 == 0 && S_ISDIR(st.st_mode));
    return 0;
}

/* fork, the child exits with 7, waitpid's status says exited with 7. */
static int check_wait(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    if (pid < 0) {
        printf("gaps: wait FAIL fork errno=%d\n", errno);
        return 0;
    }
    int status = -1;
    pid_t w = waitpid(pid, &status, 0);
    printf("gaps: wait %s waitpid=%d(child %d) status=%#x exited=%d code=%d\n",
           w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7 ? "ok" : "FAIL", w, pid,
           status, WIFEXITED(status), WEXITSTATUS(status));
    return 0;
}

static void *thread_main(void *arg) {
    *(int *)arg += 41;
    return arg;
}

/* pthread_create's clone flags make a thread; join sees its result. */
static int check_thread(void) {
    int value = 1;
    pthread_t t;
    void *ret = NULL;
    int r = pthread_create(&t, NULL, thread_main, &value);
    int j = r == 0 ? pthread_join(t, &ret) : -1;
    printf("gaps: thread %s create=%d join=%d value=%d\n",
           r == 0 && j == 0 && ret == &value && value == 42 ? "ok" : "FAIL", r, j, value);
    return 0;
}

static long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

/* Three 5 ms sleeps, each measured with CLOCK_MONOTONIC: none ends early, none
 * waits for a far timer tick (zCore's tick is 1 s). */
static int check_sleep(void) {
    long took[3], worst = 0;
    int early = 0;
    for (int i = 0; i < 3; i++) {
        struct timespec d = {0, 5000000};
        long a = now_us();
        nanosleep(&d, NULL);
        took[i] = now_us() - a;
        early |= took[i] < 5000;
        worst = took[i] > worst ? took[i] : worst;
    }
    printf("gaps: sleep %s 5000us took %ld %ld %ld us\n", !early && worst < 20000 ? "ok" : "FAIL",
           took[0], took[1], took[2]);
    return 0;
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *t, uint32_t val3) {
    return syscall(SYS_futex, word, op, val, t, NULL, val3);
}

/* Waits that must block until their timeout (10 ms): FUTEX_WAIT with a relative
 * timeout and FUTEX_WAIT_BITSET (glibc's waits) with an absolute one, shared and
 * private; a wait on a changed value answers EAGAIN at once. */
static int check_futex(void) {
    static uint32_t word;
    const int ops[] = {FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAIT | FUTEX_PRIVATE_FLAG,
                       FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG};
    long took[4];
    int errs[4], bad = 0;
    for (int i = 0; i < 4; i++) {
        struct timespec t = {0, 10000000}, now;
        if (ops[i] & FUTEX_WAIT_BITSET) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            t.tv_sec = now.tv_sec + (now.tv_nsec + 10000000) / 1000000000;
            t.tv_nsec = (now.tv_nsec + 10000000) % 1000000000;
        }
        long a = now_us();
        long r = futex(&word, ops[i], 0, &t, FUTEX_BITSET_MATCH_ANY);
        errs[i] = r == -1 ? errno : 0;
        took[i] = now_us() - a;
        bad |= r != -1 || errs[i] != ETIMEDOUT || took[i] < 10000;
    }
    long r = futex(&word, FUTEX_WAIT_BITSET, 1, NULL, FUTEX_BITSET_MATCH_ANY);
    int again = r == -1 && errno == EAGAIN;
    printf("gaps: futex %s timedout %d %d %d %d after %ld %ld %ld %ld us, changed value %s\n",
           !bad && again ? "ok" : "FAIL", errs[0] == ETIMEDOUT, errs[1] == ETIMEDOUT,
           errs[2] == ETIMEDOUT, errs[3] == ETIMEDOUT, took[0], took[1], took[2], took[3],
           again ? "EAGAIN" : "not EAGAIN");
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(void);
} CHECKS[] = {
    {"enosys", check_enosys}, {"fstat", check_fstat}, {"wait", check_wait},
    {"thread", check_thread}, {"sleep", check_sleep},
    {"futex", check_futex},
};

int main(int argc, char **argv) {
    for (unsigned i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc; a++)
            wanted |= !strcmp(argv[a], CHECKS[i].name);
        if (wanted) {
            fflush(stdout);
            CHECKS[i].fn();
            fflush(stdout);
        }
    }
    printf("gaps: done\n");
    return 0;
}
