/* jobrunner: a declarative job runner. Everything happens in cli.c. */
#include "cli.h"

int main(int argc, char **argv)
{
	return jr_cli_main(argc, argv);
}
