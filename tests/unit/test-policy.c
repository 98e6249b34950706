/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy file (vfio-variant.conf): one labelled case per rule of its
 * resolution and of the selection that applies it, and one per parse
 * error, on the hook host (tests/hosts/hook.toml).
 */
#include <string.h>

#include <glib/gstdio.h>

#include "vv-test-hosts.h"

static char *vv_test_dir;

/* A context on the hook host reading TEXT as its policy file (NULL: the
 * host's default path, which does not exist). */
static vv_ctx *
vv_test_open_policy(const char *text)
{
	const char *hosts = g_getenv("VV_TEST_HOSTS");
	g_autofree char *root = g_build_filename(hosts ? hosts : ".", "hook", NULL);
	g_autofree char *path = g_build_filename(vv_test_dir, "vfio-variant.conf", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	if (text) {
		g_assert_true(g_file_set_contents(path, text, -1, NULL));
		vv_ctx_options_set_config_file(options, path);
	}
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	return ctx;
}

static vv_selection *
vv_test_select(vv_ctx *ctx, const char *address, GError **error)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, address, error);

	g_assert_nonnull(device);
	return vv_selection_new(ctx, device, error);
}

/* ---- resolution and selection ---------------------------------------- */

typedef struct {
	const char *label;
	const char *config;
	const char *address;
	const char *module;          /* selected, NULL: nothing */
	vv_policy_action action;
	vv_policy_scope scope;
	guint line;
	vv_hook_mode mode;
	vv_alias_source source;      /* of the selected candidate */
	const char *summary;         /* a phrase the summary holds */
} vv_policy_case;

#define GLOBAL_STRICT "[global]\nhook-mode=strict\n"

static const vv_policy_case vv_policy_cases[] = {
	{ "no rule: auto, selection as before", "# nothing\n", "0000:00:01.0", "acme_vfio_pci",
	  VV_POLICY_AUTO, VV_POLICY_SCOPE_DEFAULT, 0, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, "acme_vfio_pci is selected" },
	{ "device deny selects nothing", "[device 0000:00:01.0]\ndriver=deny\n", "0000:00:01.0", NULL,
	  VV_POLICY_DENY, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, 0, "The policy denies this device ([device 0000:00:01.0] in " },
	{ "device rule in libvirt's name form", "[device pci_0000_00_01_0]\ndriver=deny\n", "0000:00:01.0", NULL,
	  VV_POLICY_DENY, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, 0, "line 2" },
	{ "id generic selects vfio_pci over the variant", "[id abcd:0001]\ndriver=generic\n", "0000:00:05.0", "vfio_pci",
	  VV_POLICY_GENERIC, VV_POLICY_SCOPE_ID, 2, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, "the policy asks for the generic driver" },
	{ "id in capitals", "[id ABCD:0001]\ndriver=generic\n", "0000:00:01.0", "vfio_pci",
	  VV_POLICY_GENERIC, VV_POLICY_SCOPE_ID, 2, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "driver=vfio-pci is generic", "[global]\ndriver=vfio-pci\n", "0000:00:01.0", "vfio_pci",
	  VV_POLICY_GENERIC, VV_POLICY_SCOPE_GLOBAL, 2, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "global deny", "[global]\ndriver=deny\n", "0000:00:03.0", NULL,
	  VV_POLICY_DENY, VV_POLICY_SCOPE_GLOBAL, 2, VV_HOOK_MODE_FALLBACK, 0, "nothing is selected" },
	{ "device beats id beats global",
	  "[global]\ndriver=deny\n[id abcd:0001]\ndriver=generic\n[device 0000:00:05.0]\ndriver=auto\n", "0000:00:05.0", "acme_vfio_pci",
	  VV_POLICY_AUTO, VV_POLICY_SCOPE_DEVICE, 6, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "id beats global",
	  "[global]\ndriver=deny\n[id abcd:0001]\ndriver=generic\n[device 0000:00:05.0]\ndriver=auto\n", "0000:00:01.0", "vfio_pci",
	  VV_POLICY_GENERIC, VV_POLICY_SCOPE_ID, 4, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "global when nothing more specific",
	  "[global]\ndriver=deny\n[id abcd:0001]\ndriver=generic\n", "0000:00:03.0", NULL,
	  VV_POLICY_DENY, VV_POLICY_SCOPE_GLOBAL, 2, VV_HOOK_MODE_FALLBACK, 0, NULL },
	{ "named driver whose aliases do not match", "[device 0000:00:03.0]\ndriver=other_vfio_pci\n", "0000:00:03.0", "other_vfio_pci",
	  VV_POLICY_DRIVER, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_POLICY, "the policy names it" },
	{ "named by its driver name", "[device 0000:00:02.0]\ndriver=picky_vfio_pci\n", "0000:00:02.0", "picky_vfio_pci",
	  VV_POLICY_DRIVER, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, "driver picky_vfio_pci" },
	{ "named with '-' for '_'", "[device 0000:00:03.0]\ndriver=other-vfio-pci\n", "0000:00:03.0", "other_vfio_pci",
	  VV_POLICY_DRIVER, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_POLICY, NULL },
	{ "named driver that does not exist", "[device 0000:00:01.0]\ndriver=nosuch_vfio_pci\n", "0000:00:01.0", NULL,
	  VV_POLICY_DRIVER, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, 0, "no such module or driver" },
	{ "named driver blacklisted", "[device 0000:00:06.0]\ndriver=blocked_vfio_pci\n", "0000:00:06.0", NULL,
	  VV_POLICY_DRIVER, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, 0, "modprobe.d blacklists it" },
	{ "policy does not make a bridge assignable", "[device 0000:00:1c.0]\ndriver=generic\n", "0000:00:1c.0", NULL,
	  VV_POLICY_GENERIC, VV_POLICY_SCOPE_DEVICE, 2, VV_HOOK_MODE_FALLBACK, 0, "PCI bridge" },
	{ "hook mode from global", GLOBAL_STRICT, "0000:00:01.0", "acme_vfio_pci",
	  VV_POLICY_AUTO, VV_POLICY_SCOPE_DEFAULT, 0, VV_HOOK_MODE_STRICT, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "hook mode: device beats global",
	  GLOBAL_STRICT "[device 0000:00:01.0]\nhook-mode=fallback\n", "0000:00:01.0", "acme_vfio_pci",
	  VV_POLICY_AUTO, VV_POLICY_SCOPE_DEFAULT, 0, VV_HOOK_MODE_FALLBACK, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "driver and hook mode resolve apart",
	  "[global]\ndriver=generic\n[device 0000:00:01.0]\nhook-mode=strict\n", "0000:00:01.0", "vfio_pci",
	  VV_POLICY_GENERIC, VV_POLICY_SCOPE_GLOBAL, 2, VV_HOOK_MODE_STRICT, VV_ALIAS_SOURCE_MODULES_ALIAS, NULL },
	{ "comments, blanks, spaces around '='",
	  "# policy\n\n  [device 0000:00:01.0]  \n  driver = deny  \n", "0000:00:01.0", NULL,
	  VV_POLICY_DENY, VV_POLICY_SCOPE_DEVICE, 4, VV_HOOK_MODE_FALLBACK, 0, NULL },
};

static void
test_policy_case(gconstpointer data)
{
	const vv_policy_case *c = data;
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(c->config);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = vv_test_select(ctx, c->address, &error);
	const vv_policy *policy;
	const vv_candidate *selected;

	g_assert_no_error(error);
	policy = vv_selection_get_policy(selection);
	selected = vv_selection_get_selected(selection);
	g_assert_cmpint(vv_policy_get_action(policy), ==, c->action);
	g_assert_cmpint(vv_policy_get_scope(policy), ==, c->scope);
	g_assert_cmpuint(vv_policy_get_line(policy), ==, c->line);
	g_assert_cmpint(vv_policy_get_hook_mode(policy), ==, c->mode);
	g_assert_nonnull(vv_policy_get_file(policy));
	g_assert_nonnull(strstr(vv_policy_describe(policy), c->scope ? "line" : "has no rule"));
	if (c->summary)
		g_assert_nonnull(strstr(vv_selection_get_summary(selection), c->summary));
	if (!c->module) {
		g_assert_null(selected);
		return;
	}
	g_assert_nonnull(selected);
	g_assert_cmpstr(vv_candidate_get_module(selected), ==, c->module);
	g_assert_cmpint(vv_candidate_get_source(selected), ==, c->source);
	/* The policy's choice is always the first candidate. */
	g_assert_true(selected == g_ptr_array_index(vv_selection_get_candidates(selection), 0));
	g_assert_true(g_str_has_prefix(vv_candidate_get_verdict(selected), "Selected"));
	if (c->action != VV_POLICY_AUTO)
		g_assert_nonnull(strstr(vv_candidate_get_verdict(selected), "policy"));
}

/* Without a file: auto, nothing said; the path is the sysroot's etc/. */
static void
test_policy_no_file(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = vv_test_select(ctx, "0000:00:01.0", &error);
	const vv_policy *policy = vv_selection_get_policy(selection);
	g_autofree char *xml = vv_selection_to_xml(selection, FALSE);

	g_assert_no_error(error);
	g_assert_true(g_str_has_suffix(vv_ctx_get_config_file(ctx), "/hook/etc/vfio-variant/vfio-variant.conf"));
	g_assert_null(vv_policy_get_file(policy));
	g_assert_cmpint(vv_policy_get_action(policy), ==, VV_POLICY_AUTO);
	g_assert_cmpint(vv_policy_get_hook_mode(policy), ==, VV_HOOK_MODE_FALLBACK);
	g_assert_null(strstr(xml, "<policy"));
	g_assert_cmpstr(vv_candidate_get_module(vv_selection_get_selected(selection)), ==, "acme_vfio_pci");
}

/* A file named by the caller must exist. */
static void
test_policy_named_file_missing(void)
{
	const char *hosts = g_getenv("VV_TEST_HOSTS");
	g_autofree char *root = g_build_filename(hosts ? hosts : ".", "hook", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = NULL;

	vv_ctx_options_set_sysroot(options, root);
	vv_ctx_options_set_config_file(options, "/nonexistent/vfio-variant.conf");
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	selection = vv_test_select(ctx, "0000:00:01.0", &error);
	g_assert_null(selection);
	g_assert_error(error, VV_ERROR, VV_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "/nonexistent/vfio-variant.conf"));
}

/* The XML says which rule applied, with stable keywords. */
static void
test_policy_xml(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(GLOBAL_STRICT "[device 0000:00:03.0]\ndriver=other_vfio_pci\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = vv_test_select(ctx, "0000:00:03.0", &error);
	g_autoptr(vv_selection) auto_selection = vv_test_select(ctx, "0000:00:01.0", &error);
	g_autofree char *xml = vv_selection_to_xml(selection, FALSE);
	g_autofree char *auto_xml = vv_selection_to_xml(auto_selection, FALSE);

	g_assert_no_error(error);
	g_assert_nonnull(strstr(xml, "<policy action=\"driver\" driver=\"other_vfio_pci\" scope=\"device\" line=\"4\" hook-mode=\"strict\" host-use=\"refuse\"/>"));
	g_assert_nonnull(strstr(xml, "<selected module=\"other_vfio_pci\""));
	g_assert_nonnull(strstr(xml, "source=\"policy\""));
	g_assert_nonnull(strstr(auto_xml, "<policy action=\"auto\" scope=\"default\" hook-mode=\"strict\" host-use=\"refuse\"/>"));
}

/* The selection's policy is borrowed (transfer none), and a reference
 * keeps it after the selection is gone. */
static void
test_policy_outlives_selection(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_policy("[device 0000:00:03.0]\ndriver=other_vfio_pci\n");
	g_autoptr(GError) error = NULL;
	vv_selection *selection = vv_test_select(ctx, "0000:00:03.0", &error);
	g_autoptr(vv_policy) policy = NULL;

	g_assert_no_error(error);
	policy = vv_policy_ref(vv_selection_get_policy(selection));
	vv_selection_unref(selection);
	g_assert_cmpint(vv_policy_get_action(policy), ==, VV_POLICY_DRIVER);
	g_assert_cmpstr(vv_policy_get_driver(policy), ==, "other_vfio_pci");
	g_assert_cmpuint(vv_policy_get_line(policy), ==, 2);
}

/* A deny holds against a named driver too: detach refuses before any
 * write (VV_TESTSUITE keeps the live host out of reach anyway). */
static void
test_policy_deny_refuses_detach(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_policy("[device 0000:00:01.0]\ndriver=deny\n");
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(GError) error = NULL;

	vv_bind_options_set_driver(options, "vfio_pci");
	vv_bind_options_set_flags(options, VV_BIND_DRY_RUN);
	result = vv_detach(ctx, "0000:00:01.0", options, &error);
	g_assert_null(result);
	g_assert_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE);
	g_assert_nonnull(strstr(error->message, "The policy denies this device"));
}

/* A driver named through the API is checked as the CLI's --driver is,
 * before the device is even read: each of these named a directory under
 * sys/bus/pci/drivers or sys/module, or an override no driver matches. */
static void
test_bind_options_driver_checked(void)
{
	static const char *const names[] = { "..", ".", "/", "../..", "vfio-pci/", "", "../module/vfio_pci" };
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(NULL);

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(vv_bind_options) options = vv_bind_options_new();
		g_autoptr(vv_bind_result) result = NULL;
		g_autoptr(GError) error = NULL;

		vv_bind_options_set_driver(options, names[i]);
		vv_bind_options_set_flags(options, VV_BIND_DRY_RUN);
		result = vv_detach(ctx, "0000:00:01.0", options, &error);
		g_assert_null(result);
		g_assert_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, "is not a driver or module name"));
	}
}

/* ---- errors: the file, the line, what to write ------------------------- */

typedef struct {
	const char *label;
	const char *config;
	const char *where;  /* "line N" */
	const char *hint;   /* a phrase of the advice */
} vv_policy_error_case;

static const vv_policy_error_case vv_policy_error_cases[] = {
	{ "value of driver that is no name", "[global]\ndriver=../evil.ko\n", "line 2", "write driver=auto, driver=generic" },
	{ "comment after a value", "[global]\ndriver=deny # no\n", "line 2", "no comment after the value" },
	{ "unknown key", "\n[global]\ndrvier=deny\n", "line 3", "'drvier' is not a key" },
	{ "localized key", "[global]\ndriver[de]=deny\n", "line 2", "is not a key" },
	{ "unknown value of hook-mode", "[global]\nhook-mode=lenient\n", "line 2", "hook-mode=fallback" },
	{ "unknown group", "[devices 0000:00:01.0]\ndriver=deny\n", "line 1", "write [global], [id VENDOR:DEVICE]" },
	{ "bad address", "[device 00:01]\ndriver=deny\n", "line 1", "[device 0000:03:00.1]" },
	{ "bad id", "[id abcd:1]\ndriver=deny\n", "line 1", "[id 15b3:101e]" },
	{ "key before any group", "driver=deny\n", "line 1", "comes before any group" },
	{ "a line that is nothing", "[global]\ndeny\n", "line 2", "is not a [group], a key=value line" },
	{ "duplicate key", "[global]\ndriver=deny\ndriver=auto\n", "line 3", "first on line 2" },
	{ "the same device twice", "[device 0000:00:01.0]\ndriver=deny\n[device pci_0000_00_01_0]\ndriver=auto\n", "line 3", "group on line 1" },
	{ "unterminated group", "[global\n", "line 1", "must end with ']'" },
	{ "driver is dot-dot", "[global]\ndriver=..\n", "line 2", "not '.' or '..'" },
	{ "driver is a dot", "[device 0000:00:01.0]\ndriver=.\n", "line 2", "not '.' or '..'" },
	{ "driver is a slash", "[global]\ndriver=/\n", "line 2", "'/' is not a value of driver" },
	{ "driver ends in a slash", "[global]\ndriver=vfio-pci/\n", "line 2", "'vfio-pci/' is not a value of driver" },
	{ "driver empty", "[global]\ndriver=\n", "line 2", "'' is not a value of driver" },
	{ "driver of 256 bytes", "[global]\ndriver="
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "line 2", "1 to 255 letters" },
	{ "an ESC in a value is echoed escaped", "[global]\ndriver=\x1b[31mred\n", "line 2", "'\\x1b[31mred' is not a value" },
	{ "an ESC in a group is echoed escaped", "[device \x1b]0;x\x07]\n", "line 1", "'[device \\x1b]0;x\\x07]'" },
	{ "unknown value of host-use", "[global]\nhost-use=sometimes\n", "line 2", "host-use=refuse" },
	{ "host-use twice", "[global]\nhost-use=allow\nhost-use=refuse\n", "line 3", "first on line 2" },
};

static void
test_policy_error_case(gconstpointer data)
{
	const vv_policy_error_case *c = data;
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(c->config);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = vv_test_select(ctx, "0000:00:01.0", &error);
	g_autofree char *where = g_strdup_printf("vfio-variant.conf %s:", c->where);

	g_assert_null(selection);
	g_assert_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT);
	if (!strstr(error->message, where) || !strstr(error->message, c->hint))
		g_error("'%s' lacks '%s' or '%s'", error->message, where, c->hint);
}

/* Bytes that are no text are no name: the line is named. */
static void
test_policy_not_utf8(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_policy("[global]\ndriver=\xff\xfe\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = vv_test_select(ctx, "0000:00:01.0", &error);

	g_assert_null(selection);
	g_assert_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "vfio-variant.conf line 2:"));
}

/* ---- host-use: may the hook give a guest what the host uses? ---------- */

typedef struct {
	const char *label;
	const char *config;
	const char *address;
	vv_host_use expect;
} vv_host_use_case;

static const vv_host_use_case vv_host_use_cases[] = {
	{ "default refuse", "# nothing\n", "0000:00:01.0", VV_HOST_USE_REFUSE },
	{ "global allow", "[global]\nhost-use=allow\n", "0000:00:01.0", VV_HOST_USE_ALLOW },
	{ "id allow beats global refuse", "[global]\nhost-use=refuse\n[id abcd:0001]\nhost-use=allow\n", "0000:00:05.0", VV_HOST_USE_ALLOW },
	{ "device refuse beats id allow", "[id abcd:0001]\nhost-use=allow\n[device 0000:00:05.0]\nhost-use=refuse\n", "0000:00:05.0", VV_HOST_USE_REFUSE },
	{ "another device's rule does not apply", "[device 0000:00:01.0]\nhost-use=allow\n", "0000:00:03.0", VV_HOST_USE_REFUSE },
	{ "resolved apart from driver", "[global]\nhost-use=allow\n[device 0000:00:01.0]\ndriver=generic\n", "0000:00:01.0", VV_HOST_USE_ALLOW },
};

static void
test_host_use_case(gconstpointer data)
{
	const vv_host_use_case *c = data;
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(c->config);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_selection) selection = vv_test_select(ctx, c->address, &error);
	g_autofree char *xml = NULL;
	g_autofree char *attribute = g_strdup_printf("host-use=\"%s\"", vv_host_use_to_string(c->expect));

	g_assert_no_error(error);
	g_assert_cmpint(vv_policy_get_host_use(vv_selection_get_policy(selection)), ==, c->expect);
	xml = vv_selection_to_xml(selection, FALSE);
	g_assert_nonnull(strstr(xml, attribute));
}

/* ---- which names are VFIO drivers (the hook's <driver model>) ---------- */

typedef struct {
	const char *name;
	gboolean vfio;
} vv_vfio_driver_case;

static const vv_vfio_driver_case vv_vfio_driver_cases[] = {
	{ "vfio_pci", TRUE },          /* the generic module */
	{ "vfio-pci", TRUE },          /* its driver, registered */
	{ "acme_vfio_pci", TRUE },     /* a variant not loaded: its aliases */
	{ "acme-vfio-pci", TRUE },     /* the same, '-' for '_' */
	{ "picky_vfio_pci", TRUE },    /* a loaded variant's driver */
	{ "blocked_vfio_pci", TRUE },  /* blacklisted, still a VFIO driver */
	{ "abcd_nic", FALSE },         /* a host driver, loaded */
	{ "abcd_native", FALSE },
	{ "pcieport", FALSE },         /* built in, no module */
	{ "e1000e", FALSE },           /* nowhere on this host */
	{ "..", FALSE },
	{ ".", FALSE },
	{ "", FALSE },
	{ "../vfio-pci", FALSE },
	{ "vfio-pci/", FALSE },
	{ "drivers/vfio-pci", FALSE },
};

static void
test_vfio_driver_cases(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_policy(NULL);

	for (guint i = 0; i < G_N_ELEMENTS(vv_vfio_driver_cases); i++) {
		const vv_vfio_driver_case *c = &vv_vfio_driver_cases[i];

		if (vv_ctx_is_vfio_driver(ctx, c->name) != c->vfio)
			g_error("vv_ctx_is_vfio_driver('%s') is %s", c->name, c->vfio ? "FALSE" : "TRUE");
	}
	g_assert_false(vv_ctx_is_vfio_driver(ctx, NULL));
}

int
main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);
	vv_test_dir = g_dir_make_tmp("vv-test-policy.XXXXXX", NULL);
	g_assert_nonnull(vv_test_dir);
	for (guint i = 0; i < G_N_ELEMENTS(vv_policy_cases); i++) {
		g_autofree char *path = g_strdup_printf("/policy/%s", vv_policy_cases[i].label);

		g_test_add_data_func(path, &vv_policy_cases[i], test_policy_case);
	}
	for (guint i = 0; i < G_N_ELEMENTS(vv_policy_error_cases); i++) {
		g_autofree char *path = g_strdup_printf("/policy/error/%s", vv_policy_error_cases[i].label);

		g_test_add_data_func(path, &vv_policy_error_cases[i], test_policy_error_case);
	}
	g_test_add_func("/policy/no-file", test_policy_no_file);
	g_test_add_func("/policy/named-file-missing", test_policy_named_file_missing);
	g_test_add_func("/policy/xml", test_policy_xml);
	g_test_add_func("/policy/outlives-selection", test_policy_outlives_selection);
	g_test_add_func("/policy/deny-refuses-detach", test_policy_deny_refuses_detach);
	g_test_add_func("/policy/error/not-utf8", test_policy_not_utf8);
	for (guint i = 0; i < G_N_ELEMENTS(vv_host_use_cases); i++) {
		g_autofree char *path = g_strdup_printf("/policy/host-use/%s", vv_host_use_cases[i].label);

		g_test_add_data_func(path, &vv_host_use_cases[i], test_host_use_case);
	}
	g_test_add_func("/policy/vfio-drivers", test_vfio_driver_cases);
	g_test_add_func("/policy/bind-options-driver-checked", test_bind_options_driver_checked);
	status = g_test_run();
	{
		g_autofree char *conf = g_build_filename(vv_test_dir, "vfio-variant.conf", NULL);

		g_unlink(conf);
		g_rmdir(vv_test_dir);
		g_free(vv_test_dir);
	}
	return status;
}
