/*
 * The memory's limit on this machine, for one thread: how fast memset
 * writes, a plain loop reads and memcpy copies a buffer of the size a
 * bench moves (anonymous memory, populated first, so no page faults are
 * timed). Each figure is the best of REPS runs, in bytes per second.
 *
 *   limit BYTES [REPS [FILE]]
 *
 * prints `memset N`, `read N` and `memcpy N`, and with FILE (a file of at
 * least BYTES, on tmpfs for the page cache's limit) `pwrite N` and
 * `pread N`: the same bytes moved in 16 MiB windows through pwrite(2) and
 * pread(2), the floor of any tool that fills and reads a file through the
 * page cache.
 *
 * Built for the baseline x86-64 (no -march): glibc's memset and memcpy
 * pick their own fastest code for the CPU at run time, and the read loop
 * is what the compiler makes of SSE2.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Four sums so the loads do not wait on one add chain. */
static uint64_t sum(const uint64_t *p, size_t words)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	for (size_t w = 0; w + 4 <= words; w += 4) {
		a += p[w];
		b += p[w + 1];
		c += p[w + 2];
		d += p[w + 3];
	}
	return a ^ b ^ c ^ d;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: limit BYTES [REPS [FILE]]\n");
		return 2;
	}
	size_t bytes = strtoull(argv[1], NULL, 0) & ~(size_t)31;
	int reps = argc >= 3 ? atoi(argv[2]) : 5;
	if (bytes == 0 || reps < 1) {
		fprintf(stderr, "limit: BYTES and REPS must be positive\n");
		return 2;
	}
	uint64_t *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint64_t *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		perror("mmap");
		return 3;
	}
	double set = 1e30, read = 1e30, copy = 1e30;
	volatile uint64_t sink = 0;
	for (int r = 0; r < reps; r++) {
		double t = now();
		memset(a, r + 1, bytes);
		t = now() - t;
		if (t < set)
			set = t;
		t = now();
		sink ^= sum(a, bytes / 8);
		t = now() - t;
		if (t < read)
			read = t;
		t = now();
		memcpy(b, a, bytes);
		t = now() - t;
		if (t < copy)
			copy = t;
		sink ^= b[bytes / 8 - 1];
	}
	printf("memset %.0f\nread %.0f\nmemcpy %.0f\n", bytes / set,
	       bytes / read, bytes / copy);
	if (argc == 4) {
		const size_t window = 16 << 20;
		int fd = open(argv[3], O_RDWR);
		if (fd < 0) {
			perror(argv[3]);
			return 3;
		}
		double put = 1e30, get = 1e30;
		for (int r = 0; r < reps; r++) {
			double t = now();
			for (size_t at = 0; at < bytes; at += window) {
				size_t n = bytes - at < window ? bytes - at : window;
				if (pwrite(fd, (char *)a + at, n, at) != (ssize_t)n) {
					perror("pwrite");
					return 3;
				}
			}
			t = now() - t;
			if (t < put)
				put = t;
			t = now();
			for (size_t at = 0; at < bytes; at += window) {
				size_t n = bytes - at < window ? bytes - at : window;
				if (pread(fd, (char *)b + at, n, at) != (ssize_t)n) {
					perror("pread");
					return 3;
				}
			}
			t = now() - t;
			if (t < get)
				get = t;
		}
		printf("pwrite %.0f\npread %.0f\n", bytes / put, bytes / get);
	}
	return sink == 0x5a5a5a5a5a5a5a5aull;
}
