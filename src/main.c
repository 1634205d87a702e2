#include "config.h"
#include "cli/cli.h"
#include "ui/actions.h"
#include "ui/ui.h"

#include <libintl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The installed translations, else those of the build tree (running uninstalled, as the quick
 * start and the tests do). */
static const char *locale_dir(void)
{
	const char *e = getenv("IKEN_LOCALEDIR");
	if (e && *e)
		return e;
	if (access(LOCALEDIR "/ja/LC_MESSAGES/" PACKAGE ".mo", R_OK) == 0)
		return LOCALEDIR;
	if (access(BUILDDIR "/locale/ja/LC_MESSAGES/" PACKAGE ".mo", R_OK) == 0)
		return BUILDDIR "/locale";
	return LOCALEDIR;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	bindtextdomain(PACKAGE, locale_dir());
	bind_textdomain_codeset(PACKAGE, "UTF-8");
	textdomain(PACKAGE);
	/* the key list of the man page comes from the action table */
	if (argc == 2 && strcmp(argv[1], "--keys-man") == 0) {
		action_print_man();
		return 0;
	}
	return cli_main(argc, argv, ui_main);
}
