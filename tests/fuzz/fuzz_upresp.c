/*
 * fuzz_upresp.c -- libFuzzer target for the upstream reply parser.
 *
 * Arbitrary bytes are the reply to a fixed lookup (ID 0x5a17, name
 * 2.0.0.127.bl.example) asked as A and as TXT, for an upstream with
 * code: lines and its own error codes and for one with neither (the
 * default error codes). The input is copied to a buffer of exactly its
 * size, so ASan catches any read past it. Whatever the parser says must
 * hold together: a listing only of valid codes, never more than kept,
 * NUL-ended texts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "upresp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID	0x5a17
static const uint8_t QN[] = "\0012\0010\0010\003127\002bl\007example";

static struct conf_code codes[] = {
	{ 0x7f000024, "dyna" },
	{ 0x7f000025, "noptr" },
	{ 0x7f000026, "spam" },
	{ 0x7f00002b, "auth" },
};

static struct conf_prefix errs[] = {
	{ AF_INET, { 127, 255, 255, 0 }, 24 },
	{ AF_INET, { 127, 0, 0, 1 }, 32 },
};

/* check - abort unless r is a sound result for u and qtype */
static void
check(const struct upresp *r, const struct conf_upstream *u, uint16_t qtype)
{
	char why[96];
	unsigned i;

	if (r->kind > UPRESP_LISTED || r->na > UPRESP_MAX_A ||
	    r->txt_len > UPRESP_MAX_TXT || r->txt[r->txt_len] != '\0' ||
	    memchr(r->why, '\0', sizeof(r->why)) == NULL)
		abort();
	if (r->kind != UPRESP_LISTED && (r->na != 0 || r->txt_len != 0))
		abort();
	if ((r->kind == UPRESP_ERROR || r->kind == UPRESP_MISMATCH) &&
	    r->why[0] == '\0')
		abort();
	if (r->kind == UPRESP_LISTED && qtype == DNS_TYPE_A && r->na == 0)
		abort();
	if (qtype == DNS_TYPE_TXT && r->na != 0)
		abort();
	for (i = 0; i < r->na; i++)
		if (!upresp_code_valid(u, r->a[i], why, sizeof(why)))
			abort();
	if (r->kind == UPRESP_LISTED && qtype == DNS_TYPE_A &&
	    upresp_code_listed(u, -1, r->a, r->na) != r->a[0])
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_TXT };
	struct conf_upstream with, without;
	struct upresp r;
	uint8_t *pkt;
	size_t i;

	memset(&with, 0, sizeof(with));
	with.name = "rats";
	with.zone = "bl.example";
	with.codes = codes;
	with.ncodes = sizeof(codes) / sizeof(codes[0]);
	with.error_codes = errs;
	with.nerror_codes = sizeof(errs) / sizeof(errs[0]);
	memset(&without, 0, sizeof(without));
	without.name = "plain";
	without.zone = "bl.example";

	pkt = malloc(size ? size : 1);
	if (pkt == NULL)
		return 0;
	memcpy(pkt, data, size);
	for (i = 0; i < 2; i++) {
		upresp_parse(pkt, size, ID, QN, sizeof(QN), types[i], &with,
		    &r);
		check(&r, &with, types[i]);
		upresp_parse(pkt, size, ID, QN, sizeof(QN), types[i],
		    &without, &r);
		check(&r, &without, types[i]);
	}
	free(pkt);
	return 0;
}
