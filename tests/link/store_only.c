/* store_only.c - the store linked with the core alone (CMakeLists.txt, link
 * checks): the build fails when the store reaches into the broker or the
 * CLI. Run, it opens a throw-away store (running every migration) and
 * closes it. */
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/tollgate-link-check-XXXXXX", url[96], path[64], err[300];
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/t.db", dir);
	snprintf(url, sizeof url, "sqlite:%s", path);
	store_t *s = store_open(url, false, err, sizeof err);
	if (s == NULL)
		fprintf(stderr, "link_check_store: %s\n", err);
	else
		store_close(s);
	char wal[80], shm[80];
	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	unlink(wal);
	unlink(shm);
	unlink(path);
	rmdir(dir);
	return s == NULL;
}
