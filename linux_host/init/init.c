/*
 * /init of the test initramfs: mounts the pseudo filesystems, reports the
 * CPUs Linux brought online, then serves a line-oriented prompt on the console
 * that keystone_py drives. Commands (one per line):
 *
 *   cpus               "cpus online: N"
 *   time               "time: T" (the time CSR, 10 MHz) or "time: unreadable ..."
 *   peek ADDR          map physical ADDR through /dev/mem in a child and read
 *                      8 bytes: "peek ADDR: value 0x..." or "peek ADDR: fault (signal N)"
 *   run PROG [ARGS...] run a program: "exit status N" or "killed by signal N"
 *   sleep MS           on each online CPU in turn, sleep MS ms: "sleep cpu N:
 *                      MS ms, time +T, monotonic +M ns" (time CSR ticks and
 *                      CLOCK_MONOTONIC across the sleep)
 *   echo TEXT          print TEXT
 *   poweroff           power the machine off through the SBI
 *
 * The kernel command line option ks.script=CMD,CMD,... runs commands without
 * a prompt ('+' stands for a space), e.g. ks.script=cpus,poweroff.
 *
 * Before the marker, every kernel module in /lib/modules (the enclave driver,
 * keystone-driver.ko) is loaded with finit_module(2):
 * "init: loaded NAME" or "init: cannot load NAME: REASON". As modprobe does,
 * kernel command line options MODULE.PARAM=VALUE become the module's
 * parameters (MODULE with '_' for '-', e.g. keystone_driver.keystone_mmap=page):
 * "init: loaded NAME (PARAMS)".
 *
 * The loopback device is brought up (the kernel gives it 127.0.0.1) when the
 * kernel has networking; a failure is reported as "init: lo: REASON".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROMPT "ks> "

static void mount_or_warn(const char *src, const char *dst, const char *type)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, NULL) != 0 && errno != EBUSY)
		printf("init: mount %s on %s failed: %s\n", type, dst, strerror(errno));
}

#define MODULE_DIR "/lib/modules"

/* The parameters the kernel command line gives module FILE (NAME.ko):
 * every MODULE.PARAM=VALUE option whose MODULE is NAME with '-' read as '_',
 * as "PARAM=VALUE ..." in out (empty when none). */
/* Brings the loopback device up, for the enclaves' proxied sockets. */
static void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		if (errno != ENOSYS && errno != EAFNOSUPPORT)
			printf("init: lo: %s\n", strerror(errno));
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) != 0))
		printf("init: lo: %s\n", strerror(errno));
	close(fd);
}

static void module_params(const char *file, char *out, size_t size)
{
	char name[128], cmdline[4096];
	size_t n = strlen(file) - 3, used = 0;
	FILE *f = fopen("/proc/cmdline", "r");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(cmdline, sizeof(cmdline), f))
		cmdline[0] = '\0';
	fclose(f);
	if (n >= sizeof(name) - 1)
		return;
	for (size_t i = 0; i < n; i++)
		name[i] = file[i] == '-' ? '_' : file[i];
	name[n] = '.';
	name[n + 1] = '\0';
	for (char *save, *tok = strtok_r(cmdline, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		for (char *c = tok; *c && *c != '.' && *c != '='; c++)
			if (*c == '-')
				*c = '_';
		if (strncmp(tok, name, n + 1) != 0 || !tok[n + 1])
			continue;
		int w = snprintf(out + used, size - used, "%s%s", used ? " " : "", tok + n + 1);
		if (w < 0 || (size_t)w >= size - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
}

/* Loads every *.ko in MODULE_DIR, in name order. */
static void load_modules(void)
{
	struct dirent **names;
	int n = scandir(MODULE_DIR, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char path[512];
		int fd;

		if (len > 3 && strcmp(name + len - 3, ".ko") == 0) {
			char params[1024];

			module_params(name, params, sizeof(params));
			snprintf(path, sizeof(path), "%s/%s", MODULE_DIR, name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || syscall(SYS_finit_module, fd, params, 0) != 0)
				printf("init: cannot load %s: %s\n", name, strerror(errno));
			else if (params[0])
				printf("init: loaded %s (%s)\n", name, params);
			else
				printf("init: loaded %s\n", name);
			if (fd >= 0)
				close(fd);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static long cpus_online(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

/* The hart's time CSR (10 MHz on QEMU virt): under -icount it is a
 * deterministic clock, so "booted at" figures compare across firmware.
 * U-mode reads it only when both mcounteren.TM (firmware) and scounteren.TM
 * allow it; otherwise rdtime traps and the kernel sends SIGILL. /init then
 * says so instead of dying (which would panic the kernel). */
static sigjmp_buf rdtime_trap;

static void on_sigill(int sig)
{
	siglongjmp(rdtime_trap, sig);
}

static int rdtime(unsigned long long *t)
{
	struct sigaction sa = { .sa_handler = on_sigill }, old;
	int ok = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, &old);
	if (sigsetjmp(rdtime_trap, 1) == 0) {
		__asm__ volatile("rdtime %0" : "=r"(*t));
		ok = 1;
	}
	sigaction(SIGILL, &old, NULL);
	return ok;
}

static void print_ready(void)
{
	unsigned long long t;

	if (rdtime(&t))
		printf("keystone-init: ready, %ld cpus online, time %llu\n", cpus_online(), t);
	else
		printf("keystone-init: ready, %ld cpus online, time unreadable "
		       "(rdtime trapped: SIGILL; scounteren/mcounteren.TM clear)\n", cpus_online());
}


static int wait_report(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) < 0) {
		printf("%s: wait failed: %s\n", what, strerror(errno));
		return -1;
	}
	if (WIFEXITED(status))
		printf("%s: exit status %d\n", what, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("%s: killed by signal %d\n", what, WTERMSIG(status));
	return status;
}

static void peek(const char *arg)
{
	char *end;
	unsigned long long addr = strtoull(arg, &end, 0);
	pid_t pid;
	int status;

	if (*arg == '\0' || *end != '\0') {
		printf("peek: bad address '%s' (use e.g. peek 0x80000000)\n", arg);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		long page = sysconf(_SC_PAGESIZE);
		int fd = open("/dev/mem", O_RDONLY | O_SYNC);
		volatile uint64_t *p;
		void *map;

		if (fd < 0) {
			printf("peek %s: cannot open /dev/mem: %s\n", arg, strerror(errno));
			_exit(2);
		}
		map = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, addr & ~(page - 1));
		if (map == MAP_FAILED) {
			printf("peek %s: mmap refused: %s\n", arg, strerror(errno));
			_exit(3);
		}
		p = (volatile uint64_t *)((char *)map + (addr & (page - 1)));
		printf("peek %s: value 0x%016llx\n", arg, (unsigned long long)*p);
		_exit(0);
	}
	if (pid < 0) {
		printf("peek: fork failed: %s\n", strerror(errno));
		return;
	}
	if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
		printf("peek %s: fault (signal %d)\n", arg, WTERMSIG(status));
}

/* sleep MS: the kernel's timers and clock on every CPU, counted against the
 * time CSR (the CLINT's mtime, which only M-mode touches). The readings nest
 * (time, monotonic, sleep, monotonic, time), so the monotonic delta can only
 * exceed T ticks' worth if the kernel's clock ran ahead of mtime. */
static void sleep_each_cpu(const char *arg)
{
	char *end;
	long ms = strtol(arg, &end, 0);
	cpu_set_t all, one;

	if (*arg == '\0' || *end != '\0' || ms <= 0 || ms > 10000) {
		printf("sleep: bad duration '%s' (use e.g. sleep 100, at most 10000 ms)\n", arg);
		return;
	}
	if (sched_getaffinity(0, sizeof(all), &all) != 0) {
		printf("sleep: sched_getaffinity: %s\n", strerror(errno));
		return;
	}
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		struct timespec m0, m1, left = { ms / 1000, (ms % 1000) * 1000000L };
		unsigned long long t0, t1;
		long long ns;

		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0) {
			printf("sleep cpu %d: cannot pin: %s\n", cpu, strerror(errno));
			continue;
		}
		if (!rdtime(&t0)) {
			printf("sleep: time unreadable (rdtime trapped: SIGILL)\n");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &m0);
		while (nanosleep(&left, &left) != 0 && errno == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &m1);
		rdtime(&t1);
		ns = (m1.tv_sec - m0.tv_sec) * 1000000000LL + (m1.tv_nsec - m0.tv_nsec);
		printf("sleep cpu %d: %ld ms, time +%llu, monotonic +%lld ns\n", sched_getcpu(), ms,
		       t1 - t0, ns);
	}
	sched_setaffinity(0, sizeof(all), &all);
}

static void run(char *line)
{
	char *argv[32];
	int argc = 0;
	pid_t pid;

	for (char *tok = strtok(line, " \t"); tok && argc < 31; tok = strtok(NULL, " \t"))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (argc == 0) {
		printf("run: missing program (use: run PROG [ARGS...])\n");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		printf("run: cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		printf("run: fork failed: %s\n", strerror(errno));
		return;
	}
	wait_report(pid, argv[0]);
}

static void command(char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	while (*line == ' ')
		line++;
	if (*line == '\0')
		return;
	if (strcmp(line, "cpus") == 0)
		printf("cpus online: %ld\n", cpus_online());
	else if (strcmp(line, "time") == 0) {
		unsigned long long t;

		if (rdtime(&t))
			printf("time: %llu\n", t);
		else
			printf("time: unreadable (rdtime trapped: SIGILL)\n");
	} else if (strncmp(line, "peek ", 5) == 0)
		peek(line + 5);
	else if (strncmp(line, "run ", 4) == 0)
		run(line + 4);
	else if (strncmp(line, "sleep ", 6) == 0)
		sleep_each_cpu(line + 6);
	else if (strncmp(line, "echo ", 5) == 0)
		printf("%s\n", line + 5);
	else if (strcmp(line, "poweroff") == 0) {
		printf("init: powering off\n");
		fflush(stdout);
		sync();
		reboot(RB_POWER_OFF);
		printf("init: poweroff failed: %s\n", strerror(errno));
	} else
		printf("init: unknown command '%s' (cpus, time, peek ADDR, run PROG, sleep MS, echo TEXT, poweroff)\n",
		       line);
	fflush(stdout);
}

static void run_script(void)
{
	char cmdline[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");
	char *script, *cmd, *save;

	if (!f)
		return;
	if (!fgets(cmdline, sizeof(cmdline), f))
		cmdline[0] = '\0';
	fclose(f);
	script = strstr(cmdline, "ks.script=");
	if (!script)
		return;
	script += strlen("ks.script=");
	script[strcspn(script, " \n")] = '\0';
	for (cmd = strtok_r(script, ",", &save); cmd; cmd = strtok_r(NULL, ",", &save)) {
		for (char *c = cmd; *c; c++)
			if (*c == '+')
				*c = ' ';
		command(cmd);
	}
}

int main(void)
{
	char line[1024];

	mount_or_warn("proc", "/proc", "proc");
	mount_or_warn("sysfs", "/sys", "sysfs");
	mount_or_warn("devtmpfs", "/dev", "devtmpfs");
	setvbuf(stdout, NULL, _IOLBF, 0);
	load_modules();
	loopback_up();
	print_ready();
	run_script();
	for (;;) {
		printf(PROMPT);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin)) {
			sleep(1);
			continue;
		}
		command(line);
	}
}
