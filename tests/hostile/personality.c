/* personality: set READ_IMPLIES_EXEC (every readable mapping executable) and
   ADDR_NO_RANDOMIZE (no ASLR), both exploit helpers.  Escaped: either call
   succeeded. */
#include "hostile.h"
#include <sys/personality.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long a = personality(READ_IMPLIES_EXEC);
	note_rc(&d, "personality(READ_IMPLIES_EXEC)", a);
	long b = personality(ADDR_NO_RANDOMIZE);
	note_rc(&d, "personality(ADDR_NO_RANDOMIZE)", b);
	return report(a != -1 || b != -1, d.buf);
}
