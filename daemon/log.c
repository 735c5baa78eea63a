/*
 * log.c - logging for spfgated (OpenSMTPD's log.c, reduced).
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  Both are always written.
 * log_info/log_debug/log_trace are written at levels >= 1, 2, 3.  Messages go to
 * syslog with the mail facility, or to stderr with a timestamp when the daemon runs
 * in the foreground with -d (tests) or "log = stderr".
 *
 * Syslog without syslog(3).  glibc's syslog() costs a getpid() and an open_memstream
 * per line, and when /dev/log is missing it opens, connects and closes a socket for
 * every line.  Here the line ("<PRI>Mmm dd hh:mm:ss ident[pid]: text", RFC 3164 as
 * glibc writes it) is formatted once into a stack buffer and sent with one send(2) on
 * a socket kept connected to /dev/log; the pid is read once and the timestamp is
 * formatted again only when the second changes.  When there is no syslog daemon the
 * line is dropped (as syslog(3) does without LOG_CONS) and a reconnection is tried at
 * most once a minute; a daemon that restarted is reconnected at the next line.
 *
 * Nothing here knows the network: callers escape what they log (log_escape()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_PATH "/dev/log"
#define RETRY_S 60

static bool use_stderr = true;
static int verbosity = 1;
static int sfd = -1;            /* connected to /dev/log, or -1 */
static int stype;               /* SOCK_DGRAM or SOCK_STREAM */
static time_t next_try;         /* no reconnection before this */
static char tagpid[64];         /* "spfgated[123]: " */

/* The timestamp of the current second, formatted once. */
static time_t stamp_sec = -1;
static char stamp_sys[32];      /* "Nov 23 13:24:55 " */
static char stamp_err[16];      /* "13:24:55" */

static void stamp(time_t t)
{
	struct tm tm;
	if (t == stamp_sec)
		return;
	stamp_sec = t;
	localtime_r(&t, &tm);
	strftime(stamp_sys, sizeof(stamp_sys), "%h %e %T ", &tm);
	strftime(stamp_err, sizeof(stamp_err), "%T", &tm);
}

static void syslog_connect(void)
{
	static const int types[2] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, LOG_PATH, sizeof(LOG_PATH));
	for (int i = 0; i < 2 && sfd == -1; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			sfd = fd;
			stype = types[i];
			return;
		}
		int e = errno;
		close(fd);
		if (e != EPROTOTYPE)
			break;
	}
}

void log_init(const char *ident, bool to_stderr, int level)
{
	use_stderr = to_stderr;
	verbosity = level;
	if (!use_stderr) {
		snprintf(tagpid, sizeof(tagpid), "%s[%ld]: ", ident, (long)getpid());
		syslog_connect(); /* now, as LOG_NDELAY did: before privileges are dropped */
		if (sfd == -1)
			next_try = time(NULL) + RETRY_S;
	}
}

void log_setlevel(int level)
{
	verbosity = level;
}

int log_getlevel(void)
{
	return verbosity;
}

static void syslog_send(const char *line, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (sfd == -1) {
			time_t t = time(NULL);
			if (attempt == 0 && t < next_try)
				return;
			syslog_connect();
			if (sfd == -1) {
				next_try = t + RETRY_S;
				return;
			}
		}
		/* A stream socket needs a delimiter: the NUL that syslog(3) sends too. */
		ssize_t n = send(sfd, line, len + (stype == SOCK_STREAM), MSG_NOSIGNAL);
		if (n >= 0)
			return;
		if (errno == EINTR) {
			attempt--;
			continue;
		}
		/* The syslog daemon went away or restarted: reconnect once, now. */
		close(sfd);
		sfd = -1;
	}
}

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 2, 0)));

/*
 * Formats the whole line once into one buffer: the prefix, the message (cut at the
 * buffer's end), the suffix; then one write or one send.
 */
static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char line[4200];
	size_t cap = sizeof(line) - 2; /* room for "\n" or the stream's NUL */
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	stamp(ts.tv_sec);
	if (use_stderr)
		n = snprintf(line, cap, "%s.%03ld spfgated: ", stamp_err, ts.tv_nsec / 1000000);
	else {
		/* "<PRI>Mmm dd hh:mm:ss ident[pid]: ": both parts formatted in advance */
		int p = LOG_MAIL | pri;
		n = 0;
		line[n++] = '<';
		if (p >= 100)
			line[n++] = (char)('0' + p / 100);
		if (p >= 10)
			line[n++] = (char)('0' + p / 10 % 10);
		line[n++] = (char)('0' + p % 10);
		line[n++] = '>';
		size_t sl = strlen(stamp_sys), tl = strlen(tagpid);
		memcpy(line + n, stamp_sys, sl);
		memcpy(line + n + sl, tagpid, tl);
		n += (int)(sl + tl);
	}
	if (n < 0 || (size_t)n >= cap)
		return;
	size_t len = (size_t)n;
	n = vsnprintf(line + len, cap - len, fmt, ap);
	if (n < 0)
		return;
	len = (size_t)n < cap - len ? len + (size_t)n : cap - 1;
	if (suffix) {
		n = snprintf(line + len, cap - len, ": %s", suffix);
		if (n > 0)
			len = (size_t)n < cap - len ? len + (size_t)n : cap - 1;
	}
	if (use_stderr) {
		/* One write per line so concurrent test output stays readable. */
		line[len++] = '\n';
		fwrite(line, 1, len, stderr);
		fflush(stderr);
	} else {
		line[len] = '\0';
		syslog_send(line, len);
	}
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
		/* Compare before adding: room for this byte's form, "..." and the NUL. */
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (1 + 4 > cap - o)
				break;
			out[o++] = (char)c;
		} else if (c == '\\') {
			if (2 + 4 > cap - o)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			if (4 + 4 > cap - o)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
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
