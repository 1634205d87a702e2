#include "config.h"
#include "cli.h"
#include "ui/actions.h"
#include "ui/ui.h"

#include <libintl.h>
#include <locale.h>
#include <string.h>

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	bindtextdomain(PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(PACKAGE, "UTF-8");
	textdomain(PACKAGE);
	/* the key list of the man page comes from the action table */
	if (argc == 2 && strcmp(argv[1], "--keys-man") == 0) {
		action_print_man();
		return 0;
	}
	return cli_main(argc, argv, ui_main);
}
