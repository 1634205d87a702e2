#include "config.h"
#include "cli.h"

#include <libintl.h>
#include <locale.h>

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	bindtextdomain(PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(PACKAGE, "UTF-8");
	textdomain(PACKAGE);
	return cli_main(argc, argv);
}
