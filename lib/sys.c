/*
 * sys.c - error texts and libraries opened on first use (sys.h).
 *
 * Why dlopen(): libunbound and ldns bring libssl and libcrypto, megabytes and
 * milliseconds of dynamic linking that a process using neither (a spfgated spawned
 * per SMTP session with the stub engine) should not pay before main().
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys.h"

void spf_seterr(char *err, size_t cap, const char *fmt, ...)
{
	if (err == NULL || cap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(err, cap, fmt, ap); /* always terminates */
	va_end(ap);
}

bool spf_dlopen_table(const char *soname, const struct spf_dlsym *syms, size_t n,
    void *table, size_t table_size, char *err, size_t errcap)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *why = dlerror();
		spf_seterr(err, errcap, "cannot load %s: %s", soname, why ? why : "dlopen failed");
		return false;
	}
	char *t = malloc(table_size);
	if (t == NULL) {
		spf_seterr(err, errcap, "out of memory");
		dlclose(h);
		return false;
	}
	memcpy(t, table, table_size);
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, syms[i].name);
		if (f == NULL || syms[i].off > table_size - sizeof(f)) {
			spf_seterr(err, errcap, "%s: no symbol %s", soname, syms[i].name);
			free(t);
			dlclose(h);
			return false;
		}
		/* POSIX guarantees that a function pointer survives this round trip. */
		memcpy(t + syms[i].off, &f, sizeof(f));
	}
	memcpy(table, t, table_size);
	free(t);
	return true;
}
