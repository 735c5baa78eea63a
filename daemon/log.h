/*
 * log.h - logging for spfgated: syslog's mail facility or stderr.
 *
 * Levels (the "debug" setting, as IMSVA admins know them):
 *	0  errors and warnings only (log_warn, log_warnx: always written)
 *	1  one line per decision (log_info)
 *	2  plus the record and the term that decided (log_debug)
 *	3  plus the whole evaluation trace (log_trace)
 *
 * Every string that came from the network or DNS must go through log_escape() (or
 * struct esc) before it is logged: the log line is then printable ASCII, capped.
 */
#ifndef SPFGATED_LOG_H
#define SPFGATED_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_ESC_MAX 256 /* bytes of a logged network string, before escaping */

/* Sets the destination and level.  ident is the syslog tag. */
void log_init(const char *ident, bool to_stderr, int level);
void log_setlevel(int level);
int log_getlevel(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Escapes s (len bytes, may hold any byte) into out (cap bytes, NUL-terminated):
 * printable ASCII except backslash is copied, backslash becomes "\\", any other byte
 * "\xHH".  At most max input bytes are taken; when s is longer, "..." is appended.
 * Never writes past out[cap - 1]; returns out.  s may be NULL (gives "").
 */
char *log_escape(const char *s, size_t len, size_t max, char *out, size_t cap);

/* A NUL-terminated string escaped into a buffer on the caller's stack: ESC(buf, s). */
struct esc {
	char b[LOG_ESC_MAX * 4 + 4];
};
const char *esc(struct esc *e, const char *s);

#endif
