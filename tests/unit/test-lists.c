/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public API's one list idiom (the header's "Lists"): every function
 * that gives a list gives a GPtrArray whose pdata is NULL-terminated, empty
 * lists included, with the element type and order its comment states; and
 * the header declares no list of another kind. Only the public API, like
 * any other user of the library. */
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "vv-test-hosts.h"

/* What the cases read from: fixture hosts, a state directory with two
 * records, a policy that declares three targets, and an empty host. The
 * objects that own the lists a getter returns are kept here. */
typedef struct {
	char *tmp;
	vv_ctx *demo;
	vv_ctx *rules;
	vv_ctx *no_vfio;
	vv_ctx *empty;     /* no PCI device, no record, no policy */
	vv_ctx *declaring; /* the demo host with records and declarations */
	GPtrArray *devices, *selections, *results;
} vv_lists;

static vv_ctx *
vv_lists_open(const char *host, const char *sysroot, const char *modules_dir, const char *state_dir,
	      const char *config)
{
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autofree char *root = host ? g_build_filename(g_getenv("VV_TEST_HOSTS"), host, NULL) : g_strdup(sysroot);
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	if (modules_dir)
		vv_ctx_options_set_modules_dir(options, modules_dir);
	if (state_dir)
		vv_ctx_options_set_state_dir(options, state_dir);
	if (config)
		vv_ctx_options_set_config_file(options, config);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	return ctx;
}

static void
vv_lists_write(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(vv_state_file_write(path, text, strlen(text), &error));
	g_assert_no_error(error);
}

static void
vv_lists_setup(vv_lists *fx, gconstpointer data)
{
	g_autofree char *empty_root = NULL;
	g_autofree char *empty_bus = NULL;
	g_autofree char *empty_modules = NULL;
	g_autofree char *empty_state = NULL;
	g_autofree char *state = NULL;
	g_autofree char *devices = NULL;
	g_autofree char *policy = NULL;

	(void)data;
	fx->tmp = g_dir_make_tmp("vv-test-lists-XXXXXX", NULL);
	g_assert_nonnull(fx->tmp);
	empty_root = g_build_filename(fx->tmp, "empty", NULL);
	empty_bus = g_build_filename(empty_root, "sys/bus/pci/devices", NULL);
	empty_modules = g_build_filename(empty_root, "modules", NULL);
	empty_state = g_build_filename(empty_root, "state", NULL);
	g_assert_cmpint(g_mkdir_with_parents(empty_bus, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(empty_modules, 0755), ==, 0);

	/* Two records, written in reverse address order. */
	state = g_build_filename(fx->tmp, "state", NULL);
	devices = g_build_filename(state, "devices", NULL);
	vv_lists_write(devices, "0000:03:00.0.conf",
		       "[device]\naddress=0000:03:00.0\noriginal-driver=xe\n[journal]\noperation=detach\nstep=verified\n");
	vv_lists_write(devices, "0000:01:00.3.conf",
		       "[device]\naddress=0000:01:00.3\noriginal-driver=\n[journal]\noperation=detach\nstep=verified\n");
	/* Declarations in no order: an id, two devices. */
	policy = g_build_filename(fx->tmp, "vfio-variant.conf", NULL);
	vv_lists_write(fx->tmp, "vfio-variant.conf",
		       "[id 15b3:101e]\nmode=vfio\n\n[device 0000:03:00.0]\nmode=vfio\n\n[device 0000:01:00.3]\nmode=vfio\n");

	fx->demo = vv_lists_open("demo", NULL, NULL, NULL, NULL);
	fx->rules = vv_lists_open("rules", NULL, NULL, NULL, NULL);
	fx->no_vfio = vv_lists_open("no-vfio", NULL, NULL, NULL, NULL);
	fx->empty = vv_lists_open(NULL, empty_root, empty_modules, empty_state, NULL);
	fx->declaring = vv_lists_open("demo", NULL, NULL, state, policy);
	fx->devices = g_ptr_array_new_with_free_func((GDestroyNotify)vv_device_unref);
	fx->selections = g_ptr_array_new_with_free_func((GDestroyNotify)vv_selection_unref);
	fx->results = g_ptr_array_new_with_free_func((GDestroyNotify)vv_bind_result_free);
}

static void
vv_lists_teardown(vv_lists *fx, gconstpointer data)
{
	g_autofree char *command = g_strdup_printf("rm -rf '%s'", fx->tmp);

	(void)data;
	g_ptr_array_unref(fx->results);
	g_ptr_array_unref(fx->selections);
	g_ptr_array_unref(fx->devices);
	vv_ctx_unref(fx->declaring);
	vv_ctx_unref(fx->empty);
	vv_ctx_unref(fx->no_vfio);
	vv_ctx_unref(fx->rules);
	vv_ctx_unref(fx->demo);
	g_assert_cmpint(system(command), ==, 0);
	g_free(fx->tmp);
}

static vv_device *
vv_lists_device(vv_lists *fx, vv_ctx *ctx, const char *address)
{
	g_autoptr(GError) error = NULL;
	vv_device *device = vv_device_new(ctx, address, &error);

	g_assert_no_error(error);
	g_ptr_array_add(fx->devices, device);
	return device;
}

static vv_selection *
vv_lists_selection(vv_lists *fx, vv_ctx *ctx, const char *address)
{
	g_autoptr(GError) error = NULL;
	vv_selection *selection = vv_selection_new(ctx, vv_lists_device(fx, ctx, address), &error);

	g_assert_no_error(error);
	g_ptr_array_add(fx->selections, selection);
	return selection;
}

/* A dry run (nothing written, not even a lock) of OPERATION on ADDRESS. */
static vv_bind_result *
vv_lists_dry_run(vv_lists *fx, vv_ctx *ctx, const char *operation, const char *address, vv_bind_flags flags)
{
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(GError) error = NULL;
	vv_bind_result *result;

	vv_bind_options_set_flags(options, VV_BIND_DRY_RUN | flags);
	if (g_str_equal(operation, "apply"))
		result = vv_apply(ctx, address, options, &error);
	else
		result = vv_detach(ctx, address, options, &error);
	g_assert_no_error(error);
	g_ptr_array_add(fx->results, result);
	return result;
}

/* ---- the list functions, each as a case ------------------------------- */

typedef enum {
	VV_HOST_DEMO,
	VV_HOST_RULES,
	VV_HOST_NO_VFIO,
	VV_HOST_EMPTY,
	VV_HOST_DECLARING,
} vv_list_host;

typedef struct vv_list_case vv_list_case;
/* A case's list: the function's own return value, and whether the caller
 * owns it (transfer full) or an object of the fixture does. */
typedef GPtrArray *(*vv_lists_make)(vv_lists *fx, const vv_list_case *c, gboolean *owned);
/* How an element reads as a string, to compare and order them. */
typedef const char *(*vv_lists_key)(gconstpointer element);

struct vv_list_case {
	const char *function; /* as the header declares it */
	const char *label;
	vv_lists_make make;
	vv_list_host host;
	const char *address;  /* the device it is asked about */
	vv_bind_flags flags;  /* a dry run's, besides VV_BIND_DRY_RUN */
	gboolean owned;       /* transfer full */
	vv_lists_key key;
	guint length;
	/* The first elements' keys, in the list's order (NULL-terminated). */
	const char *keys[4];
	/* A part that the first element's key contains, when keys cannot name it. */
	const char *first_contains;
	gboolean ascending;   /* the keys in byte order */
};

static vv_ctx *
vv_lists_ctx(const vv_lists *fx, vv_list_host host)
{
	vv_ctx *const contexts[] = {
		[VV_HOST_DEMO] = fx->demo,
		[VV_HOST_RULES] = fx->rules,
		[VV_HOST_NO_VFIO] = fx->no_vfio,
		[VV_HOST_EMPTY] = fx->empty,
		[VV_HOST_DECLARING] = fx->declaring,
	};

	return contexts[host];
}

static const char *vv_key_string(gconstpointer element) { return element; }
static const char *vv_key_device(gconstpointer element) { return vv_device_get_address(element); }
static const char *vv_key_blocker(gconstpointer element) { return vv_group_blocker_get_address(element); }
static const char *vv_key_candidate(gconstpointer element) { return vv_candidate_get_module(element); }
static const char *vv_key_record(gconstpointer element) { return vv_record_get_address(element); }
static const char *vv_key_declaration(gconstpointer element) { return vv_declaration_get_target(element); }

#define VV_OWNED(call) (*owned = TRUE, (call))
#define VV_BORROWED(call) (*owned = FALSE, (GPtrArray *)(call))
#define VV_CTX vv_lists_ctx(fx, c->host)
#define VV_DEVICE vv_lists_device(fx, VV_CTX, c->address)
#define VV_SELECTION vv_lists_selection(fx, VV_CTX, c->address)

static GPtrArray *
vv_make_devices(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_OWNED(vv_ctx_list_devices(VV_CTX, NULL));
}

static GPtrArray *
vv_make_group_members(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_device_get_group_members(VV_DEVICE));
}

static GPtrArray *
vv_make_virtfns(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_device_get_virtfns(VV_DEVICE));
}

static GPtrArray *
vv_make_blockers(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_selection_get_group_blockers(VV_SELECTION));
}

static GPtrArray *
vv_make_candidates(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_selection_get_candidates(VV_SELECTION));
}

static GPtrArray *
vv_make_actions(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_bind_result_get_actions(vv_lists_dry_run(fx, VV_CTX, "detach", c->address, c->flags)));
}

static GPtrArray *
vv_make_apply_actions(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_bind_result_get_actions(vv_lists_dry_run(fx, VV_CTX, "apply", c->address, c->flags)));
}

static GPtrArray *
vv_make_messages(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_BORROWED(vv_bind_result_get_messages(vv_lists_dry_run(fx, VV_CTX, "detach", c->address, c->flags)));
}

static GPtrArray *
vv_make_records(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_OWNED(vv_ctx_list_records(VV_CTX, NULL));
}

static GPtrArray *
vv_make_record_addresses(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_OWNED(vv_ctx_list_record_addresses(VV_CTX, NULL));
}

static GPtrArray *
vv_make_host_uses(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_OWNED(vv_ctx_find_host_uses(VV_CTX, c->address, NULL));
}

static GPtrArray *
vv_make_declarations(vv_lists *fx, const vv_list_case *c, gboolean *owned)
{
	return VV_OWNED(vv_ctx_list_declarations(VV_CTX, NULL));
}

/* Demo host: 0000:01:00.0 is a PF with two VFs and an interface up,
 * 0000:01:00.3 one of its VFs (no driver, nothing up), 0000:02:00.0 an
 * igb NIC with its interface up, 0000:00:1f.4 has no IOMMU group. Rules
 * host: 0000:02:00.0 shares its group with 0000:02:00.1 on e1000e,
 * 0000:01:00.0 with a bridge on pcieport. */
static const vv_list_case list_cases[] = {
	{ .function = "vv_ctx_list_devices", .label = "demo host", .make = vv_make_devices, .host = VV_HOST_DEMO,
	  .owned = TRUE, .key = vv_key_device, .length = 16, .keys = { "0000:00:01.0", "0000:00:03.0" },
	  .ascending = TRUE },
	{ .function = "vv_ctx_list_devices", .label = "empty bus", .make = vv_make_devices, .host = VV_HOST_EMPTY,
	  .owned = TRUE, .key = vv_key_device },
	{ .function = "vv_device_get_group_members", .label = "two in the group", .make = vv_make_group_members,
	  .host = VV_HOST_RULES, .address = "0000:02:00.0", .key = vv_key_string, .length = 2,
	  .keys = { "0000:02:00.0", "0000:02:00.1" }, .ascending = TRUE },
	{ .function = "vv_device_get_group_members", .label = "no IOMMU group", .make = vv_make_group_members,
	  .host = VV_HOST_DEMO, .address = "0000:00:1f.4", .key = vv_key_string },
	{ .function = "vv_device_get_virtfns", .label = "PF with two VFs", .make = vv_make_virtfns,
	  .host = VV_HOST_DEMO, .address = "0000:01:00.0", .key = vv_key_string, .length = 2,
	  .keys = { "0000:01:00.2", "0000:01:00.3" } },
	{ .function = "vv_device_get_virtfns", .label = "a VF", .make = vv_make_virtfns, .host = VV_HOST_DEMO,
	  .address = "0000:01:00.3", .key = vv_key_string },
	{ .function = "vv_selection_get_group_blockers", .label = "e1000e in the group", .make = vv_make_blockers,
	  .host = VV_HOST_RULES, .address = "0000:02:00.0", .key = vv_key_blocker, .length = 1,
	  .keys = { "0000:02:00.1" } },
	{ .function = "vv_selection_get_group_blockers", .label = "pcieport in the group", .make = vv_make_blockers,
	  .host = VV_HOST_RULES, .address = "0000:01:00.0", .key = vv_key_blocker },
	{ .function = "vv_selection_get_candidates", .label = "variant, then generic", .make = vv_make_candidates,
	  .host = VV_HOST_DEMO, .address = "0000:01:00.2", .key = vv_key_candidate, .length = 2,
	  .keys = { "mlx5_vfio_pci", "vfio_pci" } },
	{ .function = "vv_selection_get_candidates", .label = "no VFIO module", .make = vv_make_candidates,
	  .host = VV_HOST_NO_VFIO, .address = "0000:00:02.0", .key = vv_key_candidate },
	/* Load the module, set driver_override, probe: the VF has no driver to unbind. */
	{ .function = "vv_bind_result_get_actions", .label = "dry-run detach", .make = vv_make_actions,
	  .host = VV_HOST_DEMO, .address = "0000:01:00.3", .key = vv_key_string, .length = 3,
	  .first_contains = "mlx5_vfio_pci" },
	{ .function = "vv_bind_result_get_actions", .label = "nothing to apply", .make = vv_make_apply_actions,
	  .host = VV_HOST_DEMO, .address = "0000:01:00.3", .key = vv_key_string },
	{ .function = "vv_bind_result_get_messages", .label = "forced detach", .make = vv_make_messages,
	  .host = VV_HOST_DEMO, .address = "0000:02:00.0", .flags = VV_BIND_FORCE, .key = vv_key_string,
	  .length = 1, .first_contains = "enp2s0f0" },
	{ .function = "vv_bind_result_get_messages", .label = "unhindered detach", .make = vv_make_messages,
	  .host = VV_HOST_DEMO, .address = "0000:01:00.3", .key = vv_key_string },
	{ .function = "vv_ctx_list_records", .label = "two records", .make = vv_make_records,
	  .host = VV_HOST_DECLARING, .owned = TRUE, .key = vv_key_record, .length = 2,
	  .keys = { "0000:01:00.3", "0000:03:00.0" }, .ascending = TRUE },
	{ .function = "vv_ctx_list_records", .label = "no state directory", .make = vv_make_records,
	  .host = VV_HOST_EMPTY, .owned = TRUE, .key = vv_key_record },
	{ .function = "vv_ctx_list_record_addresses", .label = "two records", .make = vv_make_record_addresses,
	  .host = VV_HOST_DECLARING, .owned = TRUE, .key = vv_key_string, .length = 2,
	  .keys = { "0000:01:00.3", "0000:03:00.0" }, .ascending = TRUE },
	{ .function = "vv_ctx_list_record_addresses", .label = "no state directory", .make = vv_make_record_addresses,
	  .host = VV_HOST_EMPTY, .owned = TRUE, .key = vv_key_string },
	{ .function = "vv_ctx_find_host_uses", .label = "interface up", .make = vv_make_host_uses,
	  .host = VV_HOST_DEMO, .address = "0000:01:00.0", .owned = TRUE, .key = vv_key_string, .length = 1,
	  .first_contains = "enp1s0f0np0" },
	{ .function = "vv_ctx_find_host_uses", .label = "unused", .make = vv_make_host_uses, .host = VV_HOST_DEMO,
	  .address = "0000:01:00.3", .owned = TRUE, .key = vv_key_string },
	{ .function = "vv_ctx_list_declarations", .label = "addresses, then ids", .make = vv_make_declarations,
	  .host = VV_HOST_DECLARING, .owned = TRUE, .key = vv_key_declaration, .length = 3,
	  .keys = { "0000:01:00.3", "0000:03:00.0", "15b3:101e" }, .ascending = TRUE },
	{ .function = "vv_ctx_list_declarations", .label = "no policy", .make = vv_make_declarations,
	  .host = VV_HOST_EMPTY, .owned = TRUE, .key = vv_key_declaration },
};

static void
test_list_case(vv_lists *fx, gconstpointer data)
{
	const vv_list_case *c = data;
	gboolean owned = FALSE;
	GPtrArray *list = c->make(fx, c, &owned);

	g_assert_nonnull(list);
	/* Transfer as the case says, i.e. as the header says: a getter's
	 * list is its object's, a builder's the caller's. */
	g_assert_cmpint(owned, ==, c->owned);
	g_assert_true(g_ptr_array_is_null_terminated(list));
	g_assert_nonnull(list->pdata);
	g_assert_null(list->pdata[list->len]);
	for (guint i = 0; i < list->len; i++)
		g_test_message("%s [%u]: %s", c->function, i, c->key(g_ptr_array_index(list, i)));
	g_assert_cmpuint(list->len, ==, c->length);
	for (guint i = 0; i < list->len; i++) {
		const char *key = c->key(g_ptr_array_index(list, i));

		g_assert_nonnull(key);
		if (i < G_N_ELEMENTS(c->keys) && c->keys[i])
			g_assert_cmpstr(key, ==, c->keys[i]);
		if (c->ascending && i > 0)
			g_assert_cmpstr(c->key(g_ptr_array_index(list, i - 1)), <, key);
	}
	if (c->first_contains)
		g_assert_nonnull(strstr(c->key(g_ptr_array_index(list, 0)), c->first_contains));
	if (owned)
		g_ptr_array_unref(list); /* frees the elements: ASan and valgrind see a leak otherwise */
}

/* ---- the header: one idiom, every list function covered --------------- */

static char *
vv_lists_read_header(void)
{
	g_autoptr(GError) error = NULL;
	char *text = NULL;

	g_assert_true(g_file_get_contents(VV_PUBLIC_HEADER, &text, NULL, &error));
	g_assert_no_error(error);
	return text;
}

/* Every function the header declares to return a GPtrArray has a case with
 * a list and one with an empty list, and says "NULL-terminated". */
static void
test_header_lists_covered(void)
{
	g_autofree char *header = vv_lists_read_header();
	g_autoptr(GRegex) declaration = g_regex_new("\\bGPtrArray \\*(vv_[a-z0-9_]+)\\(", 0, 0, NULL);
	/* A comment's lines joined: "NULL-terminated\n * GPtrArray" reads as one phrase. */
	g_autoptr(GRegex) line_break = g_regex_new("\\s*\\n\\s*\\*?\\s*", 0, 0, NULL);
	g_autoptr(GMatchInfo) match = NULL;
	guint functions = 0;

	g_regex_match(declaration, header, 0, &match);
	for (; g_match_info_matches(match); g_match_info_next(match, NULL)) {
		g_autofree char *name = g_match_info_fetch(match, 1);
		gint start = 0;
		guint with = 0, without = 0;
		gboolean borrowed;
		/* The comment right above the declaration. */
		g_autofree char *before = NULL;
		g_autofree char *comment = NULL;

		g_match_info_fetch_pos(match, 0, &start, NULL);
		before = g_strndup(header, start);
		g_assert_nonnull(g_strrstr(before, "/*"));
		comment = g_regex_replace_literal(line_break, g_strrstr(before, "/*"), -1, 0, " ", 0, NULL);
		if (!strstr(comment, "NULL-terminated GPtrArray"))
			g_error("%s: its comment does not say \"NULL-terminated GPtrArray\": %s", name, comment);
		if (!strstr(comment, "Transfer none") && !strstr(comment, "Transfer full"))
			g_error("%s: its comment does not state the transfer: %s", name, comment);
		/* A getter's list is const and the object's; a builder's is the caller's. */
		borrowed = start >= 6 && strncmp(header + start - 6, "const ", 6) == 0;
		if (borrowed != !!strstr(comment, "Transfer none"))
			g_error("%s: %s list, but its comment says otherwise: %s", name,
				borrowed ? "a const" : "a caller's", comment);
		for (guint i = 0; i < G_N_ELEMENTS(list_cases); i++) {
			if (!g_str_equal(list_cases[i].function, name))
				continue;
			if (list_cases[i].owned == borrowed)
				g_error("%s: the case \"%s\" has the wrong transfer", name, list_cases[i].label);
			if (list_cases[i].length)
				with++;
			else
				without++;
		}
		g_test_message("%s: %u case(s) with elements, %u empty", name, with, without);
		if (!with || !without)
			g_error("%s returns a list but test-lists.c has no case of it %s", name,
				with ? "empty" : "with elements");
		functions++;
	}
	g_assert_cmpuint(functions, ==, 11);
}

/* The older idioms are gone: no NULL-terminated C arrays, no GStrv. */
static void
test_header_no_other_idiom(void)
{
	static const char *const idioms[] = {
		"\\bGStrv\\s+\\**vv_", "\\bg?char\\s*\\*\\*\\s*vv_", "\\bconst\\s+g?char\\s*\\*\\s*const\\s*\\*\\s*vv_",
		"g_strfreev", "\\bGStrv\\b",
	};
	g_autofree char *header = vv_lists_read_header();

	for (guint i = 0; i < G_N_ELEMENTS(idioms); i++) {
		g_autoptr(GRegex) regex = g_regex_new(idioms[i], 0, 0, NULL);
		g_autoptr(GMatchInfo) match = NULL;

		if (g_regex_match(regex, header, 0, &match)) {
			g_autofree char *found = g_match_info_fetch(match, 0);

			g_error("the header still has an older list idiom (/%s/): %s", idioms[i], found);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(list_cases); i++) {
		g_autofree char *path = g_strdup_printf("/lists/%s/%s", list_cases[i].function, list_cases[i].label);

		g_test_add(path, vv_lists, &list_cases[i], vv_lists_setup, test_list_case, vv_lists_teardown);
	}
	g_test_add_func("/lists/header/every-list-covered", test_header_lists_covered);
	g_test_add_func("/lists/header/no-other-idiom", test_header_no_other_idiom);
	return g_test_run();
}
