/*
 * cli_audit.c: `toolgate audit verify`, `toolgate audit show` and
 * `toolgate keygen` (see cli_audit.h), a thin layer over audit.c and keys.c.
 *
 * This is CLI code: it prints and returns exit codes, but still never exits.
 * Verification is audit_verify_file()'s job alone; `show` only displays and
 * filters, and says so: it does not check signatures.  Everything `show`
 * prints from a record passes through display_value(), because a record's
 * strings come from agents and must not reach the terminal as control codes.
 */
#include "cli_audit.h"
#include "cli_proof.h"
#include "cli_util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "audit_files.h"
#include "error.h"
#include "keys.h"


static const char verify_usage[] =
	"usage: toolgate audit verify LOG --key AUDIT.pub [--checkpoint FILE [--merkle-only]] [--json]";
static const char show_usage[] =
	"usage: toolgate audit show LOG [--tool T] [--user U] [--agent A] [--decision D] [--since TIME]\n"
	"                           [--until TIME] [--json]";
static const char keygen_usage[] = "usage: toolgate keygen --out PREFIX";

static int verify_report(bool json, const char *log, bool valid, uint64_t records,
                         const char *error, bool error_names_log)
{
	if (json) {
		json_t *out = json_pack("{s:b, s:I, s:s?}", "valid", valid, "records",
		                        (json_int_t)records, "error", error);
		char *text = out ? json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(out);
		if (!text) {
			fprintf(stderr, "toolgate audit verify: out of memory\n");
			return 1;
		}
	} else if (valid) {
		const char *slash = strrchr(log, '/');
		uint64_t first, last;
		if (audit_segment_name(slash ? slash + 1 : log, &first, &last))
			printf("%s: %llu records (seq %llu to %llu), chain and signatures valid; its link to "
			       "seq %llu is checked when the whole audit directory is verified\n", log,
			       (unsigned long long)records, (unsigned long long)first,
			       (unsigned long long)last, (unsigned long long)first - 1);
		else
			printf("%s: %llu records, chain and signatures valid\n", log, (unsigned long long)records);
	} else if (error_names_log) {
		fprintf(stderr, "%s: %s\n", log, error);
	} else {
		fprintf(stderr, "toolgate audit verify: %s\n", error);
	}
	return valid ? 0 : 1;
}

int cli_audit_verify(int argc, char **argv)
{
	static const char cmd[] = "toolgate audit verify";
	const char *log = NULL, *key = NULL, *checkpoint = NULL, *v;
	bool json = false, options_done = false, merkle_only = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int m;
		if (!options_done && arg[0] == '-' && arg[1] != '\0') {
			if (strcmp(arg, "--") == 0) {
				options_done = true;
			} else if (cli_is_help(arg)) {
				printf("%s\n", verify_usage);
				return 0;
			} else if (strcmp(arg, "--json") == 0) {
				json = true;
			} else if (strcmp(arg, "--merkle-only") == 0) {
				merkle_only = true;
			} else if ((m = cli_opt_value(argc, argv, &i, "--key", &v)) != 0) {
				if (m < 0)
					return cli_usage_error(cmd, verify_usage, "--key needs a public key file");
				key = v;
			} else if ((m = cli_opt_value(argc, argv, &i, "--checkpoint", &v)) != 0) {
				if (m < 0)
					return cli_usage_error(cmd, verify_usage, "--checkpoint needs a checkpoint file");
				checkpoint = v;
			} else {
				return cli_usage_error(cmd, verify_usage, "unknown option %s", arg);
			}
			continue;
		}
		if (log)
			return cli_usage_error(cmd, verify_usage, "unexpected argument %s", arg);
		log = arg;
	}
	if (!log)
		return cli_usage_error(cmd, verify_usage, "missing LOG");
	if (!key)
		return cli_usage_error(cmd, verify_usage, "missing --key AUDIT.pub");
	if (merkle_only && !checkpoint)
		return cli_usage_error(cmd, verify_usage, "--merkle-only needs --checkpoint");

	/* A bad key is the key's problem, not the log's: name it as such. */
	struct tg_error err;
	unsigned char pk[KEYS_PUBLIC_BYTES];
	if (keys_load_public(key, pk, &err) < 0)
		return verify_report(json, log, false, 0, err.msg, false);

	uint64_t records = 0;
	if (merkle_only) {
		/* Only that the log holds exactly what the signed checkpoint
		   committed to: fast, but it says nothing of records after it. */
		if (cli_verify_against_checkpoint(log, checkpoint, key, &err) < 0)
			return verify_report(json, log, false, 0, err.msg, true);
		if (!json)
			printf("%s: its records hash to the root of %s (Merkle only: signatures not checked)\n",
			       log, checkpoint);
		return json ? verify_report(json, log, true, 0, NULL, true) : 0;
	}
	if (audit_verify_file(log, key, &records, &err) < 0)
		return verify_report(json, log, false, records, err.msg, true);
	/* Record by record it is sound; the checkpoint also says nothing was
	   cut from its end and nothing was rewritten wholesale since. */
	if (checkpoint && cli_verify_against_checkpoint(log, checkpoint, key, &err) < 0)
		return verify_report(json, log, false, records, err.msg, true);
	return verify_report(json, log, true, records, NULL, true);
}

/* ------------------------------------------------------------------ show */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool take_digits(const char **s, int n, int lo, int hi, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	if (v < lo || v > hi)
		return false;
	*s += n;
	*out = v;
	return true;
}

/*
 * An RFC 3339 date-time (any offset, optional fraction) or a bare date
 * (midnight UTC), as milliseconds since the epoch.
 */
static bool parse_time_ms(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
	if (!take_digits(&s, 4, 0, 9999, &y) || *s++ != '-' || !take_digits(&s, 2, 1, 12, &mo) ||
	    *s++ != '-' || !take_digits(&s, 2, 1, 31, &d))
		return false;
	int64_t offset_min = 0;
	if (*s != '\0') {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return false;
		s++;
		if (!take_digits(&s, 2, 0, 23, &h) || *s++ != ':' || !take_digits(&s, 2, 0, 59, &mi) ||
		    *s++ != ':' || !take_digits(&s, 2, 0, 60, &sec))
			return false;
		if (*s == '.') {
			int scale = 100, digits = 0;
			for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
				frac_ms += (*s - '0') * scale;
				scale /= 10;
			}
			if (digits == 0)
				return false;
		}
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			int sign = *s++ == '-' ? -1 : 1, oh, om;
			if (!take_digits(&s, 2, 0, 23, &oh) || *s++ != ':' || !take_digits(&s, 2, 0, 59, &om))
				return false;
			offset_min = sign * (oh * 60 + om);
		} else {
			return false;
		}
		if (*s != '\0')
			return false;
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
	*ms = secs * 1000 + frac_ms;
	return true;
}

/* Append the bytes of s to out (cap bytes), control characters made visible as '?'. */
static void append_safe(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *n + 4 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		/* C0, DEL, and C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F): all terminal controls. */
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			out[(*n)++] = '?';
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			out[(*n)++] = '?';
		} else {
			out[(*n)++] = (char)c;
		}
	}
	if (*n + 4 >= cap) {
		memcpy(out + *n, "...", 3);
		*n += 3;
	}
	out[*n] = '\0';
}

/* A record member as display text: "-" for null or missing. */
static const char *display_value(json_t *v, char *out, size_t cap)
{
	size_t n = 0;
	if (!v || json_is_null(v))
		return "-";
	if (json_is_string(v)) {
		append_safe(out, cap, &n, json_string_value(v), json_string_length(v));
		return out;
	}
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return "?";
	append_safe(out, cap, &n, text, strlen(text));
	free(text);
	return out;
}

static bool filter_matches(json_t *rec, const char *member, const char *want)
{
	if (!want)
		return true;
	json_t *v = json_object_get(rec, member);
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static void show_line(json_t *rec)
{
	char t[64], seq[32], ev[64], ag[64], us[64], tl[64], de[64], ex[64], re[256], result[330];
	json_t *exit_v = json_object_get(rec, "exit"), *reason = json_object_get(rec, "reason");

	if (exit_v && !json_is_null(exit_v)) {
		snprintf(result, sizeof result, "exit %s%s%s", display_value(exit_v, ex, sizeof ex),
		         json_is_string(reason) ? ": " : "",
		         json_is_string(reason) ? display_value(reason, re, sizeof re) : "");
	} else {
		snprintf(result, sizeof result, "%s", display_value(reason, re, sizeof re));
	}
	printf("%-24s %6s  %-16s %-16s %-16s %-20s %-8s %s\n",
	       display_value(json_object_get(rec, "time"), t, sizeof t),
	       display_value(json_object_get(rec, "seq"), seq, sizeof seq),
	       display_value(json_object_get(rec, "event"), ev, sizeof ev),
	       display_value(json_object_get(rec, "agent"), ag, sizeof ag),
	       display_value(json_object_get(rec, "user"), us, sizeof us),
	       display_value(json_object_get(rec, "tool"), tl, sizeof tl),
	       display_value(json_object_get(rec, "decision"), de, sizeof de), result);
}

int cli_audit_show(int argc, char **argv)
{
	static const char cmd[] = "toolgate audit show";
	const char *log = NULL, *tool = NULL, *user = NULL, *agent = NULL, *since = NULL;
	const char *until = NULL, *decision = NULL;
	bool json = false, options_done = false;
	int64_t since_ms = 0, until_ms = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int m = 0;
		if (!options_done && arg[0] == '-' && arg[1] != '\0') {
			if (strcmp(arg, "--") == 0) {
				options_done = true;
				continue;
			}
			if (cli_is_help(arg)) {
				printf("%s\n", show_usage);
				return 0;
			}
			if (strcmp(arg, "--json") == 0) {
				json = true;
				continue;
			}
			if ((m = cli_opt_value(argc, argv, &i, "--tool", &tool)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--user", &user)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--agent", &agent)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--decision", &decision)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--until", &until)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--since", &since)) == 0)
				return cli_usage_error(cmd, show_usage, "unknown option %s", arg);
			if (m < 0)
				return cli_usage_error(cmd, show_usage, "%s needs a value", arg);
			continue;
		}
		if (log)
			return cli_usage_error(cmd, show_usage, "unexpected argument %s", arg);
		log = arg;
	}
	if (!log)
		return cli_usage_error(cmd, show_usage, "missing LOG");
	if (since && !parse_time_ms(since, &since_ms))
		return cli_usage_error(cmd, show_usage,
		                   "--since: not an RFC 3339 time or YYYY-MM-DD date: %s", since);
	if (until && !parse_time_ms(until, &until_ms))
		return cli_usage_error(cmd, show_usage,
		                   "--until: not an RFC 3339 time or YYYY-MM-DD date: %s", until);

	struct tg_error err;
	struct audit_lines *l = audit_lines_open(log, &err);
	if (!l) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		return 1;
	}
	int rc = 0;
	unsigned long long line_no = 0;
	for (;;) {
		char *line;
		size_t len;
		bool complete, first;
		int got = audit_lines_next(l, &line, &len, &complete, &err);
		if (got < 0) {
			/* Nothing after an unreadable or oversize line can be placed. */
			fprintf(stderr, "%s: %s\n", cmd, err.msg);
			rc = 1;
			break;
		}
		if (got == 0)
			break;
		const char *path = audit_lines_file(l, &first)->path;
		line_no = first ? 1 : line_no + 1;
		json_error_t jerr;
		json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(rec)) {
			fprintf(stderr, "%s: %s: line %llu: %s (skipped)\n", cmd, path, line_no,
			        complete ? "not a JSON object" : "torn (no newline at end of file)");
			json_decref(rec);
			rc = 1;
			continue;
		}
		bool match = filter_matches(rec, "tool", tool) && filter_matches(rec, "user", user) &&
		             filter_matches(rec, "agent", agent) && filter_matches(rec, "decision", decision);
		if (match && (since || until)) {
			/* --since inclusive, --until exclusive: consecutive windows never overlap. */
			json_t *t = json_object_get(rec, "time");
			int64_t ms;
			match = json_is_string(t) && parse_time_ms(json_string_value(t), &ms) &&
			        (!since || ms >= since_ms) && (!until || ms < until_ms);
		}
		if (match) {
			if (json)
				printf("%.*s\n", (int)len, line);
			else
				show_line(rec);
		}
		json_decref(rec);
	}
	audit_lines_close(l);
	return rc;
}

/* ---------------------------------------------------------------- keygen */

int cli_keygen(int argc, char **argv)
{
	static const char cmd[] = "toolgate keygen";
	const char *prefix = NULL;

	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			printf("%s\n", keygen_usage);
			return 0;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--out", &prefix)) == 0)
			return cli_usage_error(cmd, keygen_usage, "unexpected argument %s", argv[i]);
		if (m < 0)
			return cli_usage_error(cmd, keygen_usage, "--out needs a file name prefix");
	}
	if (!prefix || !*prefix)
		return cli_usage_error(cmd, keygen_usage, "missing --out PREFIX");

	char key_path[PATH_MAX], pub_path[PATH_MAX];
	if (snprintf(key_path, sizeof key_path, "%s.key", prefix) >= (int)sizeof key_path ||
	    snprintf(pub_path, sizeof pub_path, "%s.pub", prefix) >= (int)sizeof pub_path)
		return cli_usage_error(cmd, keygen_usage, "--out: path too long");

	struct tg_error err;
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17];
	if (keys_generate(key_path, pub_path, &err) < 0 || keys_load_public(pub_path, pk, &err) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		return 1;
	}
	keys_key_id(pk, key_id);
	printf("wrote %s (private, mode 0600) and %s, key_id %s\n", key_path, pub_path, key_id);
	return 0;
}
