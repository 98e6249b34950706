/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a failed command tells the user beyond the message, from its
 * error's domain and code: the exit status, and the hint that names this
 * tool's options and commands (the library states facts and never names
 * them). One explicit table for the library's codes (VV_ERROR) and, when
 * built with libvirt, the libvirt side's (VV_VIRT_ERROR), not the order of
 * an enum: a code added in the middle, or an IO failure sorting before the
 * "refused" codes, would otherwise change what scripts see. README
 * promises: 1 when a change of the host failed or was refused, 2 when the
 * input must be fixed by the user.
 */
#include "vv-cli.h"
#if VV_CLI_WITH_LIBVIRT
#include "virt/vv-virt.h"
#endif

typedef struct {
	GQuark (*domain)(void);
	int code;
	int status;
	/* A whole sentence; %1$s is the device the command was given. */
	const char *hint;
} vv_cli_code;

#define VV_CLI_ROW(domain_, code_, status_, hint_) \
	{ .domain = domain_, .code = code_, .status = VV_CLI_EXIT_##status_, .hint = hint_ }
#define VV_CLI_LIB(code, status, hint) VV_CLI_ROW(vv_error_quark, VV_ERROR_##code, status, hint)
#define VV_CLI_VIRT(code, status, hint) VV_CLI_ROW(vv_virt_error_quark, VV_VIRT_ERROR_##code, status, hint)

/* One row per domain and code; test-cli-exit refuses a code without its
 * row, or with two. */
static const vv_cli_code vv_cli_codes[] = {
	/* Input the user must fix: a malformed device name, option, policy
	 * file or domain XML; a device or directory named that does not
	 * exist; a module directory (named or the sysroot's) that is unknown
	 * or libkmod cannot read; a sysroot not laid out like a host. */
	VV_CLI_LIB(INVALID_ARGUMENT, USAGE, NULL),
	VV_CLI_LIB(NOT_FOUND, USAGE, NULL),
	VV_CLI_LIB(MODULES, USAGE, N_("Give the kernel's module directory with --modules-dir.")),
	VV_CLI_LIB(SYSROOT, USAGE,
		   N_("Give --sysroot a directory laid out like a host's root (DIR/sys, DIR/lib/modules).")),
	/* A change of the host that failed or was refused. */
	VV_CLI_LIB(IO, FAILED, NULL),
	VV_CLI_LIB(NOT_ASSIGNABLE, FAILED, NULL),
	VV_CLI_LIB(IN_USE, FAILED, N_("Stop using %1$s first, or detach it anyway with --force.")),
	VV_CLI_LIB(BUSY, FAILED, N_("Try again when the other command is done, or wait longer with --timeout.")),
	VV_CLI_LIB(BIND, FAILED, NULL),
	VV_CLI_LIB(MODULE_LOAD, FAILED, NULL),
	VV_CLI_LIB(LIVE_HOST, FAILED, N_("The test suite acts on a copy of a host only: give it with --sysroot.")),
	VV_CLI_LIB(NEEDS_RECOVERY, FAILED, N_("Fix the cause, then run 'vfio-variant recover %1$s'.")),
	VV_CLI_LIB(DETACHED, FAILED, N_("Run 'vfio-variant reattach %1$s' first.")),
	VV_CLI_LIB(ASSIGNED, FAILED,
		   N_("Stop the domain first; if it is not running any more (its stop was cut short, or the hook's 'release end' failed), reattach %1$s with --force.")),
	VV_CLI_LIB(BLACKLISTED, FAILED,
		   N_("Remove the blacklist line, or choose another driver with --driver or --generic.")),
	VV_CLI_LIB(NO_PCI_DRIVER, FAILED, N_("Check that it is a PCI driver, or choose another with --driver.")),
	VV_CLI_LIB(RECORD, FAILED, N_("Move the record aside and run 'vfio-variant reattach %1$s'.")),
	/* Only the hook moves devices between VFIO drivers (vv_rebind()). */
	VV_CLI_LIB(NOT_DETACHED, FAILED, NULL),
	VV_CLI_LIB(GONE, FAILED,
		   N_("If it is not coming back, remove its record with 'vfio-variant reattach --force %1$s'.")),
	VV_CLI_LIB(DECLARED, FAILED,
		   N_("Remove the declaration with 'vfio-variant undeclare %1$s' (for a declaration by id, undeclare the id); that gives the device back to its host driver.")),
#if VV_CLI_WITH_LIBVIRT
	/* Nothing asked of libvirt could be answered for this input: the URI
	 * (no daemon there, or not this machine) or the device name. */
	VV_CLI_VIRT(CONNECT, USAGE, NULL),
	VV_CLI_VIRT(NOT_LOCAL, USAGE,
		    N_("Run vfio-variant on that host, with a local connection such as qemu:///system.")),
	VV_CLI_VIRT(NO_NODEDEV, USAGE, NULL),
	VV_CLI_VIRT(VERSION, USAGE, NULL),
	/* A change refused or failed: libvirt's own reason, or the sentence
	 * the command builds from the outcome, says what to do. */
	VV_CLI_VIRT(DOMAINS, FAILED, NULL),
	VV_CLI_VIRT(IN_USE, FAILED, NULL),
	VV_CLI_VIRT(DETACH_REFUSED, FAILED, NULL),
	VV_CLI_VIRT(REATTACH_REFUSED, FAILED, NULL),
	VV_CLI_VIRT(UNVERIFIED, FAILED, NULL),
	VV_CLI_VIRT(MOVE_FAILED, FAILED, NULL),
	VV_CLI_VIRT(NOT_RESTORED, FAILED, NULL),
	VV_CLI_VIRT(RECORD, FAILED, NULL),
#endif
};

static const vv_cli_code *
vv_cli_code_of(const GError *error)
{
	/* A code without a row (another domain's, or a newer library's) is
	 * a failure we cannot attribute to the input: a failure, without a
	 * hint. */
	if (!error)
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS(vv_cli_codes); i++)
		if (vv_cli_codes[i].domain() == error->domain && vv_cli_codes[i].code == error->code)
			return &vv_cli_codes[i];
	return NULL;
}

guint
vv_cli_exit_rows(const GError *error)
{
	guint rows = 0;

	for (guint i = 0; error && i < G_N_ELEMENTS(vv_cli_codes); i++)
		rows += vv_cli_codes[i].domain() == error->domain && vv_cli_codes[i].code == error->code;
	return rows;
}

int
vv_cli_exit_status(const GError *error)
{
	const vv_cli_code *row = vv_cli_code_of(error);

	return row ? row->status : VV_CLI_EXIT_FAILED;
}

/* The host's own module directory has no usable index (a container, a
 * kernel whose modules are gone): only the choice needs it, so list,
 * explain and nodedev-* show the rest and exit VV_CLI_EXIT_UNKNOWN (3).
 * A directory given with --modules-dir is the user's input to fix: 2. */
gboolean
vv_cli_choice_unknown(const vv_cli_globals *globals, const GError *error)
{
	return !globals->modules_dir && g_error_matches(error, VV_ERROR, VV_ERROR_MODULES);
}

char *
vv_cli_hint(const GError *error, const char *device)
{
	const vv_cli_code *row = vv_cli_code_of(error);
	GString *hint;

	if (!row || !row->hint)
		return NULL;
	/* Not a printf format: a hint that names no device is as valid as
	 * one that does. */
	hint = g_string_new(_(row->hint));
	/* TRANSLATORS: stands for the device in a hint when the command named none. */
	g_string_replace(hint, "%1$s", device ? device : _("DEVICE"), 0);
	return g_string_free(hint, FALSE);
}
