/* LD_PRELOAD fault injector for tests/outbox_faults.sh: while FAIL_DIR_FSYNC is set, fsync() of a
 * directory fails with EIO (a CIFS share dropping during the flush after a rename); files are
 * fsynced for real. A plain shared object, outside libtool. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd)
{
	static int (*real)(int);
	struct stat st;
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (getenv("FAIL_DIR_FSYNC") && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}
