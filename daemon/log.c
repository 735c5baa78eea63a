/*
 * log.c - logging for spfgated (OpenSMTPD's log.c, reduced).
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  Both are always written.
 * log_info/log_debug/log_trace are written at levels >= 1, 2, 3.  Messages go to
 * syslog(3) with the mail facility, or to stderr with a timestamp when the daemon runs
 * in the foreground with -d (tests) or "log = stderr".
 *
 * Nothing here knows the network: callers escape what they log (log_escape()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool use_stderr = true;
static int verbosity = 1;

void log_init(const char *ident, bool to_stderr, int level)
{
	use_stderr = to_stderr;
	verbosity = level;
	if (!use_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_setlevel(int level)
{
	verbosity = level;
}

int log_getlevel(void)
{
	return verbosity;
}

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 2, 0)));

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[4096];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		return;
	if (use_stderr) {
		/* One write per line so concurrent test output stays readable. */
		char line[4200];
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		int m = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld spfgated: %s%s%s\n",
		    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
		if (m > 0) {
			size_t len = (size_t)m < sizeof(line) ? (size_t)m : sizeof(line) - 1;
			if (len == sizeof(line) - 1)
				line[len - 1] = '\n';
			fwrite(line, 1, len, stderr);
			fflush(stderr);
		}
	} else if (suffix)
		syslog(pri, "%s: %s", msg, suffix);
	else
		syslog(pri, "%s", msg);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

#define LEVELED(name, lvl, pri)						\
	void name(const char *fmt, ...)					\
	{								\
		if (verbosity < (lvl))					\
			return;						\
		va_list ap;						\
		va_start(ap, fmt);					\
		vlog(pri, fmt, ap, NULL);				\
		va_end(ap);						\
	}
LEVELED(log_info, 1, LOG_INFO)
LEVELED(log_debug, 2, LOG_INFO)
LEVELED(log_trace, 3, LOG_DEBUG)

char *log_escape(const char *s, size_t len, size_t max, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap == 0)
		return out;
	if (s == NULL)
		len = 0;
	size_t n = len < max ? len : max, done = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[4];
		size_t tl;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[0] = (char)c;
			tl = 1;
		} else if (c == '\\') {
			tmp[0] = tmp[1] = '\\';
			tl = 2;
		} else {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[c >> 4];
			tmp[3] = hex[c & 15];
			tl = 4;
		}
		/* Compare before adding: room for tl bytes, "..." and the NUL. */
		if (tl + 4 > cap - o)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
		done = i + 1;
	}
	if (done < len && cap - o > 3) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

const char *esc(struct esc *e, const char *s)
{
	return log_escape(s, s ? strlen(s) : 0, LOG_ESC_MAX, e->b, sizeof(e->b));
}
