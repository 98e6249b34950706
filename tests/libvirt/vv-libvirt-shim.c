/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A preloaded stand-in for what libvirt's test driver cannot do, so that
 * test-nodedev-cli.sh and test-virt-protocol reach the paths after a
 * successful detach or reattach:
 *   virNodeDeviceDetachFlags runs the shell command $VV_SHIM_DETACH (the
 *   test's copy of libvirt's three writes, through the fake kernel), with
 *   the driver name libvirt was given in $VV_SHIM_DRIVER ("" for NULL), and
 *   succeeds when it does; unset, libvirt's own function answers.
 *   virNodeDeviceReAttach does the same with $VV_SHIM_REATTACH.
 *   A failed command leaves libvirt's last error "shim: COMMAND failed".
 *   virConnectGetLibVersion answers $VV_SHIM_VERSION (9007000: 9.7.0)
 *   when it is set, as a daemon of that version would.
 *   $VV_SHIM_LOG, when set, gets one line per call: "detach DRIVER",
 *   "reattach".
 *   vv_rebind (the library's move between VFIO drivers) runs
 *   $VV_SHIM_BEFORE_REBIND and $VV_SHIM_AFTER_REBIND around the real one,
 *   so that a test can change the record between the library's writes and
 *   the caller's read.
 * Built by tests/meson.build, passed to the tests that preload it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libvirt's public virError (libvirt/virterror.h), as far as virSetError()
 * reads it; declared here so that the shim builds without libvirt's
 * headers. */
typedef struct {
	int code;
	int domain;
	char *message;
	int level;
	void *conn;
	void *dom;
	char *str1, *str2, *str3;
	int int1, int2;
	void *net;
} vv_shim_error;

static void
vv_shim_run(const char *variable)
{
	const char *command = getenv(variable);

	if (command && system(command) != 0)
		abort();
}

static void
vv_shim_log(const char *what, const char *driver)
{
	const char *path = getenv("VV_SHIM_LOG");
	FILE *log;

	if (!path || !(log = fopen(path, "a")))
		return;
	fprintf(log, driver ? "%s %s\n" : "%s\n", what, driver);
	fclose(log);
}

/* Run COMMAND; on failure set libvirt's last error, as libvirt would. */
static int
vv_shim_command(const char *variable, const char *command)
{
	int (*set_error)(vv_shim_error *);
	char message[256];
	vv_shim_error error = { 0 };

	if (system(command) == 0)
		return 0;
	snprintf(message, sizeof(message), "shim: %s failed", variable);
	error.code = 1; /* VIR_ERR_INTERNAL_ERROR */
	error.level = 2; /* VIR_ERR_ERROR */
	error.message = message;
	set_error = (int (*)(vv_shim_error *))dlsym(RTLD_DEFAULT, "virSetError");
	if (set_error)
		set_error(&error);
	return -1;
}

int virNodeDeviceDetachFlags(void *dev, const char *driver, unsigned int flags);
int virNodeDeviceReAttach(void *dev);
int virConnectGetLibVersion(void *conn, unsigned long *version);
void *vv_rebind(void *ctx, const char *device, const void *options, void **error);

int
virNodeDeviceDetachFlags(void *dev, const char *driver, unsigned int flags)
{
	int (*real)(void *, const char *, unsigned int);
	const char *command = getenv("VV_SHIM_DETACH");

	vv_shim_log("detach", driver ? driver : "");
	if (command) {
		setenv("VV_SHIM_DRIVER", driver ? driver : "", 1);
		return vv_shim_command("VV_SHIM_DETACH", command);
	}
	real = (int (*)(void *, const char *, unsigned int))dlsym(RTLD_NEXT, "virNodeDeviceDetachFlags");
	return real(dev, driver, flags);
}

int
virNodeDeviceReAttach(void *dev)
{
	int (*real)(void *);
	const char *command = getenv("VV_SHIM_REATTACH");

	vv_shim_log("reattach", NULL);
	if (command)
		return vv_shim_command("VV_SHIM_REATTACH", command);
	real = (int (*)(void *))dlsym(RTLD_NEXT, "virNodeDeviceReAttach");
	return real(dev);
}

int
virConnectGetLibVersion(void *conn, unsigned long *version)
{
	int (*real)(void *, unsigned long *);
	const char *fake = getenv("VV_SHIM_VERSION");

	if (fake) {
		*version = strtoul(fake, NULL, 10);
		return 0;
	}
	real = (int (*)(void *, unsigned long *))dlsym(RTLD_NEXT, "virConnectGetLibVersion");
	return real(conn, version);
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
