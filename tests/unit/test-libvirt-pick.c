/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libvirt >= 10 binds by itself, beside vfio-variant's selection: one
 * labelled case per way the two agree or part, on fixture hosts whose
 * modules.alias the real depmod wrote (its line order is modules.order's),
 * and on copies of a module directory whose text file is removed, too
 * large, a FIFO or out of date.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-test-hosts.h"

static char *vv_test_dir;

/* How the case's module directory differs from the host's own. */
typedef enum {
	VV_EDIT_NONE = 0,
	VV_EDIT_REMOVE,    /* no modules.alias */
	VV_EDIT_HUGE,      /* one byte over libvirt's 8 MiB */
	VV_EDIT_FIFO,      /* a FIFO: must not hang the reader */
	VV_EDIT_STALE,     /* the text file lacks virtio_vfio_pci's line (the .bin has it) */
	VV_EDIT_HANDWRITTEN, /* lines libvirt cannot split, and a later tie */
} vv_edit;

typedef struct {
	const char *label;
	const char *host;
	const char *address;
	const char *policy;        /* policy file text, NULL: none */
	vv_edit edit;
	const char *module;        /* libvirt's pick, NULL: it fails before picking */
	guint line;
	vv_libvirt_pick_reason reason;
	gboolean fails;
	const char *selected;      /* vfio-variant's choice, NULL: none */
	const char *model;         /* the suggested <driver model='...'/>, NULL: none */
} vv_pick_case;

static const vv_pick_case vv_pick_cases[] = {
	/* libvirt-pick.toml: modules.order puts the module vfio-variant does not choose first. */
	{ "tie on identical patterns: libvirt's first line", "libvirt-pick", "0000:00:11.0", NULL, 0,
	  "tie_zulu", 3, VV_LIBVIRT_PICK_TIE_ORDER, FALSE, "tie_alpha", "tie_alpha" },
	{ "tie on the count of *: libvirt's first line", "libvirt-pick", "0000:00:12.0", NULL, 0,
	  "class_first", 5, VV_LIBVIRT_PICK_TIE_ORDER, FALSE, "dev_first", "dev_first" },
	{ "glob line ignored, fewer * elsewhere", "libvirt-pick", "0000:00:13.0", NULL, 0,
	  "sv_class_variant", 9, VV_LIBVIRT_PICK_FEWER_STARS, FALSE, "starry_variant", "starry_variant" },
	{ "upstream virtio_vfio_pci: the same", "libvirt-pick", "0000:00:03.0", NULL, 0,
	  "virtio_vfio_pci", 10, VV_LIBVIRT_PICK_SAME, FALSE, "virtio_vfio_pci", NULL },
	{ "only vfio_pci's own line: the same", "libvirt-pick", "0000:00:15.0", NULL, 0,
	  "vfio_pci", 2, VV_LIBVIRT_PICK_SAME, FALSE, "vfio_pci", NULL },
	{ "policy generic", "libvirt-pick", "0000:00:03.0", "[device 0000:00:03.0]\ndriver=generic\n", 0,
	  "virtio_vfio_pci", 10, VV_LIBVIRT_PICK_POLICY, FALSE, "vfio_pci", "vfio-pci" },
	{ "policy names another variant", "libvirt-pick", "0000:00:11.0", "[id abcd:0021]\ndriver=tie_zulu\n", 0,
	  "tie_zulu", 3, VV_LIBVIRT_PICK_SAME, FALSE, "tie_zulu", NULL },
	{ "blacklisted but loaded already: libvirt binds it, no failure", "libvirt-pick", "0000:00:16.0", NULL, 0,
	  "held_variant", 11, VV_LIBVIRT_PICK_BLACKLISTED_LOADED, FALSE, "vfio_pci", "vfio-pci" },
	/* rules.toml: the ranking host. */
	{ "interface byte i00* is literal to libvirt", "rules", "0000:00:01.0", NULL, 0,
	  "class_exact", 9, VV_LIBVIRT_PICK_GLOB_FIELD, FALSE, "iface_variant", "iface_variant" },
	{ "class pattern bc03sc*i*: whole-field *, the same", "rules", "0000:00:02.0", NULL, 0,
	  "class_glob_variant", 4, VV_LIBVIRT_PICK_SAME, FALSE, "class_glob_variant", NULL },
	{ "built-in variant", "rules", "0000:00:03.0", NULL, 0,
	  "vfio_pci", 2, VV_LIBVIRT_PICK_BUILTIN, FALSE, "builtin_variant", "builtin_variant" },
	{ "built-in variant, driver name differs", "rules", "0000:00:0a.0", NULL, 0,
	  "vfio_pci", 2, VV_LIBVIRT_PICK_BUILTIN, FALSE, "builtin_named", "builtin-named" },
	{ "modprobe.d alias", "rules", "0000:00:04.0", NULL, 0,
	  "vfio_pci", 2, VV_LIBVIRT_PICK_MODPROBE_ALIAS, FALSE, "config_variant", "config_variant" },
	{ "blacklisted pick fails libvirt", "rules", "0000:00:05.0", NULL, 0,
	  "blocked_variant", 5, VV_LIBVIRT_PICK_BLACKLISTED, TRUE, "vfio_pci", "vfio-pci" },
	{ "tie that modules.order lists by name: the same", "rules", "0000:00:06.0", NULL, 0,
	  "tie_alpha", 6, VV_LIBVIRT_PICK_SAME, FALSE, "tie_alpha", NULL },
	{ "field-order tie in file order: the same", "rules", "0000:00:07.0", NULL, 0,
	  "dev_exact", 8, VV_LIBVIRT_PICK_SAME, FALSE, "dev_exact", NULL },
	{ "loaded variant, driver name differs: the same", "rules", "0000:00:09.0", NULL, 0,
	  "named_vfio_pci", 13, VV_LIBVIRT_PICK_SAME, FALSE, "named_vfio_pci", NULL },
	{ "bridge: vfio-variant selects nothing", "rules", "0000:00:1c.0", NULL, 0,
	  "vfio_pci", 2, VV_LIBVIRT_PICK_NOTHING_SELECTED, FALSE, NULL, NULL },
	{ "policy deny", "rules", "0000:00:09.0", "[device 0000:00:09.0]\ndriver=deny\n", 0,
	  "named_vfio_pci", 13, VV_LIBVIRT_PICK_NOTHING_SELECTED, FALSE, NULL, NULL },
	/* vfio_pci without a line of its own. */
	{ "nothing matches, built-in vfio_pci: the same", "builtin-generic", "0000:00:05.0", NULL, 0,
	  "vfio_pci", 0, VV_LIBVIRT_PICK_SAME, FALSE, "vfio_pci", NULL },
	{ "nothing matches, no vfio_pci at all", "no-vfio", "0000:00:03.0", NULL, 0,
	  "vfio_pci", 0, VV_LIBVIRT_PICK_NO_MODULE, TRUE, NULL, NULL },
	{ "demo QAT VF: blacklisted variant", "demo", "0000:6b:00.1", NULL, 0,
	  "qat_vfio_pci", 42, VV_LIBVIRT_PICK_BLACKLISTED, TRUE, "vfio_pci", "vfio-pci" },
	{ "demo xe GPU: driver name differs, the same", "demo", "0000:03:00.0", NULL, 0,
	  "xe_vfio_pci", 27, VV_LIBVIRT_PICK_SAME, FALSE, "xe_vfio_pci", NULL },
	/* The text file itself. */
	{ "no modules.alias: libvirt fails", "libvirt-pick", "0000:00:03.0", NULL, VV_EDIT_REMOVE,
	  NULL, 0, VV_LIBVIRT_PICK_NO_MODULES_ALIAS, TRUE, "virtio_vfio_pci", "virtio_vfio_pci" },
	{ "modules.alias over 8 MiB: libvirt fails", "libvirt-pick", "0000:00:03.0", NULL, VV_EDIT_HUGE,
	  NULL, 0, VV_LIBVIRT_PICK_UNREADABLE, TRUE, "virtio_vfio_pci", "virtio_vfio_pci" },
	{ "modules.alias a FIFO: refused, not waited on", "libvirt-pick", "0000:00:03.0", NULL, VV_EDIT_FIFO,
	  NULL, 0, VV_LIBVIRT_PICK_UNREADABLE, TRUE, "virtio_vfio_pci", "virtio_vfio_pci" },
	{ "text file out of date with the index", "libvirt-pick", "0000:00:03.0", NULL, VV_EDIT_STALE,
	  "vfio_pci", 2, VV_LIBVIRT_PICK_NOT_IN_TEXT, FALSE, "virtio_vfio_pci", "virtio_vfio_pci" },
	{ "unsplittable lines ignored, a later tie loses", "libvirt-pick", "0000:00:03.0", NULL, VV_EDIT_HANDWRITTEN,
	  "virtio_vfio_pci", 12, VV_LIBVIRT_PICK_SAME, FALSE, "virtio_vfio_pci", NULL },
};

/* The host's module directory: its only entry under lib/modules. */
static char *
vv_test_modules_dir(const char *root)
{
	g_autofree char *base = g_build_filename(root, "lib/modules", NULL);
	g_autoptr(GDir) dir = g_dir_open(base, 0, NULL);
	const char *release;

	g_assert_nonnull(dir);
	release = g_dir_read_name(dir);
	g_assert_nonnull(release);
	return g_build_filename(base, release, NULL);
}

/* A copy of the host's module indexes (the top-level files) in a fresh
 * directory, with modules.alias changed as EDIT says. */
static char *
vv_test_edited_modules(const char *root, vv_edit edit)
{
	g_autofree char *source = vv_test_modules_dir(root);
	g_autofree char *copy = g_build_filename(vv_test_dir, "modules-XXXXXX", NULL);
	g_autofree char *alias = NULL;
	g_autoptr(GDir) dir = g_dir_open(source, 0, NULL);
	const char *name;

	g_assert_nonnull(g_mkdtemp(copy));
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *from = g_build_filename(source, name, NULL);
		g_autofree char *to = g_build_filename(copy, name, NULL);
		g_autofree char *data = NULL;
		gsize length;

		if (!g_file_test(from, G_FILE_TEST_IS_REGULAR))
			continue;
		g_assert_true(g_file_get_contents(from, &data, &length, NULL));
		g_assert_true(g_file_set_contents(to, data, length, NULL));
	}

	alias = g_build_filename(copy, "modules.alias", NULL);
	switch (edit) {
	case VV_EDIT_NONE:
		break;
	case VV_EDIT_REMOVE:
		g_assert_cmpint(g_unlink(alias), ==, 0);
		break;
	case VV_EDIT_HUGE: {
		int fd = open(alias, O_WRONLY | O_TRUNC);

		g_assert_cmpint(fd, >=, 0);
		g_assert_cmpint(ftruncate(fd, 8 * 1024 * 1024 + 1), ==, 0);
		close(fd);
		break;
	}
	case VV_EDIT_FIFO:
		g_assert_cmpint(g_unlink(alias), ==, 0);
		g_assert_cmpint(mkfifo(alias, 0600), ==, 0);
		break;
	case VV_EDIT_STALE:
	case VV_EDIT_HANDWRITTEN: {
		g_autofree char *text = NULL;
		g_auto(GStrv) lines = NULL;
		g_autoptr(GString) out = g_string_new(NULL);

		g_assert_true(g_file_get_contents(alias, &text, NULL, NULL));
		lines = g_strsplit(text, "\n", -1);
		for (guint i = 0; lines[i]; i++) {
			if (edit == VV_EDIT_STALE && g_str_has_suffix(lines[i], " virtio_vfio_pci"))
				continue;
			if (edit == VV_EDIT_HANDWRITTEN && i == 1) {
				/* Before every real line: modprobe.d's short form, and a
				 * line without its interface tag, neither of which libvirt
				 * can split into seven fields. */
				g_string_append(out, "alias vfio_pci:v00001AF4d00001041* short_variant\n");
				g_string_append(out, "alias vfio_pci:v00001AF4d00001041sv*sd*bc*sc* no_interface\n");
			}
			g_string_append(out, lines[i]);
			if (lines[i + 1])
				g_string_append_c(out, '\n');
		}
		if (edit == VV_EDIT_HANDWRITTEN)
			g_string_append(out, "alias vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i* later_variant\n");
		g_assert_true(g_file_set_contents(alias, out->str, out->len, NULL));
		break;
	}
	}
	return g_steal_pointer(&copy);
}

static vv_ctx *
vv_test_open(const vv_pick_case *c)
{
	const char *hosts = g_getenv("VV_TEST_HOSTS");
	g_autofree char *root = g_build_filename(hosts ? hosts : ".", c->host, NULL);
	g_autofree char *modules = NULL;
	g_autofree char *policy = g_build_filename(vv_test_dir, "vfio-variant.conf", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	if (c->edit != VV_EDIT_NONE) {
		modules = vv_test_edited_modules(root, c->edit);
		vv_ctx_options_set_modules_dir(options, modules);
	}
	if (c->policy) {
		g_assert_true(g_file_set_contents(policy, c->policy, -1, NULL));
		vv_ctx_options_set_config_file(options, policy);
	}
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	return ctx;
}

static vv_selection *
vv_test_select(vv_ctx *ctx, const char *address)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_device) device = vv_device_new(ctx, address, &error);
	vv_selection *selection;

	g_assert_no_error(error);
	selection = vv_selection_new(ctx, device, &error);
	g_assert_no_error(error);
	return selection;
}

static void
test_pick_case(gconstpointer data)
{
	const vv_pick_case *c = data;
	g_autoptr(vv_ctx) ctx = vv_test_open(c);
	g_autoptr(vv_selection) selection = vv_test_select(ctx, c->address);
	const vv_candidate *selected = vv_selection_get_selected(selection);
	const vv_libvirt_pick *pick = vv_selection_get_libvirt_pick(selection);
	g_autofree char *suggestion = c->model ? g_strdup_printf("<driver model='%s'/>", c->model) : NULL;
	g_autofree char *xml = NULL;
	g_autofree char *reason = NULL;

	g_assert_nonnull(pick);
	g_assert_true(pick == vv_selection_get_libvirt_pick(selection));
	g_assert_cmpstr(selected ? vv_candidate_get_module(selected) : NULL, ==, c->selected);
	g_assert_cmpstr(vv_libvirt_pick_get_module(pick), ==, c->module);
	g_assert_cmpstr(vv_libvirt_pick_reason_to_string(vv_libvirt_pick_get_reason(pick)), ==,
			vv_libvirt_pick_reason_to_string(c->reason));
	g_assert_cmpint(vv_libvirt_pick_get_reason(pick), ==, c->reason);
	g_assert_cmpint(vv_libvirt_pick_is_same(pick), ==, c->reason == VV_LIBVIRT_PICK_SAME);
	g_assert_cmpint(vv_libvirt_pick_fails(pick), ==, c->fails);
	g_assert_cmpstr(vv_libvirt_pick_get_suggestion(pick), ==, suggestion);
	g_assert_true(g_str_has_suffix(vv_libvirt_pick_get_file(pick), "/modules.alias"));
	/* The line and its pattern come together. */
	g_assert_cmpuint(vv_libvirt_pick_get_line(pick), ==, c->line);
	g_assert_true((vv_libvirt_pick_get_line(pick) != 0) == (vv_libvirt_pick_get_pattern(pick) != NULL));
	if (vv_libvirt_pick_get_pattern(pick))
		g_assert_true(g_str_has_prefix(vv_libvirt_pick_get_pattern(pick), "vfio_pci:"));
	/* The sentence names libvirt's pick (or the file it lacks). */
	g_assert_true(strstr(vv_libvirt_pick_describe(pick), c->module ? c->module : "modules.alias"));

	xml = vv_selection_to_xml(selection, FALSE);
	reason = g_strdup_printf("reason=\"%s\"", vv_libvirt_pick_reason_to_string(c->reason));
	g_assert_nonnull(strstr(xml, "<libvirt-pick "));
	g_assert_nonnull(strstr(xml, reason));
	g_assert_true((strstr(xml, "driver-model=") != NULL) == (c->model != NULL));
}

/* The text file is read once per context: a second selection on the same
 * context does not see it removed. */
static void
test_pick_read_once(void)
{
	const vv_pick_case c = { "read once", "libvirt-pick", "0000:00:03.0", NULL, VV_EDIT_STALE };
	g_autoptr(vv_ctx) ctx = vv_test_open(&c);
	g_autoptr(vv_selection) first = vv_test_select(ctx, "0000:00:11.0");
	g_autoptr(vv_selection) second = NULL;
	g_autofree char *alias = g_build_filename(vv_ctx_get_modules_dir(ctx), "modules.alias", NULL);

	g_assert_cmpstr(vv_libvirt_pick_get_module(vv_selection_get_libvirt_pick(first)), ==, "tie_zulu");
	g_assert_cmpint(g_unlink(alias), ==, 0);
	second = vv_test_select(ctx, "0000:00:11.0");
	g_assert_cmpstr(vv_libvirt_pick_get_module(vv_selection_get_libvirt_pick(second)), ==, "tie_zulu");
	g_assert_cmpuint(vv_libvirt_pick_get_line(vv_selection_get_libvirt_pick(second)), ==, 3);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int status;

	g_test_init(&argc, &argv, NULL);
	vv_test_dir = g_dir_make_tmp("vv-test-libvirt-pick-XXXXXX", &error);
	g_assert_no_error(error);
	for (guint i = 0; i < G_N_ELEMENTS(vv_pick_cases); i++) {
		g_autofree char *path = g_strdup_printf("/libvirt-pick/%s", vv_pick_cases[i].label);

		g_test_add_data_func(path, &vv_pick_cases[i], test_pick_case);
	}
	g_test_add_func("/libvirt-pick/read-once", test_pick_read_once);
	status = g_test_run();
	if (status == 0) {
		g_autofree char *command = g_strdup_printf("rm -rf '%s'", vv_test_dir);

		g_assert_true(g_spawn_command_line_sync(command, NULL, NULL, NULL, NULL));
	}
	g_free(vv_test_dir);
	return status;
}
