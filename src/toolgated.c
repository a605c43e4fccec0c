/*
 * toolgated: the broker daemon.  main() reads like the design: parse flags,
 * load and check the configuration, open the audit log, listen, serve until
 * SIGTERM has drained.
 */
#include "config.h"
#include "idem.h"
#include "log.h"
#include "metrics_http.h"
#include "note.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
"usage: toolgated [--config-dir DIR] [--state-dir DIR] [--socket PATH] [--socket-mode MODE]\n"
"                 [--socket-group GROUP] [--broker-id ID] [--foreground] [--check-config]\n"
"                 [--max-message BYTES] [--max-calls N] [--max-calls-per-connection N]\n"
"                 [--max-connections N] [--grace SECONDS] [--clock-skew SECONDS]\n"
"                 [--dynamic-uids FIRST-LAST] [--spare-sandboxes N] [--kernel-audit]\n"
"                 [--forward HOST[:PORT] --forward-ca FILE [--forward-cert FILE --forward-key FILE]]\n"
"                 [--audit-segment-size SIZE]\n"
"                 [--metrics-listen ADDRESS:PORT [--metrics-allow-remote]]\n"
"                 [--idempotency-window DURATION] [--idempotency-max-entries N] [--idempotency-max-mb MB]\n"
"                 [--page-size N]\n"
"\n"
"  --config-dir DIR     tools.d/, policies/, sandbox/, keys/issuers/ (default /etc/toolgate)\n"
"  --state-dir DIR      audit log and audit key (default /var/lib/toolgate)\n"
"  --socket PATH        listening socket (default /run/toolgate/toolgate.sock)\n"
"  --socket-mode MODE   octal permissions of the socket (default 0666)\n"
"  --socket-group GROUP group owner of the socket (a name or a gid)\n"
"  --broker-id ID       audience that delegation tokens must name (default: host name)\n"
"  --foreground         stay in the foreground (default: detach once listening)\n"
"  --check-config       validate the configuration, print a summary, exit 0 or 1\n"
"  --max-message BYTES  largest JSON-RPC message accepted (default 1048576)\n"
"  --max-calls N        tool calls in flight in total (default 256)\n"
"  --max-calls-per-connection N  in flight per connection (default 16)\n"
"  --max-connections N  open client connections (default 1024)\n"
"  --page-size N        tools per tools/list page (default 50)\n"
"  --grace SECONDS      on SIGTERM, how long running calls may finish (default 10)\n"
"  --clock-skew SECONDS tolerance on delegation tokens' nbf and exp (default 60; 0: none)\n"
"  --dynamic-uids FIRST-LAST  uids for tools with run_as \"dynamic\" (default 61184-65519)\n"
"  --spare-sandboxes N  sandboxes kept ready for the next call of the tool last called\n"
"                       (default 2; 0 builds each call's sandbox when the call comes)\n"
"  --forward HOST[:PORT] ship every audit record, in order, to a syslog collector over TLS\n"
"                       (RFC 5424 messages, RFC 5425 framing; port 6514 by default)\n"
"  --forward-ca FILE    the CAs the collector's certificate must chain to (required with --forward)\n"
"  --forward-cert FILE, --forward-key FILE   a client certificate and key, for mutual TLS\n"
"  --audit-segment-size SIZE  close audit.log as a segment audit-<first>-<last>.log once it\n"
"                       reaches SIZE bytes (K, M, G suffixes; default 64M; 0: never)\n"
"  --kernel-audit       turn the kernel's audit switch on (auditctl -e 1) while running, so that\n"
"                       each Landlock refusal is named by path (it is restored at stop)\n"
"  --metrics-listen ADDRESS:PORT  serve Prometheus metrics on http://ADDRESS:PORT/metrics\n"
"                       (no authentication: a loopback address such as 127.0.0.1:9464)\n"
"  --metrics-allow-remote  allow --metrics-listen on an address other hosts can reach\n"
"  --idempotency-window DURATION  how long the result of a call with an idempotency key is\n"
"                       kept for its retries, across restarts (default 24h)\n"
"  --idempotency-max-entries N, --idempotency-max-mb MB  bounds of that store; beyond them\n"
"                       new keys are refused until old ones expire (default 10000, 256)\n");
}

static int parse_uint(const char *flag, const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max || s[0] == '-') {
		fprintf(stderr, "toolgated: %s: \"%s\" is not a number between %llu and %llu\n", flag, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* BYTES[K|M|G] (powers of 1024); 0 or at least 1K. */
static int parse_size(const char *flag, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (errno || *end || end == s || s[0] == '-' || v > (1ull << 50) >> shift ||
	    (v != 0 && (v << shift) < 1024)) {
		fprintf(stderr, "toolgated: %s: \"%s\" is not a size: 0, or 1K and more (suffixes K, M, G)\n",
		        flag, s);
		return -1;
	}
	*out = v << shift;
	return 0;
}

/* Detach once listening, so that "toolgated && client" never races. */
static int detach(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_MAXMSG = 256, O_MAXCALLS, O_MAXCONN_CALLS, O_MAXCONNS, O_GRACE, O_SKEW, O_DYNUIDS, O_KAUDIT, O_SPARES, O_FWD,
	       O_FWD_CA, O_FWD_CERT, O_FWD_KEY, O_SEGMENT, O_METRICS, O_METRICS_REMOTE };
	enum { O_IDEM_WINDOW = 512, O_IDEM_ENTRIES, O_IDEM_MB, O_PAGE };
	static const struct option opts[] = {
		{ "config-dir", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "broker-id", required_argument, NULL, 'b' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "max-message", required_argument, NULL, O_MAXMSG },
		{ "max-calls", required_argument, NULL, O_MAXCALLS },
		{ "max-calls-per-connection", required_argument, NULL, O_MAXCONN_CALLS },
		{ "max-connections", required_argument, NULL, O_MAXCONNS },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "clock-skew", required_argument, NULL, O_SKEW },
		{ "dynamic-uids", required_argument, NULL, O_DYNUIDS },
		{ "kernel-audit", no_argument, NULL, O_KAUDIT },
		{ "spare-sandboxes", required_argument, NULL, O_SPARES },
		{ "forward", required_argument, NULL, O_FWD },
		{ "forward-ca", required_argument, NULL, O_FWD_CA },
		{ "forward-cert", required_argument, NULL, O_FWD_CERT },
		{ "forward-key", required_argument, NULL, O_FWD_KEY },
		{ "audit-segment-size", required_argument, NULL, O_SEGMENT },
		{ "metrics-listen", required_argument, NULL, O_METRICS },
		{ "metrics-allow-remote", no_argument, NULL, O_METRICS_REMOTE },
		{ "idempotency-window", required_argument, NULL, O_IDEM_WINDOW },
		{ "idempotency-max-entries", required_argument, NULL, O_IDEM_ENTRIES },
		{ "idempotency-max-mb", required_argument, NULL, O_IDEM_MB },
		{ "page-size", required_argument, NULL, O_PAGE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct server_options o;
	server_options_defaults(&o);
	bool foreground = false, check = false;
	char host[256] = "localhost";
	unsigned long long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.config_dir = optarg; break;
		case 's': o.state_dir = optarg; break;
		case 'S': o.socket_path = optarg; break;
		case 'b': o.broker_id = optarg; break;
		case 'f': foreground = true; break;
		case 'C': check = true; break;
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);
			if (*end || end == optarg || m > 0777) {
				fprintf(stderr, "toolgated: --socket-mode: \"%s\" is not an octal mode\n", optarg);
				return 2;
			}
			o.socket_mode = (mode_t)m;
			break;
		}
		case 'g': {
			/* A name, or a numeric gid as chown(1) and systemd's SocketGroup= take. */
			struct group *gr = getgrnam(optarg);
			char *end;
			errno = 0;
			unsigned long long gid = strtoull(optarg, &end, 10);
			if (gr) {
				o.socket_gid = gr->gr_gid;
			} else if (optarg[0] >= '0' && optarg[0] <= '9' && !*end && !errno && gid < 4294967295ull) {
				o.socket_gid = (gid_t)gid;
			} else {
				fprintf(stderr, "toolgated: --socket-group: no group \"%s\"\n", optarg);
				return 2;
			}
			break;
		}
		case O_MAXMSG:
			if (parse_uint("--max-message", optarg, 1, 64ull << 20, &v)) return 2;
			o.max_message = (size_t)v;
			break;
		case O_MAXCALLS:
			if (parse_uint("--max-calls", optarg, 1, 65536, &v)) return 2;
			o.max_calls = (unsigned)v;
			break;
		case O_MAXCONN_CALLS:
			if (parse_uint("--max-calls-per-connection", optarg, 1, 65536, &v)) return 2;
			o.max_calls_per_conn = (unsigned)v;
			break;
		case O_PAGE:
			if (parse_uint("--page-size", optarg, 1, 1000, &v)) return 2;
			o.page_size = (unsigned)v;
			break;
		case O_MAXCONNS:
			if (parse_uint("--max-connections", optarg, 1, 65536, &v)) return 2;
			o.max_conns = (unsigned)v;
			break;
		case O_GRACE:
			if (parse_uint("--grace", optarg, 1, 86400, &v)) return 2;
			o.grace_ms = (unsigned)v * 1000;
			break;
		case O_SKEW:
			if (parse_uint("--clock-skew", optarg, 0, 3600, &v)) return 2;
			o.clock_skew = (unsigned)v;
			break;
		case O_DYNUIDS: {
			unsigned long a, b;
			char dash, extra;
			if (sscanf(optarg, "%lu%c%lu%c", &a, &dash, &b, &extra) != 3 || dash != '-' ||
			    a == 0 || b < a || b > 4294967294ul) {
				fprintf(stderr, "toolgated: --dynamic-uids: \"%s\" is not FIRST-LAST (non-root uids)\n",
				        optarg);
				return 2;
			}
			o.dynamic_first = (uid_t)a;
			o.dynamic_last = (uid_t)b;
			break;
		case O_KAUDIT:
			o.kernel_audit = true;
			break;
		case O_FWD: {
			/* HOST, HOST:PORT, or [IPv6]:PORT */
			static char fhost[256];
			const char *colon = strrchr(optarg, ':');
			const char *close = strchr(optarg, ']');
			size_t hl = colon && (!close || colon > close) ? (size_t)(colon - optarg) : strlen(optarg);
			if (optarg[0] == '[' && close)
				hl = (size_t)(close - optarg - 1);
			if (hl == 0 || hl >= sizeof fhost) {
				fprintf(stderr, "toolgated: --forward: \"%s\" is not HOST[:PORT]\n", optarg);
				return 2;
			}
			/* "::1" must not be read as host ":" and port 1. */
			if (optarg[0] != '[' && strchr(optarg, ':') != colon) {
				fprintf(stderr, "toolgated: --forward: \"%s\" is not HOST[:PORT] (an IPv6 "
				        "address goes in brackets: [::1]:6514)\n", optarg);
				return 2;
			}
			memcpy(fhost, optarg + (optarg[0] == '[' ? 1 : 0), hl);
			fhost[hl] = '\0';
			o.forward_host = fhost;
			if (colon && (!close || colon > close)) {
				if (parse_uint("--forward (port)", colon + 1, 1, 65535, &v)) return 2;
				o.forward_port = (unsigned)v;
			}
			break;
		}
		case O_FWD_CA:
			o.forward_ca = optarg;
			break;
		case O_FWD_CERT:
			o.forward_cert = optarg;
			break;
		case O_FWD_KEY:
			o.forward_key = optarg;
			break;
		case O_SEGMENT:
			if (parse_size("--audit-segment-size", optarg, &o.audit_segment_bytes)) return 2;
			break;
		case O_METRICS:
			o.metrics_listen = optarg;
			break;
		case O_METRICS_REMOTE:
			o.metrics_allow_remote = true;
			break;
		case O_SPARES:
			if (parse_uint("--spare-sandboxes", optarg, 0, 4, &v)) return 2;
			o.spares = (unsigned)v;
			break;
		case O_IDEM_WINDOW:
			if (idem_parse_duration(optarg, &o.idem_window_ms) != 0) {
				fprintf(stderr, "toolgated: --idempotency-window: \"%s\" is not a duration "
				        "(90s, 15m, 24h, 7d or seconds; at most 365 days)\n", optarg);
				return 2;
			}
			break;
		case O_IDEM_ENTRIES:
			if (parse_uint("--idempotency-max-entries", optarg, 1, 10000000, &v)) return 2;
			o.idem_max_entries = (size_t)v;
			break;
		case O_IDEM_MB:
			if (parse_uint("--idempotency-max-mb", optarg, 1, 1048576, &v)) return 2;
			o.idem_max_bytes = (uint64_t)v << 20;
			break;
		}
		case 'h': usage(stdout); return 0;
		case 'V': printf("toolgated %s\n", TOOLGATE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "toolgated: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!o.broker_id) {
		if (gethostname(host, sizeof host - 1) != 0)
			strcpy(host, "localhost");
		o.broker_id = host;
	}

	if (!o.forward_host && (o.forward_ca || o.forward_cert || o.forward_key)) {
		fprintf(stderr, "toolgated: --forward-ca, --forward-cert and --forward-key go with --forward\n");
		return 2;
	}
	if (o.forward_host && !o.forward_ca) {
		fprintf(stderr, "toolgated: --forward needs --forward-ca FILE: the collector's certificate is always verified\n");
		return 2;
	}
	if (o.metrics_allow_remote && !o.metrics_listen) {
		fprintf(stderr, "toolgated: --metrics-allow-remote goes with --metrics-listen\n");
		return 2;
	}
	if ((o.forward_cert != NULL) != (o.forward_key != NULL)) {
		fprintf(stderr, "toolgated: --forward-cert and --forward-key go together\n");
		return 2;
	}
	struct tg_error err;
	if (o.metrics_listen && metrics_http_check_address(o.metrics_listen, o.metrics_allow_remote, &err) != 0) {
		fprintf(stderr, "toolgated: --metrics-listen: %s\n", err.msg);
		return 2;
	}
	/* It is also the origin and key name of the audit checkpoints (C2SP signed notes). */
	const char *why = strlen(o.broker_id) > 255 ? "is longer than 255 bytes" :
	                  note_key_name_problem(o.broker_id);
	if (why) {
		fprintf(stderr, "toolgated: --broker-id: \"%s\" %s; it names the audit checkpoints\n",
		        o.broker_id, why);
		return 2;
	}
	if (check) {
		struct config *c = config_load(o.config_dir, &err);
		if (!c) {
			fprintf(stderr, "toolgated: invalid configuration: %s\n", err.msg);
			return 1;
		}
		printf("%s: configuration valid: %zu tools, %zu sandbox profiles, digest %s\n",
		       c->dir, c->ntools, c->nprofiles, c->digest);
		config_unref(c);
		return 0;
	}
	umask(077);
	struct server s;
	if (server_init(&s, &o, &err) != 0) {
		fprintf(stderr, "toolgated: %s\n", err.msg);
		server_fini(&s);
		return 1;
	}
	if (!foreground && detach() != 0) {
		fprintf(stderr, "toolgated: cannot detach: %s\n", strerror(errno));
		server_fini(&s);
		return 1;
	}
	int rc = server_run(&s, &err);
	if (rc != 0)
		log_error("broker", "%s", err.msg);
	server_fini(&s);
	return rc == 0 ? 0 : 1;
}
