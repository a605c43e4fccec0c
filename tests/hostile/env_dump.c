/* env_dump NAME...: look through its environment for anything beyond the
   names given (the tool's own env and the scratch paths): the broker's
   variables, TOOLGATE_*, secrets meant for other tools.  Escaped: a name
   not on the list is present (only names are reported, never values). */
#include "hostile.h"

extern char **environ;

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	bool extra = false;
	int count = 0;
	for (char **e = environ; *e; e++) {
		size_t len = strcspn(*e, "=");
		bool allowed = false;
		for (int i = 1; i < argc; i++)
			if (strlen(argv[i]) == len && !strncmp(argv[i], *e, len))
				allowed = true;
		count++;
		if (!allowed) {
			extra = true;
			note(&d, "unexpected variable %.*s", (int)len, *e);
		}
	}
	note(&d, "%d variables", count);
	return report(extra, d.buf);
}
