/*
 * kb-search: the demo's "kb.search" tool (effect read).
 *
 * Input  {"query": string 1..200 chars, "limit": integer 1..10, default 3}
 * Output one line per matching article, best first:
 *          kb-104 Refund policy: Refunds are issued to ...
 *        or: no articles match "QUERY"
 *
 * The knowledge base is compiled in, so the tool needs no files and no
 * network inside its sandbox.  Matching is deliberately simple and
 * predictable (the demo script relies on which article comes first): each
 * distinct query word that is not a stop word scores 3 when it appears in an
 * article's title and 1 when it appears in its body; words match case-
 * insensitively after stripping a plural or -ed/-ing ending, or when the
 * query word (4+ letters) is a prefix of the article's word.  Ties go to the
 * lower article id.
 */
#define _GNU_SOURCE
#include "common.h"

#include <ctype.h>

struct article {
	const char *id, *title, *body;
};

static const struct article kb[] = {
	{"kb-101", "Track an order",
	 "Open Orders in your account and choose Track to see the carrier and the latest scan. "
	 "Tracking appears within 24 hours of dispatch."},
	{"kb-102", "Change or cancel an order",
	 "Orders can be changed or cancelled until they are packed, usually within 1 hour. "
	 "After that, refuse the delivery or start a return."},
	{"kb-103", "Shipping times and costs",
	 "Standard shipping takes 3-5 business days and is free over 50 EUR; express shipping "
	 "takes 1-2 business days for 9.90 EUR."},
	{"kb-104", "Refund policy",
	 "Refunds are issued to the original payment method within 5 business days after we "
	 "receive the returned item. Shipping costs are refunded only for faulty items."},
	{"kb-105", "Return an item",
	 "Items can be returned within 30 days in their original condition. Print a free return "
	 "label from Orders > Return and drop the parcel at any carrier point."},
	{"kb-106", "Reset your password",
	 "Choose Forgot password on the sign-in page and follow the link we email you; the link "
	 "expires after 30 minutes. Support staff never ask for your password."},
	{"kb-107", "Download an invoice",
	 "Invoices are available as PDF under Orders > Invoice once the order has shipped. For a "
	 "company invoice, add your VAT number before checkout."},
	{"kb-108", "Damaged or missing items",
	 "Report a damaged or missing item within 14 days with a photo of the parcel; we send a "
	 "replacement or a refund, your choice."},
	{"kb-109", "Payment methods",
	 "We accept cards, PayPal and bank transfer. A declined card is usually a block by the "
	 "bank: ask the bank, then retry the payment."},
	{"kb-110", "Change your email address",
	 "Change your email address under Account > Profile; we confirm the change at both the "
	 "old and the new address."},
	{"kb-111", "Loyalty tiers",
	 "Gold and Platinum customers get free express shipping and a dedicated support line; "
	 "tiers are recalculated every January."},
};
#define KB_N (sizeof kb / sizeof kb[0])

#define MAX_WORDS 64
#define WORD_MAX  48

static const char *const stop_words[] = {
	"a", "an", "and", "are", "at", "be", "can", "do", "does", "for", "get", "how", "i",
	"in", "is", "it", "me", "my", "of", "on", "or", "the", "to", "want", "what", "when",
	"where", "why", "with", "you", "your", NULL,
};

/* Bytes >= 0x80 count as letters so that non-ASCII words stay whole. */
static bool is_word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* Next lowercased word of s at *pos into w (truncated to WORD_MAX-1); 0 at end. */
static size_t next_word(const char *s, size_t *pos, char w[WORD_MAX])
{
	const unsigned char *p = (const unsigned char *)s + *pos;
	size_t n = 0;
	while (*p && !is_word_byte(*p))
		p++;
	while (*p && is_word_byte(*p)) {
		if (n < WORD_MAX - 1)
			w[n++] = (char)tolower(*p);
		p++;
	}
	w[n] = '\0';
	*pos = (size_t)(p - (const unsigned char *)s);
	return n;
}

/* refunds, refunded -> refund; keeps "ss" (address) intact. */
static void stem(char *w)
{
	size_t n = strlen(w);
	if (n > 5 && strcmp(w + n - 3, "ing") == 0)
		w[n -= 3] = '\0';
	else if (n > 4 && strcmp(w + n - 2, "ed") == 0)
		w[n -= 2] = '\0';
	if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's')
		w[n - 1] = '\0';
}

static bool word_matches(const char *query_stem, const char *text_word)
{
	char t[WORD_MAX];
	snprintf(t, sizeof t, "%s", text_word);
	stem(t);
	if (strcmp(query_stem, t) == 0)
		return true;
	size_t q = strlen(query_stem);
	return q >= 4 && strncmp(text_word, query_stem, q) == 0;
}

static bool text_contains(const char *text, const char *query_stem)
{
	char w[WORD_MAX];
	size_t pos = 0;
	while (next_word(text, &pos, w))
		if (word_matches(query_stem, w))
			return true;
	return false;
}

static bool is_stop_word(const char *w)
{
	for (size_t i = 0; stop_words[i]; i++)
		if (strcmp(stop_words[i], w) == 0)
			return true;
	return false;
}

struct hit {
	size_t idx;
	int score;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->score != y->score)
		return y->score - x->score;
	return strcmp(kb[x->idx].id, kb[y->idx].id);
}

/* The query's distinct, stemmed content words. */
static size_t query_words(const char *query, char words[MAX_WORDS][WORD_MAX])
{
	char w[WORD_MAX];
	size_t pos = 0, n = 0;
	while (n < MAX_WORDS && next_word(query, &pos, w)) {
		if (is_stop_word(w))
			continue;
		stem(w);
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = strcmp(words[i], w) == 0;
		if (!dup)
			memcpy(words[n++], w, WORD_MAX);
	}
	return n;
}

int main(void)
{
	static const char *const allowed[] = {"query", "limit", NULL};
	char err[ERR_MAX];
	struct args a;
	const char *query;
	long long limit;

	if (args_from_stdin(&a, err) < 0) {
		fprintf(stderr, "kb-search: %s\n", err);
		return 2;
	}
	if (args_only(&a, allowed, err) < 0 ||
	    args_string(&a, "query", true, 1, 200, &query, err) < 0 ||
	    args_int(&a, "limit", false, 1, 10, 3, &limit, err) < 0) {
		fprintf(stderr, "kb-search: %s\n", err);
		args_free(&a);
		return 2;
	}

	static char words[MAX_WORDS][WORD_MAX];
	size_t nwords = query_words(query, words);
	struct hit hits[KB_N];
	size_t nhits = 0;
	for (size_t i = 0; i < KB_N; i++) {
		int score = 0;
		for (size_t w = 0; w < nwords; w++) {
			if (text_contains(kb[i].title, words[w]))
				score += 3;
			if (text_contains(kb[i].body, words[w]))
				score += 1;
		}
		if (score > 0)
			hits[nhits++] = (struct hit){i, score};
	}
	qsort(hits, nhits, sizeof hits[0], hit_cmp);

	if (nhits == 0) {
		fputs("no articles match ", stdout);
		json_put_string(stdout, query);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < nhits && i < (size_t)limit; i++)
		printf("%s %s: %s\n", kb[hits[i].idx].id, kb[hits[i].idx].title, kb[hits[i].idx].body);

	args_free(&a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "kb-search: cannot write the results: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
