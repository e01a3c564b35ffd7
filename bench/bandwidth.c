/*
 * The memory's limit for `verify --mode destructive`: fill a file through
 * one MAP_POPULATE shared mapping with a cheap offset-tagged 64-bit word,
 * msync, then compare every word: a byte written once and read once.
 * usage: bandwidth FILE SEED   (prints the count of differing words)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static inline uint64_t word(uint64_t seed, uint64_t off)
{
	uint64_t x = seed ^ off * 0x9E3779B97F4A7C15ull;
	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	return x ^ (x >> 29);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bandwidth FILE SEED\n");
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
	uint64_t *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 3;
	}
	for (size_t w = 0; w < words; w++)
		p[w] = word(seed, w * 8);
	if (msync(p, st.st_size, MS_SYNC) != 0) {
		perror("msync");
		return 3;
	}
	size_t bad = 0;
	for (size_t w = 0; w < words; w++)
		bad += p[w] != word(seed, w * 8);
	printf("%zu\n", bad);
	return bad != 0;
}
