/* edge_only.c - the edge linked with core and the shell alone
 * (CMakeLists.txt, link checks): the build fails when the edge reaches
 * into the store, the broker or the CLI. Run, it prints its help. */
#include "edge/edge_main.h"
#include <stddef.h>

int main(void)
{
	char *argv[] = {"edge", "--help", NULL};
	return cmd_edge_run(2, argv);
}
