/* audit_tamper DIR HOW SEQ: edits the store's audit trail behind iken's back (tamperlib.h says
 * how), for tests/audit.sh. */
#include "config.h"
#include "tamperlib.h"
#include "util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	uint64_t seq = 0;
	if (argc != 4 || parse_u64(argv[3], &seq)) {
		fprintf(stderr, "usage: audit_tamper DIR HOW SEQ\n");
		return 2;
	}
	return tamper(argv[1], argv[2], seq) ? 1 : 0;
}
