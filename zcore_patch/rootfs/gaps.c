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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

/* posix_spawn (Rust's Command) of /bin/hello with its stdout on a pipe: the parent
 * reads the pipe to its end, then waitpid reports exit 0. With `blocking` the parent
 * waits inside read (as Rust's wait_with_output does) while the child execs: the pipe's
 * open file description is shared by both (patch 0021). Else each wait gives up after
 * 10 s and says where it stopped. */
static int spawn_and_read(const char *name, int blocking) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        printf("gaps: %s FAIL pipe2 errno=%d\n", name, errno);
        return 0;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    char *argv[] = {"/bin/hello", "spawned", "1", 0};
    pid_t pid = -1;
    /* As Rust's Command sets them: an empty signal mask, SIGPIPE to its default. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t set;
    sigemptyset(&set);
    posix_spawnattr_setsigmask(&attr, &set);
    sigaddset(&set, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &set);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int r = posix_spawn(&pid, "/bin/hello", &fa, &attr, argv, environ);
    close(fds[1]);
    if (r != 0) {
        printf("gaps: %s FAIL posix_spawn=%d\n", name, r);
        return 0;
    }
    char buf[512];
    size_t got = 0;
    int eof = 0;
    for (int waited = 0; !eof && waited < 1000;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (!blocking && poll(&p, 1, 10) == 0) {
            waited++;
            continue;
        }
        ssize_t n = read(fds[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            eof = 1;
        else
            got += (size_t)n;
    }
    buf[got] = 0;
    int status = -1;
    pid_t w = 0;
    int werr = 0;
    for (int waited = 0; w == 0 && waited < 1000; waited++) {
        w = waitpid(pid, &status, WNOHANG);
        werr = w < 0 ? errno : 0;
        if (w == 0)
            usleep(10000);
    }
    int ok = eof && strstr(buf, "zcore-hello: done") && w == pid && WIFEXITED(status) &&
             WEXITSTATUS(status) == 0;
    printf("gaps: %s %s eof=%d bytes=%zu waitpid=%d(child %d) errno=%d status=%#x\n", name,
           ok ? "ok" : "FAIL", eof, got, w, pid, werr, status);
    close(fds[0]);
    return 0;
}

static int check_spawn(void) { return spawn_and_read("spawn", 0); }
static int check_spawnread(void) { return spawn_and_read("spawnread", 1); }

/* /proc/self/exe names the running program, the root process's too (patch 0022):
 * Rust's current_exe, a program starting itself again. */
static int check_exe(void) {
    char buf[256];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("gaps: exe %s readlink=%zd path=%s\n", n > 0 && !strcmp(buf, "/bin/gaps") ? "ok" : "FAIL",
           n, buf);
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

/* Two threads take turns (a futex ping-pong), each keeping four doubles in
 * registers (callee-saved fs registers) across its futex calls: the other thread's
 * computation on the same hart must not change them. */
static uint32_t fp_turn;

static void fp_pass(uint32_t me) {
    while (__atomic_load_n(&fp_turn, __ATOMIC_ACQUIRE) != me)
        futex(&fp_turn, FUTEX_WAIT_PRIVATE, me ^ 1, NULL, 0);
}

static void fp_give(uint32_t other) {
    __atomic_store_n(&fp_turn, other, __ATOMIC_RELEASE);
    futex(&fp_turn, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
}

static double fp_work(double seed, int me) {
    double a = seed, b = seed * 0.5, c = seed + 3.0, d = seed - 7.0;
    for (int i = 0; i < 200; i++) {
        if (me >= 0)
            fp_pass(me);
        a = a * 1.000001 + b;
        b = b * 0.999999 + c * 1e-3;
        c = c * 1.0000003 - d * 1e-4;
        d = d * 0.9999997 + a * 1e-6;
        if (me >= 0)
            fp_give(me ^ 1);
    }
    return a + b + c + d;
}

static void *fp_thread(void *arg) {
    double *v = arg;
    *v = fp_work(*v, 1);
    return NULL;
}

/* Each thread's result equals the same computation's in one thread alone. */
static int check_fp(void) {
    double want1 = fp_work(1.25, -1), want0 = fp_work(-3.5, -1);
    double v1 = 1.25;
    pthread_t t;
    fp_turn = 0;
    int r = pthread_create(&t, NULL, fp_thread, &v1);
    double v0 = fp_work(-3.5, 0);
    pthread_join(t, NULL);
    printf("gaps: fp %s create=%d same=%d %d\n", !r && v0 == want0 && v1 == want1 ? "ok" : "FAIL",
           r, v0 == want0, v1 == want1);
    return 0;
}

/* brk moves the program break: the heap grows with zeroed, writable pages, shrinks, refuses
 * what it cannot give (glibc: ENOMEM, the break unchanged), and a fork's child has the
 * parent's heap contents and a break of its own. */
static int check_brk(void) {
    const long mib = 1 << 20;
    char *b0 = sbrk(0);
    char *p = sbrk(mib);
    int grew = b0 != (char *)-1 && p == b0 && sbrk(0) == b0 + mib;
    int zero = grew;
    for (long i = 0; grew && i < mib; i += 4096)
        zero &= p[i] == 0;
    if (grew)
        memset(p, 0x5a, mib);
    int shrunk = grew && brk(b0 + mib / 2) == 0 && sbrk(0) == b0 + mib / 2;
    errno = 0;
    int refused = sbrk(1L << 40) == (void *)-1 && errno == ENOMEM && sbrk(0) == b0 + mib / 2;
    /* the first whole page the shrink gave back: zeroed when the child's heap grows again */
    char *freed = (char *)(((unsigned long)(b0 + mib / 2) + 4095) & ~4095UL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(grew && p[100] == 0x5a && sbrk(0) == b0 + mib / 2 && sbrk(mib) != (void *)-1 &&
                      freed[8] == 0
                  ? 0
                  : 1);
    int st = -1;
    waitpid(pid, &st, 0);
    int child = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    int own = sbrk(0) == b0 + mib / 2;
    printf("gaps: brk %s grew=%d zero=%d shrunk=%d refused=%d child=%d own=%d\n",
           grew && zero && shrunk && refused && child && own ? "ok" : "FAIL", grew, zero, shrunk,
           refused, child, own);
    return 0;
}

/* A fork's child starts with its parent's FP registers: a callee-saved one (fs0) live across
 * fork() and the rounding mode (fcsr.frm, here round-up), as clone copies them on Linux. */
static int check_forkfp(void) {
    unsigned long up = 3, mode = 0; /* RUP */
    __asm__ volatile("fsrm %0" ::"r"(up));
    register double keep __asm__("fs0") = 3.25;
    __asm__ volatile("" : "+f"(keep));
    pid_t pid = fork();
    __asm__ volatile("" : "+f"(keep));
    __asm__ volatile("frrm %0" : "=r"(mode));
    if (pid == 0)
        _exit((keep == 3.25 ? 0 : 1) | (mode == up ? 0 : 2));
    __asm__ volatile("fsrm zero");
    int st = -1;
    waitpid(pid, &st, 0);
    int code = pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    printf("gaps: forkfp %s child fs0=%s frm=%s\n", code == 0 ? "ok" : "FAIL",
           code < 0 ? "?" : code & 1 ? "lost" : "kept", code < 0 ? "?" : code & 2 ? "lost" : "kept");
    return 0;
}

/* How a child ended, as its parent's waitpid reads it: "exit N", "signal N" or "other". */
static const char *ended(pid_t pid, char *buf, size_t len) {
    int st = -1;
    if (pid <= 0 || waitpid(pid, &st, 0) != pid)
        snprintf(buf, len, "other(pid=%d errno=%d)", (int)pid, errno);
    else if (WIFEXITED(st))
        snprintf(buf, len, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "other(status=%#x)", st);
    return buf;
}

/* A signal's default action ends the process and its parent sees the signal (WIFSIGNALED):
 * abort() (SIGABRT, a Rust panic's end), SIGKILL and SIGTERM from the parent; an ignored
 * SIGTERM and a default-ignored SIGCHLD do not end it; exit(-1) is status 255. */
static int check_signals(void) {
    char a[48], k[48], t[48], i[48], c[48], e[48];
    pid_t pid = fork();
    if (pid == 0)
        abort();
    ended(pid, a, sizeof a);
    int go[2];
    char x = 0;
    pid = pipe(go) ? -1 : fork();
    if (pid == 0) {
        close(go[0]);
        if (write(go[1], &x, 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    if (pid > 0 && read(go[0], &x, 1) == 1)
        kill(pid, SIGKILL);
    ended(pid, k, sizeof k);
    pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGTERM);
        _exit(4); /* not reached: SIGTERM ends it first */
    }
    ended(pid, t, sizeof t);
    pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_IGN);
        kill(getpid(), SIGTERM);
        kill(getpid(), SIGCHLD);
        _exit(5);
    }
    ended(pid, i, sizeof i);
    pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGCHLD);
        _exit(6);
    }
    ended(pid, c, sizeof c);
    pid = fork();
    if (pid == 0)
        exit(-1);
    ended(pid, e, sizeof e);
    int ok = !strcmp(a, "signal 6") && !strcmp(k, "signal 9") && !strcmp(t, "signal 15") &&
             !strcmp(i, "exit 5") && !strcmp(c, "exit 6") && !strcmp(e, "exit 255");
    printf("gaps: signals %s abort=%s kill=%s term=%s ignored=%s chld=%s exit-1=%s\n",
           ok ? "ok" : "FAIL", a, k, t, i, c, e);
    return 0;
}

/* sched_getaffinity names every hart (glibc's CPU_COUNT, Rust's available_parallelism). */
static int check_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int r = sched_getaffinity(0, sizeof set, &set);
    printf("gaps: cpus %s affinity=%d count=%d\n", r == 0 && CPU_COUNT(&set) > 0 ? "ok" : "FAIL", r,
           CPU_COUNT(&set));
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(void);
} CHECKS[] = {
    {"enosys", check_enosys}, {"fstat", check_fstat}, {"wait", check_wait},
    {"thread", check_thread}, {"sleep", check_sleep},
    {"futex", check_futex}, {"fp", check_fp}, {"spawn", check_spawn},
    {"spawnread", check_spawnread}, {"exe", check_exe}, {"brk", check_brk},
    {"forkfp", check_forkfp}, {"signals", check_signals},
    {"cpus", check_cpus}, /* last: the other harts have long started by now */
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
