/*
 * The references for `verify --mode destructive`: fill a file through one
 * shared mapping, msync, then compare every word.
 *
 *   fill_compare FILE SEED             pmemctl's own pattern (src/verify/
 *                                      pattern.ts, version 2, pass 0: one
 *                                      hash per 64-byte line, word j of it
 *                                      a + j*phi and b ^ w)
 *   fill_compare FILE SEED bandwidth   the memory's limit: a cheap
 *                                      offset-tagged 64-bit word through a
 *                                      MAP_POPULATE mapping, each byte
 *                                      written once and read once
 *
 * Built with -fopenmp: OMP_NUM_THREADS=N splits each loop among N threads
 * (the reference for `verify --jobs N`); 1 is the single-threaded limit.
 *
 * Prints the count of differing words (exit 1 when there are any).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static inline uint32_t fmix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static inline uint64_t pattern(uint64_t w, uint64_t seed)
{
	uint32_t seed_lo = (uint32_t)seed, seed_hi = (uint32_t)(seed >> 32);
	uint64_t line = w / 8;
	uint32_t l_lo = (uint32_t)line, l_hi = (uint32_t)(line >> 32);
	uint32_t a = fmix(l_lo ^ seed_lo ^ (l_hi * 0x27d4eb2fu));
	uint32_t b = fmix((l_lo + 0x9e3779b9u) ^ seed_hi ^ l_hi ^ a);
	uint32_t lo = a + (uint32_t)(w % 8) * 0x9e3779b9u;
	uint32_t hi = b ^ (uint32_t)w;
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t cheap(uint64_t w, uint64_t seed)
{
	uint64_t x = seed ^ w * 8 * 0x9E3779B97F4A7C15ull;
	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	return x ^ (x >> 29);
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "bandwidth"))) {
		fprintf(stderr, "usage: fill_compare FILE SEED [bandwidth]\n");
		return 2;
	}
	int bandwidth = argc == 4;
	uint64_t seed = strtoull(argv[2], NULL, 0);
	int fd = open(argv[1], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 3;
	}
	size_t words = st.st_size / 8;
	uint64_t *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | (bandwidth ? MAP_POPULATE : 0), fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 3;
	}
	/* Each word function inlined into its own loops: no call per word. */
#define FILL(word) \
	_Pragma("omp parallel for schedule(static)") \
	for (size_t w = 0; w < words; w++) p[w] = word(w, seed)
#define COMPARE(word) \
	_Pragma("omp parallel for schedule(static) reduction(+:bad)") \
	for (size_t w = 0; w < words; w++) bad += p[w] != word(w, seed)
	if (bandwidth)
		FILL(cheap);
	else
		FILL(pattern);
	if (msync(p, st.st_size, MS_SYNC) != 0) {
		perror("msync");
		return 3;
	}
	size_t bad = 0;
	if (bandwidth)
		COMPARE(cheap);
	else
		COMPARE(pattern);
	printf("%zu\n", bad);
	return bad != 0;
}
