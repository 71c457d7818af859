/*
 * fuzz_list.c -- libFuzzer target for the list loader and lookups.
 *
 * The first input byte picks the list type (low two bits); the rest is
 * the data file. After the load, the keys of the first lines and a few
 * fixed subjects are looked up in every family, every value's template
 * is expanded, and the results are checked for sanity.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t	nwarn;

/* count - warning callback: check what it is given */
static void
count(void *arg, enum list_severity sev, const char *file, unsigned line,
    const char *msg)
{
	(void)arg;
	(void)line;
	if ((sev != LIST_ERROR && sev != LIST_WARNING) || file == NULL ||
	    msg == NULL || strlen(msg) > 1024)
		abort();
	nwarn++;
}

/* check - look at every value returned */
static void
check(const struct list_value **v, int n, int max, const char *subject)
{
	char buf[LIST_TXT_LEN + 8];
	int i;

	if (n < 0 || n > max)
		abort();
	for (i = 0; i < n; i++) {
		size_t len;

		if (v[i] == NULL)
			abort();
		if (v[i]->lv_txt == NULL)
			continue;
		if (strlen(v[i]->lv_txt) > 2 * LIST_TXT_LEN + 2)
			abort();
		memset(buf, 0x5a, sizeof(buf));
		len = list_txt_expand(v[i]->lv_txt, subject, buf,
		    LIST_TXT_LEN);
		if (len > LIST_TXT_LEN || buf[LIST_TXT_LEN] != 0x5a)
			abort();
	}
}

/* probe - look subject up in every family */
static void
probe(const struct list *l, const char *subject)
{
	const struct list_value *v[4];
	struct in_addr a4;
	uint8_t a6[16];
	size_t len = strlen(subject), off = 0;
	int n;

	if (inet_pton(AF_INET, subject, &a4) == 1) {
		n = list_lookup_ip4(l, ntohl(a4.s_addr), v, 4);
		check(v, n, 4, subject);
		n = list_lookup_ip4(l, ntohl(a4.s_addr) ^ 1, v, 1);
		check(v, n, 1, subject);
	}
	if (inet_pton(AF_INET6, subject, a6) == 1) {
		n = list_lookup_ip6(l, a6, v, 4);
		check(v, n, 4, subject);
	}
	n = list_lookup_name_subject(l, subject, len, v, 4, &off);
	if (n > 0 && off > len)
		abort();
	check(v, n, 4, subject + (n > 0 ? off : 0));
	(void)list_has_below(l, subject, len);
	(void)list_lookup_name(l, subject, len, NULL, 0);
}

/*
 * walked - each entry as a lookup sees it: a listed /32, /128 or exact
 * name answers its values, an excluded one nothing
 */
static int
walked(void *arg, const struct list_entry *e)
{
	const struct list *l = arg;
	uint32_t a;
	int n = -1;

	if ((e->excluded && e->nvals != 0) || (!e->excluded && e->nvals == 0))
		abort();
	if (e->family == AF_INET && e->plen == 32) {
		a = (uint32_t)e->key[0] << 24 | e->key[1] << 16 |
		    e->key[2] << 8 | e->key[3];
		n = list_lookup_ip4(l, a, NULL, 0);
	} else if (e->family == AF_INET6 && e->plen == 128)
		n = list_lookup_ip6(l, e->key, NULL, 0);
	else if (e->family == AF_UNSPEC && !e->wild) {
		if (e->name_len == 0 || e->name_len > 255 ||
		    strlen(e->name) != e->name_len)
			abort();
		n = list_lookup_name(l, e->name, e->name_len, NULL, 0);
	}
	if (n >= 0 && (size_t)n != e->nvals)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {
		"127.0.0.2", "10.0.0.1", "255.255.255.255", "0.0.0.0",
		"::1", "2001:db8::1", "::", "example.com", "a.example.com",
		"com", "", "x",
	};
	struct list_opts o;
	struct list *l = NULL;
	const char *text;
	size_t i, len, start;
	int rc, lines = 0;

	if (size < 1)
		return 0;
	memset(&o, 0, sizeof(o));
	o.name = "fuzz";
	o.type = (enum list_type)(data[0] & 3);
	o.warn = count;
	o.max_memory = 64 << 20;	/* the fuzzer's own limit is 2 GB */
	text = (const char *)data + 1;
	len = size - 1;
	nwarn = 0;
	rc = list_load_mem(&o, text, len, &l);
	if (rc != 0) {
		if ((rc != RBLMUX_ENOMEM && rc != -EFBIG) || l != NULL)
			abort();
		return 0;
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		probe(l, fixed[i]);
	/* the keys of the first lines, without "!", "*." or "." */
	for (start = 0, i = 0; i <= len && lines < 32; i++) {
		char key[300];
		size_t k = 0, j = start;

		if (i < len && text[i] != '\n')
			continue;
		if (j < i && text[j] == '!')
			j++;
		if (j + 1 < i && text[j] == '*' && text[j + 1] == '.')
			j += 2;
		else if (j < i && text[j] == '.')
			j++;
		while (j < i && k < sizeof(key) - 1 && text[j] != ' ' &&
		    text[j] != '\t' && text[j] != '/' && text[j] != '-' &&
		    text[j] != '\0')
			key[k++] = text[j++];
		key[k] = '\0';
		probe(l, key);
		start = i + 1;
		lines++;
	}
	if (list_walk(l, walked, l) != 0)
		abort();
	if (list_entries(l) > len || list_memory(l) == 0)
		abort();
	(void)list_type(l);
	(void)list_mtime(l);
	(void)list_soa(l);
	(void)list_ns(l);
	list_free(l);
	return 0;
}
