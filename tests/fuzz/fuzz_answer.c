/*
 * fuzz_answer.c -- arbitrary packets through the whole query path:
 * parse, find the zone, classify, look up real lists, merge, write the
 * reply (or the error reply). The same query also goes through the three
 * steps as a query that waited (decide, complete each missing remote
 * result with one picked by the last input byte, write without the work
 * space); with nothing to complete its reply must be the same bytes. The
 * view is built once from a small config and list files written to a
 * temp dir.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "conf.h"
#include "dnsmsg.h"
#include "view.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct view *view;

static void
put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static void
quiet(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg; (void)file; (void)line; (void)msg;
}

static void
view_quiet(void *arg, enum list_severity sev, const char *file,
    unsigned line, const char *msg)
{
	(void)sev;
	quiet(arg, file, line, msg);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char many_text[] = "a reason that is long enough to "
	    "fill a TXT record of any length up to two hundred and forty "
	    "bytes, so that some of the many values fit a reply and some do "
	    "not, and the ones after them are tried again; padding padding "
	    "padding padding padding padding padding";
	static char many[64 * 1024];
	char dir[] = "/tmp/rblmux-fuzz.XXXXXX", conf[2048], path[300];
	struct conf *c;
	struct vconf *vc;
	size_t len;
	int i;

	(void)argc; (void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	put(dir, "a.ip4set", ":127.0.0.2:Listed $ here\n192.0.2.0/24\n"
	    "!192.0.2.7\n10.1-2 :3:range $$\n");
	put(dir, "b.ip4set", "192.0.2.1 :4:" "a fairly long reason text that "
	    "repeats a fairly long reason text that repeats a fairly long\n");
	put(dir, "c.ip6", "2001:db8::/32 :5:v6\n");
	put(dir, "d.dn", ".example.com :6:name $\n*.example.net\n");
	/* one address with many values of many lengths */
	for (i = 0, len = 0; i < 300; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len,
		    "192.0.2.9 :127.0.%d.%d:%.*s $\n", i / 100, i % 100 + 2,
		    (i * 37) % 240, many_text);
	put(dir, "m.ip4set", many);
	put(dir, "x.ip4set", "$TIMESTAMP 2020-01-01 +1d\n192.0.2.0/24\n");
	snprintf(conf, sizeof(conf),
	    "server:\n directory: %s\n"
	    "local-list:\n name: a\n file: a.ip4set\n"
	    "local-list:\n name: b\n file: b.ip4set\n allow: no\n"
	    "local-list:\n name: c\n type: ip6trie\n file: c.ip6\n"
	    "local-list:\n name: d\n type: dnset\n file: d.dn\n"
	    "zone:\n name: all.test\n answer: bitmask\n bit: 2 a\n bit: 4 b\n"
	    " bit: 8 c\n bit: 16 d\n"
	    "zone:\n name: each.test\n answer: each\n result: a\n result: b\n"
	    "zone:\n name: score.test\n answer: score\n result: a\n result: b\n"
	    "zone:\n name: bl.test\n serve: a b c d\n"
	    "local-list:\n name: m\n file: m.ip4set\n"
	    "local-list:\n name: x\n file: x.ip4set\n"
	    "zone:\n name: m.bl.test\n serve: m a\n ttl-max: 1h\n"
	    "zone:\n name: x.test\n serve: x\n"
	    "zone:\n name: agg.x.test\n answer: bitmask\n bit: 2 x\n"
	    " bit: 4 m\n"
	    "upstream:\n name: up\n zone: up.example\n"
	    "zone:\n name: mix.test\n answer: each\n result: a\n"
	    " result: up\n", dir);
	put(dir, "rblmux.conf", conf);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	if (conf_load(path, quiet, NULL, &c) != 0)
		abort();
	vc = vconf_new(c);
	if (view_build(vc, NULL, view_quiet, NULL, &view) != 0)
		abort();
	vconf_unref(vc);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535], again[65535];
	static struct answer_work wk;
	static const char reason[] = "remote reason that is long enough to be "
	    "cut when the room for the text of remote results runs out";
	struct answer_result res = { .a = { 0x7f000002U }, .na = 1,
	    .ttl = 300, .txt = reason, .txt_len = sizeof(reason) - 1 };
	struct answer_state st;
	struct dns_query q;
	size_t limit, n, n2, i;
	uint64_t missing;
	int rc, rcode, rcode2;

	rc = dnsmsg_parse_query(data, size, &q);
	if (rc == DNSMSG_DROP)
		return 0;
	if (rc != DNSMSG_OK) {
		n = dnsmsg_error_reply(data, size, &q, rc, out, sizeof(out));
		if (n > sizeof(out))
			abort();
		return 0;
	}
	/* the first byte of the ID picks the size limit */
	limit = 12 + (size_t)(q.id & 0x0fff) * 16;
	if (limit > sizeof(out))
		limit = sizeof(out);
	n = answer_query(view, &q, data, size, (time_t)1700000000, out,
	    sizeof(out), limit, &rcode);
	if (n > limit && n > 512)
		abort();

	missing = answer_decide(view, &q, (time_t)1700000000, &st, &wk);
	memset(&wk, 0xa5, sizeof(wk));
	res.status = (enum answer_result_status)(data[size - 1] % 4);
	for (i = 0; i < 64 && res.status <= ANSWER_RES_FAILED; i++)
		if (missing >> i & 1 && answer_complete(&st, i, &res) != 0)
			abort();
	n2 = answer_write(view, &q, data, size, &st, NULL, again,
	    sizeof(again), limit, &rcode2);
	if (n2 > limit && n2 > 512)
		abort();
	if ((missing == 0 || res.status > ANSWER_RES_FAILED) && (n2 != n ||
	    rcode2 != rcode || memcmp(out, again, n) != 0))
		abort();
	return 0;
}
