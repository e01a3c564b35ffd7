/*
 * The reference for `verify --mode destructive`: fill a file through one
 * shared mapping with the same 64-bit offset-tagged pattern pmemctl uses
 * (src/verify/pattern.ts, version 2, pass 0: one hash per 64-byte line,
 * word j of it a + j*phi and b ^ w), msync, then compare every word.
 * usage: fill_compare FILE SEED   (prints the count of differing words)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static inline uint64_t pattern(uint64_t w, uint32_t seed_lo, uint32_t seed_hi)
{
	uint64_t line = w / 8;
	uint32_t l_lo = (uint32_t)line, l_hi = (uint32_t)(line >> 32);
	uint32_t a = fmix(l_lo ^ seed_lo ^ (l_hi * 0x27d4eb2fu));
	uint32_t b = fmix((l_lo + 0x9e3779b9u) ^ seed_hi ^ l_hi ^ a);
	uint32_t lo = a + (uint32_t)(w % 8) * 0x9e3779b9u;
	uint32_t hi = b ^ (uint32_t)w;
	return (uint64_t)hi << 32 | lo;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fill_compare FILE SEED\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[2], NULL, 0);
	int fd = open(argv[1], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 3;
	}
	size_t words = st.st_size / 8;
	uint64_t *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 3;
	}
	uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32);
	for (size_t w = 0; w < words; w++)
		p[w] = pattern(w, lo, hi);
	if (msync(p, st.st_size, MS_SYNC) != 0) {
		perror("msync");
		return 3;
	}
	size_t bad = 0;
	for (size_t w = 0; w < words; w++)
		bad += p[w] != pattern(w, lo, hi);
	printf("%zu\n", bad);
	return bad != 0;
}
