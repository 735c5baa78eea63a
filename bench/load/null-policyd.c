/*
 * null-policyd.c - a policy "server" that answers every request with DUNNO at
 * once, on stdin/stdout. bench/run measures the load driver against it at
 * 16 clients (the "driver ceiling" line): the driver must be far faster than
 * any contender for the figures to describe the contenders.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[65536];
	size_t len = 0;
	ssize_t r;
	int nl = 0;

	while ((r = read(0, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				nl = 0;
				continue;
			}
			if (++nl == 2) {	/* an empty line ends a request */
				if (write(1, "action=DUNNO\n\n", 14) != 14)
					return 1;
				nl = 0;
			}
		}
		len += (size_t)r;
	}
	return len > 0 ? 0 : 1;
}
