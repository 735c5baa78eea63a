/*
 * sys.h - two small helpers of the drivers that talk to the world (resolver, engines,
 * zone files): error texts and libraries opened on first use.
 */
#ifndef SPFGATE_SYS_H
#define SPFGATE_SYS_H

#include <stdbool.h>
#include <stddef.h>

/* Writes a diagnostic into err (cap bytes, always terminated when cap > 0); one cut
 * short is still a diagnostic.  Nothing when err is NULL or cap is 0. */
void spf_seterr(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One function a table of function pointers wants: its symbol, and where it goes. */
struct spf_dlsym {
	const char *name;
	size_t off; /* offsetof() in the table */
};

/*
 * Opens the library soname (RTLD_NOW | RTLD_LOCAL; never closed once complete) and
 * writes the address of every symbol of syms[0..n) into table at its offset.  On
 * failure the table is untouched, the library closed, and why is in err: dlerror()'s
 * words, or the missing symbol.
 */
bool spf_dlopen_table(const char *soname, const struct spf_dlsym *syms, size_t n,
    void *table, size_t table_size, char *err, size_t errcap);

#endif
