/*
 * util.c - error reporting and output escaping for the `spfgate` command.
 *
 * Entry points: cli_error(), cli_put_safe(), cli_safe().  Every message is one line on
 * stderr starting with "spfgate: ".  Anything that came from the command line or DNS
 * is printed through cli_put_safe()/cli_safe(), which turn bytes outside printable
 * ASCII into \xHH so no escape sequence or line break reaches the terminal or a log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("spfgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char hex[] = "0123456789abcdef";

static bool printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

void cli_put_safe(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (printable(*p)) {
			fputc(*p, f);
		} else {
			fputc('\\', f);
			fputc('x', f);
			fputc(hex[*p >> 4], f);
			fputc(hex[*p & 15], f);
		}
	}
}

const char *cli_safe(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap < 8) {
		if (cap > 0)
			buf[0] = '\0';
		return buf;
	}
	if (s == NULL)
		s = "";
	/* Room is kept for "..." and the NUL: stop once a character would not fit. */
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		size_t w = printable(*p) ? 1 : 4;
		if (w > cap - 4 - n) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		if (w == 1) {
			buf[n++] = (char)*p;
		} else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	buf[n] = '\0';
	return buf;
}
