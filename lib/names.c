/*
 * names.c - the constant names of enums, spf_strerror(), and option defaults.
 */
#include <strings.h>

#include "spfgate/spfgate.h"

static const char *const result_names[SPF_RESULT_COUNT] = {
	[SPF_RESULT_NONE] = "none",
	[SPF_RESULT_NEUTRAL] = "neutral",
	[SPF_RESULT_PASS] = "pass",
	[SPF_RESULT_FAIL] = "fail",
	[SPF_RESULT_SOFTFAIL] = "softfail",
	[SPF_RESULT_TEMPERROR] = "temperror",
	[SPF_RESULT_PERMERROR] = "permerror",
};

const char *spf_result_name(enum spf_result r)
{
	if ((unsigned)r >= SPF_RESULT_COUNT)
		return "invalid";
	return result_names[r];
}

int spf_result_parse(const char *name, enum spf_result *out)
{
	for (unsigned i = 0; i < SPF_RESULT_COUNT; i++) {
		if (strcasecmp(name, result_names[i]) == 0) {
			*out = (enum spf_result)i;
			return SPF_OK;
		}
	}
	return SPF_EINVAL;
}

const char *spf_strerror(int status)
{
	switch (status) {
	case SPF_OK: return "no error";
	case SPF_ENOMEM: return "out of memory";
	case SPF_EINVAL: return "invalid argument";
	case SPF_ESTATE: return "call not allowed in this state";
	case SPF_ENOENT: return "no such item";
	case SPF_ESYNTAX: return "syntax error";
	case SPF_EIO: return "I/O or resolver error";
	case SPF_ELIMIT: return "implementation limit reached";
	default: return "unknown error";
	}
}

const char *spf_identity_name(enum spf_identity id)
{
	return id == SPF_IDENTITY_HELO ? "helo" : "mailfrom";
}

const char *spf_rrtype_name(uint16_t type)
{
	switch (type) {
	case SPF_RR_A: return "A";
	case SPF_RR_CNAME: return "CNAME";
	case SPF_RR_PTR: return "PTR";
	case SPF_RR_MX: return "MX";
	case SPF_RR_TXT: return "TXT";
	case SPF_RR_AAAA: return "AAAA";
	default: return "TYPE?";
	}
}

const char *spf_rcode_name(enum spf_rcode rc)
{
	switch (rc) {
	case SPF_DNS_NOERROR: return "NOERROR";
	case SPF_DNS_NXDOMAIN: return "NXDOMAIN";
	case SPF_DNS_SERVFAIL: return "SERVFAIL";
	case SPF_DNS_TIMEOUT: return "TIMEOUT";
	default: return "INVALID";
	}
}

const char *spf_trace_kind_name(enum spf_trace_kind kind)
{
	switch (kind) {
	case SPF_TRACE_QUERY: return "query";
	case SPF_TRACE_ANSWER: return "answer";
	case SPF_TRACE_RECORD: return "record";
	case SPF_TRACE_TERM: return "term";
	case SPF_TRACE_NOTE: return "note";
	case SPF_TRACE_RESULT: return "result";
	default: return "invalid";
	}
}

void spf_options_init(struct spf_options *opts)
{
	opts->max_void_lookups = SPF_MAX_VOID_LOOKUPS;
	opts->default_explanation = NULL;
	opts->receiver = NULL;
	opts->now = 0;
	opts->prefetch = true;
	opts->trace = false;
	opts->mem_limit = SPF_DEFAULT_MEM_LIMIT;
}
