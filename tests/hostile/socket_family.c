/* socket_family alg|vsock|netlink|packet|raw|bluetooth: open a socket of a
   family (or type) a tool has no need for: the kernel crypto API, host-guest
   vsock, netlink (routing, audit, uevents), raw packets.  Escaped: a
   descriptor. */
#include "hostile.h"
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	const char *w = argc > 1 ? argv[1] : "alg";
	int fam, type = SOCK_STREAM, proto = 0;
	if (!strcmp(w, "alg")) {
		fam = AF_ALG;
		type = SOCK_SEQPACKET;
	} else if (!strcmp(w, "vsock")) {
		fam = AF_VSOCK;
	} else if (!strcmp(w, "netlink")) {
		fam = AF_NETLINK;
		type = SOCK_RAW;
	} else if (!strcmp(w, "packet")) {
		fam = AF_PACKET;
		type = SOCK_RAW;
	} else if (!strcmp(w, "raw")) {
		fam = AF_INET;
		type = SOCK_RAW;
		proto = IPPROTO_ICMP;
	} else if (!strcmp(w, "bluetooth")) {
		fam = AF_BLUETOOTH;
		type = SOCK_RAW;
	} else {
		return report(false, "usage: socket_family alg|vsock|netlink|packet|raw|bluetooth");
	}
	char call[64];
	snprintf(call, sizeof call, "socket(%s)", w);
	long fd = socket(fam, type | SOCK_CLOEXEC, proto);
	note_rc(&d, call, fd);
	return report(fd >= 0, d.buf);
}
