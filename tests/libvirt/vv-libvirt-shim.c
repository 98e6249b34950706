/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A preloaded stand-in for what libvirt's test driver cannot do, so that
 * test-nodedev-cli.sh reaches the paths after a successful detach:
 *   virNodeDeviceDetachFlags runs the shell command $VV_SHIM_DETACH (the
 *   test's copy of libvirt's three writes, through the fake kernel) and
 *   succeeds when it does; unset, libvirt's own function answers.
 *   vv_rebind (the CLI's call into the library) runs $VV_SHIM_BEFORE_REBIND
 *   and $VV_SHIM_AFTER_REBIND around the real one, so that a test can
 *   change the record between the library's writes and the CLI's read.
 * Built by tests/meson.build, passed to test-nodedev-cli.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

static void
vv_shim_run(const char *variable)
{
	const char *command = getenv(variable);

	if (command && system(command) != 0)
		abort();
}

int virNodeDeviceDetachFlags(void *dev, const char *driver, unsigned int flags);
void *vv_rebind(void *ctx, const char *device, const void *options, void **error);

int
virNodeDeviceDetachFlags(void *dev, const char *driver, unsigned int flags)
{
	int (*real)(void *, const char *, unsigned int);
	const char *command = getenv("VV_SHIM_DETACH");

	if (command)
		return system(command) == 0 ? 0 : -1;
	real = (int (*)(void *, const char *, unsigned int))dlsym(RTLD_NEXT, "virNodeDeviceDetachFlags");
	return real(dev, driver, flags);
}

void *
vv_rebind(void *ctx, const char *device, const void *options, void **error)
{
	void *(*real)(void *, const char *, const void *, void **);
	void *result;

	real = (void *(*)(void *, const char *, const void *, void **))dlsym(RTLD_NEXT, "vv_rebind");
	vv_shim_run("VV_SHIM_BEFORE_REBIND");
	result = real(ctx, device, options, error);
	vv_shim_run("VV_SHIM_AFTER_REBIND");
	return result;
}
