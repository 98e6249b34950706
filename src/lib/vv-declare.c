/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VFIO mode: the declarations (mode=vfio in the policy), the drop-in the
 * declaring functions own, the index the udev rule tests, and vv_apply().
 *
 * Why an index: udev decides from its rules alone whether to start a
 * process, and a rule can test that a file exists (TEST==) without one.
 * So every change of the declarations rewrites DIR(CONFIG)/declared/, one
 * empty file per name the rule can build from a uevent: the device's
 * address ($kernel), its id as the kernel's PCI_ID (uppercase),
 * "pf-ADDRESS" for a PF whose VFs are declared (by their id, or by vfs=
 * on the PF), and "vfs-of-0xVVVV:0xDDDD" for the model of a PF whose VFs
 * are declared by vfs=. That last one is for the VFs: a VF's name is not
 * known before the kernel makes it, and nothing in its uevent names its
 * PF, but udev can read its PF's attributes through the physfn link
 * ($attr{physfn/vendor}). So the rule catches a VF whose PF is of a model
 * with such a declaration AND has sriov_drivers_autoprobe=0 (which
 * vv_apply() writes for exactly the PFs declared); vv_apply() then reads
 * the VF's physfn and decides. It lives next to
 * the policy (in /etc), not in /run, because the rule needs it at cold
 * plug, before anything of ours has run in this boot. A device whose name
 * is not there costs udev one stat per rule line, and no process.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-bind.h"

#define VV_DECLARE_MAX_SIZE (1024 * 1024)
#define VV_SRIOV_STATE "sriov"

struct vv_declaration {
	char *target;
	gboolean is_id;
	gboolean is_vfs;        /* vfs= on the PF TARGET: its VFs */
	vv_device_mode mode;
	char *driver;
	char *file;
	guint line;
};

VV_EXPORT void
vv_declaration_free(vv_declaration *declaration)
{
	if (!declaration)
		return;
	g_free(declaration->target);
	g_free(declaration->driver);
	g_free(declaration->file);
	g_free(declaration);
}

VV_EXPORT const char *vv_declaration_get_target(const vv_declaration *declaration) { return declaration->target; }
VV_EXPORT gboolean vv_declaration_is_id(const vv_declaration *declaration) { return declaration->is_id; }
VV_EXPORT gboolean vv_declaration_is_vfs(const vv_declaration *declaration) { return declaration->is_vfs; }
VV_EXPORT vv_device_mode vv_declaration_get_mode(const vv_declaration *declaration) { return declaration->mode; }
VV_EXPORT const char *vv_declaration_get_driver(const vv_declaration *declaration) { return declaration->driver; }
VV_EXPORT const char *vv_declaration_get_file(const vv_declaration *declaration) { return declaration->file; }
VV_EXPORT guint vv_declaration_get_line(const vv_declaration *declaration) { return declaration->line; }

/* ---- the declarations in force ---------------------------------------- */

typedef struct {
	GHashTable *by_target; /* "device ADDR" / "vfs ADDR" / "id VVVV:DDDD" -> vv_declaration */
	GPtrArray *order;      /* the same, first seen first */
} vv_declare_scan;

static vv_declaration *
vv_declare_scan_get(vv_declare_scan *scan, const char *kind, const char *target)
{
	g_autofree char *key = g_strconcat(kind, " ", target, NULL);
	vv_declaration *declaration = g_hash_table_lookup(scan->by_target, key);

	if (!declaration) {
		declaration = g_new0(vv_declaration, 1);
		declaration->target = g_strdup(target);
		declaration->is_id = g_str_equal(kind, "id");
		declaration->is_vfs = g_str_equal(kind, "vfs");
		g_hash_table_insert(scan->by_target, g_steal_pointer(&key), declaration);
		g_ptr_array_add(scan->order, declaration);
	}
	return declaration;
}

static void
vv_declare_collect(const vv_policy_group_info *info, gpointer data)
{
	vv_declare_scan *scan = data;
	vv_declaration *declaration;

	/* vfs= is a declaration of its own: the PF's VFs, not the PF. Their
	 * driver follows their own groups, not the PF's driver=. */
	if (info->has_vfs) {
		declaration = vv_declare_scan_get(scan, "vfs", info->key);
		declaration->mode = info->vfs;
		vv_record_set(&declaration->file, info->file);
		declaration->line = info->vfs_line;
	}
	if (!info->has_mode && !info->driver)
		return;
	declaration = vv_declare_scan_get(scan, info->by_device ? "device" : "id", info->key);
	/* Files come in the order read: a later one's key wins. */
	if (info->has_mode) {
		declaration->mode = info->mode;
		vv_record_set(&declaration->file, info->file);
		declaration->line = info->mode_line;
	}
	if (info->driver)
		vv_record_set(&declaration->driver, info->driver);
}

static gint
vv_declare_compare(gconstpointer a, gconstpointer b)
{
	const vv_declaration *x = *(vv_declaration *const *)a;
	const vv_declaration *y = *(vv_declaration *const *)b;

	int rank_x = x->is_id ? 2 : x->is_vfs ? 1 : 0;
	int rank_y = y->is_id ? 2 : y->is_vfs ? 1 : 0;

	if (rank_x != rank_y)
		return rank_x - rank_y;
	return strcmp(x->target, y->target);
}

/* Every target with a mode= key (either mode), in the listing's order. */
static GPtrArray *
vv_declare_list_all(vv_ctx *ctx, GError **error)
{
	vv_policy_rules *rules = vv_policy_rules_get(ctx, error);
	g_autoptr(GHashTable) by_target = NULL;
	g_autoptr(GPtrArray) order = NULL;
	g_autoptr(GPtrArray) result = NULL;
	vv_declare_scan scan;

	if (!rules)
		return NULL;
	by_target = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	order = g_ptr_array_new_with_free_func((GDestroyNotify)vv_declaration_free);
	scan = (vv_declare_scan){ .by_target = by_target, .order = order };
	vv_policy_rules_foreach(rules, vv_declare_collect, &scan);
	result = vv_list_new((GDestroyNotify)vv_declaration_free);
	for (guint i = 0; i < order->len; i++) {
		vv_declaration *declaration = g_ptr_array_index(order, i);

		/* A group with driver= but no mode= declares nothing. */
		if (declaration->file)
			g_ptr_array_add(result, g_steal_pointer(&order->pdata[i]));
	}
	g_ptr_array_sort(result, vv_declare_compare);
	return g_steal_pointer(&result);
}

VV_EXPORT GPtrArray *
vv_ctx_list_declarations(vv_ctx *ctx, GError **error)
{
	return vv_declare_list_all(ctx, error);
}

/* The vfs= in force for the PF ADDRESS: TRUE with *MODE set, FALSE when
 * no file sets one. */
static gboolean
vv_declare_vfs_of(GPtrArray *all, const char *address, vv_device_mode *mode)
{
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);

		if (declaration->is_vfs && g_str_equal(declaration->target, address)) {
			*mode = declaration->mode;
			return TRUE;
		}
	}
	return FALSE;
}

/* TRUE when the address ADDRESS itself is declared mode=vfio. */
static gboolean
vv_declare_address_is_vfio(GPtrArray *all, const char *address)
{
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);

		if (!declaration->is_id && !declaration->is_vfs && g_str_equal(declaration->target, address))
			return declaration->mode == VV_DEVICE_MODE_VFIO;
	}
	return FALSE;
}

/* TRUE when "vvvv:dddd" is declared mode=vfio. */
static gboolean
vv_declare_id_is_vfio(GPtrArray *all, const char *id)
{
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);

		if (declaration->is_id && g_str_equal(declaration->target, id))
			return declaration->mode == VV_DEVICE_MODE_VFIO;
	}
	return FALSE;
}

/* ---- targets -------------------------------------------------------- */

/* TARGET as the group it names, "device ADDR" or "id vvvv:dddd", and its
 * key; NULL with an error when it is neither. */
static char *
vv_declare_parse_target(const char *target, char **key, GError **error)
{
	gboolean id = strlen(target) == 9 && target[4] == ':';

	for (guint i = 0; id && i < 9; i++)
		if (i != 4 && !g_ascii_isxdigit(target[i]))
			id = FALSE;
	if (id) {
		*key = g_ascii_strdown(target, -1);
		return g_strconcat("id ", *key, NULL);
	}
	if (!(*key = vv_address_parse(target, NULL))) {
		g_autofree char *shown = vv_text_escape(target);

		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("'%s' is neither a PCI device address (such as 0000:03:00.1) nor a vendor:device id (such as 15b3:101e)."),
			    shown);
		return NULL;
	}
	return g_strconcat("device ", *key, NULL);
}

/* A group name of the drop-in as the canonical group, NULL if it is none. */
static char *
vv_declare_canonical_group(const char *group)
{
	g_autofree char *key = NULL;

	if (g_str_has_prefix(group, "device ") || g_str_has_prefix(group, "id "))
		return vv_declare_parse_target(strchr(group, ' ') + 1, &key, NULL);
	return NULL;
}

/* ---- the drop-in ------------------------------------------------------ */

static char *
vv_declare_dropin_path(vv_ctx *ctx)
{
	g_autofree char *dir = vv_policy_dropin_dir(ctx->config_file);

	return g_build_filename(dir, VV_DECLARE_DROPIN, NULL);
}

/* A directory of ours next to the policy: made when absent, refused when
 * it is a symbolic link or not a directory. */
static gboolean
vv_declare_make_dir(vv_ctx *ctx, const char *dir, GError **error)
{
	GStatBuf st;

	if (!vv_sysfs_guard_live_host(ctx, dir, error))
		return FALSE;
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		int saved = errno;

		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot create %1$s: %2$s."), dir, g_strerror(saved));
		return FALSE;
	}
	if (g_lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%s is a symbolic link or not a directory; vfio-variant writes only into a directory of its own there."),
			    dir);
		return FALSE;
	}
	return TRUE;
}

/* The drop-in as a key file; an absent one is empty. The policy, read
 * before, has checked it line by line. */
static GKeyFile *
vv_declare_read_dropin(const char *path, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autofree char *text = NULL;
	gsize length;

	if (!(text = vv_file_read(NULL, path, VV_DECLARE_MAX_SIZE, VV_READ_SIZED | VV_READ_NOFOLLOW, &length, &local))) {
		if (g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND))
			return g_steal_pointer(&file);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	if (!g_key_file_load_from_data(file, text, length, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT, _("%1$s is not a valid key file: %2$s."),
			    path, local->message);
		return NULL;
	}
	return g_steal_pointer(&file);
}

/* GROUP of FILE (its other spellings merged into it) with the keys SET
 * (key, value, ..., NULL) set and the keys DROP removed, every other key
 * kept: a [device] group may carry both mode= and vfs=. A group left
 * empty goes. */
static void
vv_declare_edit_group(GKeyFile *file, const char *group, const char *const *set, const char *const *drop)
{
	g_auto(GStrv) groups = g_key_file_get_groups(file, NULL);
	g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; groups[i]; i++) {
		g_autofree char *canonical = vv_declare_canonical_group(groups[i]);
		g_auto(GStrv) keys = NULL;

		if (g_strcmp0(canonical, group) != 0)
			continue;
		keys = g_key_file_get_keys(file, groups[i], NULL, NULL);
		for (guint k = 0; keys && keys[k]; k++) {
			if (g_strv_contains(drop, keys[k]))
				continue;
			g_ptr_array_add(kept, g_strdup(keys[k]));
			g_ptr_array_add(kept, g_key_file_get_value(file, groups[i], keys[k], NULL));
		}
		g_key_file_remove_group(file, groups[i], NULL);
	}
	for (guint i = 0; i + 1 < kept->len; i += 2)
		g_key_file_set_value(file, group, kept->pdata[i], kept->pdata[i + 1]);
	for (guint i = 0; set && set[i]; i += 2)
		g_key_file_set_string(file, group, set[i], set[i + 1]);
}
static gboolean
vv_declare_write_dropin(vv_ctx *ctx, const char *path, GKeyFile *file, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *body = g_key_file_to_data(file, NULL, NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	if (!vv_declare_make_dir(ctx, dir, error))
		return FALSE;
	text = g_strconcat("# Written by 'vfio-variant declare' and 'undeclare': the devices in VFIO mode.\n"
			   "# Your own declarations belong in vfio-variant.conf or another drop-in.\n\n",
			   body, NULL);
	/* Readable by all, as the policy is: 'list' runs as any user. The
	 * temporary (PATH.XXXXXX) is no drop-in (*.conf) while it exists. */
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot write the declarations: %s"), local->message);
		return FALSE;
	}
	vv_policy_rules_reset(ctx);
	return TRUE;
}

/* The declaration NAME ("device ADDR", "vfs ADDR" or "id VVVV:DDDD"):
 * is it vfio in the policy as it is now? */
static gboolean
vv_declare_is_declared(vv_ctx *ctx, const char *name, GError **error, gboolean *declared)
{
	g_autoptr(GPtrArray) all = vv_declare_list_all(ctx, error);

	*declared = FALSE;
	if (!all)
		return FALSE;
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);
		g_autofree char *other = g_strconcat(declaration->is_id ? "id " : declaration->is_vfs ? "vfs " : "device ",
						     declaration->target, NULL);

		if (g_str_equal(other, name))
			*declared = declaration->mode == VV_DEVICE_MODE_VFIO;
	}
	return TRUE;
}

/* Both mode=vfio and vfs=vfio on ADDRESS while it has VFs: the PF cannot
 * be on VFIO (a VFIO driver refuses a PF whose VFs exist) and its VFs
 * declared as well; which one was meant is not ours to guess. */
static gboolean
vv_declare_check_both(vv_ctx *ctx, const char *address, gboolean mode, gboolean vfs, GError **error)
{
	g_autoptr(vv_device) device = NULL;

	if (!mode || !vfs || !(device = vv_device_new(ctx, address, NULL)) || !vv_device_get_sriov_numvfs(device))
		return TRUE;
	g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
		    _("%1$s has %2$u VFs enabled: it cannot be declared both for VFIO itself (mode=vfio) and for its VFs (vfs=vfio), since a VFIO driver does not take a PF whose VFs exist. Keep one of the two declarations."),
		    address, vv_device_get_sriov_numvfs(device));
	return FALSE;
}

VV_EXPORT gboolean
vv_declare(vv_ctx *ctx, const char *target, const char *driver, GError **error)
{
	g_autofree char *key = NULL;
	g_autofree char *group = vv_declare_parse_target(target, &key, error);
	g_autofree char *path = NULL;
	g_autoptr(GKeyFile) file = NULL;
	g_autoptr(GPtrArray) all = NULL;
	vv_device_mode vfs;

	if (!group)
		return FALSE;
	if (!driver)
		driver = "auto";
	/* deny is a driver= value, but no driver: a device in VFIO mode
	 * without one is a contradiction. */
	if (g_str_equal(driver, "deny") ||
	    (!g_str_equal(driver, "auto") && !g_str_equal(driver, "generic") && !vv_name_is_driver(driver))) {
		g_autofree char *shown = vv_text_escape(driver);

		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("'%s' is neither auto, generic nor the name of a module or driver (1 to 255 letters, digits, '_', '-', '.')."),
			    shown);
		return FALSE;
	}
	/* The whole policy must read before it is changed. */
	if (!(all = vv_declare_list_all(ctx, error)))
		return FALSE;
	if (g_str_has_prefix(group, "device ") &&
	    !vv_declare_check_both(ctx, key, TRUE, vv_declare_vfs_of(all, key, &vfs) && vfs == VV_DEVICE_MODE_VFIO, error))
		return FALSE;
	path = vv_declare_dropin_path(ctx);
	if (!(file = vv_declare_read_dropin(path, error)))
		return FALSE;
	vv_declare_edit_group(file, group, (const char *const[]){ "mode", "vfio", "driver", driver, NULL },
			      (const char *const[]){ "mode", "driver", NULL });
	return vv_declare_write_dropin(ctx, path, file, error) && vv_declarations_write_index(ctx, error);
}

/* Take NAME's declaration (KEY in GROUP, with the keys DROP) out of the
 * drop-in; when another file still declares it, the drop-in, read last of
 * the administrator's files before it, says KEY=host. */
static gboolean
vv_declare_remove(vv_ctx *ctx, const char *group, const char *name, const char *key, const char *const *drop,
		  GError **error)
{
	g_autofree char *path = NULL;
	g_autoptr(GKeyFile) file = NULL;
	gboolean declared;

	if (!vv_policy_rules_get(ctx, error))
		return FALSE;
	path = vv_declare_dropin_path(ctx);
	if (!(file = vv_declare_read_dropin(path, error)))
		return FALSE;
	vv_declare_edit_group(file, group, NULL, drop);
	if (!vv_declare_write_dropin(ctx, path, file, error) || !vv_declare_is_declared(ctx, name, error, &declared))
		return FALSE;
	if (declared) {
		vv_declare_edit_group(file, group, (const char *const[]){ key, "host", NULL }, drop);
		if (!vv_declare_write_dropin(ctx, path, file, error) ||
		    !vv_declare_is_declared(ctx, name, error, &declared))
			return FALSE;
		if (declared) {
			g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
				    _("[%1$s] stays in VFIO mode: a drop-in read after %2$s declares it again."), group, path);
			return FALSE;
		}
	}
	return vv_declarations_write_index(ctx, error);
}

VV_EXPORT gboolean
vv_undeclare(vv_ctx *ctx, const char *target, GError **error)
{
	g_autofree char *key = NULL;
	g_autofree char *group = vv_declare_parse_target(target, &key, error);

	if (!group)
		return FALSE;
	return vv_declare_remove(ctx, group, group, "mode", (const char *const[]){ "mode", "driver", NULL }, error);
}

/* PF as an address of a present SR-IOV PF, NULL with an error otherwise. */
static char *
vv_declare_parse_pf(vv_ctx *ctx, const char *pf, gboolean present, GError **error)
{
	g_autofree char *address = vv_address_parse(pf, NULL);
	g_autoptr(vv_device) device = NULL;

	if (!address) {
		g_autofree char *shown = vv_text_escape(pf);

		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("'%s' is not a PCI device address (such as 0000:03:00.0): the VFs are declared on their PF, by its address."),
			    shown);
		return NULL;
	}
	if (!present)
		return g_steal_pointer(&address);
	if (!(device = vv_device_new(ctx, address, error)))
		return NULL;
	if (vv_device_get_physfn(device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%1$s is a VF of the PF %2$s, not a PF: vfs=vfio declares the VFs of the PF it is set on (%2$s), and this VF alone is declared by its own address."),
			    address, vv_device_get_physfn(device));
		return NULL;
	}
	if (!vv_device_get_sriov_totalvfs(device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%s is not an SR-IOV PF (its sriov_totalvfs is absent or 0): it has no VFs to declare."), address);
		return NULL;
	}
	return g_steal_pointer(&address);
}

VV_EXPORT gboolean
vv_declare_vfs(vv_ctx *ctx, const char *pf, GError **error)
{
	g_autofree char *address = vv_declare_parse_pf(ctx, pf, TRUE, error);
	g_autofree char *group = NULL;
	g_autofree char *path = NULL;
	g_autoptr(GKeyFile) file = NULL;
	g_autoptr(GPtrArray) all = NULL;

	if (!address || !(all = vv_declare_list_all(ctx, error)) ||
	    !vv_declare_check_both(ctx, address, vv_declare_address_is_vfio(all, address), TRUE, error))
		return FALSE;
	group = g_strconcat("device ", address, NULL);
	path = vv_declare_dropin_path(ctx);
	if (!(file = vv_declare_read_dropin(path, error)))
		return FALSE;
	vv_declare_edit_group(file, group, (const char *const[]){ "vfs", "vfio", NULL }, (const char *const[]){ "vfs", NULL });
	return vv_declare_write_dropin(ctx, path, file, error) && vv_declarations_write_index(ctx, error);
}

VV_EXPORT gboolean
vv_undeclare_vfs(vv_ctx *ctx, const char *pf, GError **error)
{
	/* The PF may be gone: its declaration can still be removed. */
	g_autofree char *address = vv_declare_parse_pf(ctx, pf, FALSE, error);
	g_autofree char *group = NULL;
	g_autofree char *name = NULL;

	if (!address)
		return FALSE;
	group = g_strconcat("device ", address, NULL);
	name = g_strconcat("vfs ", address, NULL);
	return vv_declare_remove(ctx, group, name, "vfs", (const char *const[]){ "vfs", NULL }, error);
}

/* ---- the index ------------------------------------------------------ */

static char *
vv_declare_index_dir(vv_ctx *ctx)
{
	g_autofree char *dir = g_path_get_dirname(ctx->config_file);

	return g_build_filename(dir, "declared", NULL);
}

/* The id of the VFs of DEVICE, a PF: "vvvv:dddd"; NULL for no PF. */
static char *
vv_declare_vf_id(vv_ctx *ctx, vv_device *device)
{
	g_autofree char *path = NULL;
	guint32 id;

	if (!vv_device_get_sriov_totalvfs(device))
		return NULL;
	path = vv_sysfs_device_file(ctx, vv_device_get_address(device), "sriov_vf_device");
	if (!vv_sysfs_read_u32(ctx, path, &id, NULL) || id > 0xffff)
		return NULL;
	return g_strdup_printf("%04x:%04x", vv_device_get_vendor_id(device), id);
}

/* Are the VFs of DEVICE, a PF whose VFs' id is VF_ID, declared? Its own
 * vfs= first (which names this PF), then their id. */
static gboolean
vv_declare_vfs_declared(GPtrArray *all, vv_device *device, const char *vf_id)
{
	vv_device_mode vfs;

	if (vv_declare_vfs_of(all, vv_device_get_address(device), &vfs))
		return vfs == VV_DEVICE_MODE_VFIO;
	return vv_declare_id_is_vfio(all, vf_id);
}

/* The index name the rule builds for a VF from its PF's attributes:
 * "vfs-of-" $attr{physfn/vendor} ":" $attr{physfn/device}, as sysfs
 * prints them ("0x1b36:0x0010"). */
static char *
vv_declare_vfs_gate(vv_device *pf)
{
	return g_strdup_printf("vfs-of-0x%04x:0x%04x", vv_device_get_vendor_id(pf), vv_device_get_device_id(pf));
}

/* Create the index entry NAME, if it is not there. */
static gboolean
vv_declare_index_add(vv_ctx *ctx, const char *name, GError **error)
{
	g_autofree char *dir = vv_declare_index_dir(ctx);
	g_autofree char *path = g_build_filename(dir, name, NULL);
	int fd;

	if (!vv_declare_make_dir(ctx, dir, error))
		return FALSE;
	if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return TRUE;
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0) {
		int saved = errno;

		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot create %1$s: %2$s."), path, g_strerror(saved));
		return FALSE;
	}
	close(fd);
	return TRUE;
}

VV_EXPORT gboolean
vv_declarations_write_index(vv_ctx *ctx, GError **error)
{
	g_autoptr(GPtrArray) all = vv_declare_list_all(ctx, error);
	g_autoptr(GPtrArray) devices = NULL;
	g_autoptr(GHashTable) names = NULL;
	g_autofree char *dir = vv_declare_index_dir(ctx);
	g_autoptr(GDir) handle = NULL;
	g_autoptr(GError) local = NULL;
	GHashTableIter iter;
	gpointer name;
	const char *entry;
	vv_device_mode vfs;

	if (!all || !(devices = vv_ctx_list_devices(ctx, error)))
		return FALSE;
	names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);

		/* vfs= has its names below. */
		if (declaration->mode != VV_DEVICE_MODE_VFIO || declaration->is_vfs)
			continue;
		/* The kernel's PCI_ID is uppercase; $kernel is the address. */
		g_hash_table_add(names, declaration->is_id ? g_ascii_strup(declaration->target, -1) :
							   g_strdup(declaration->target));
	}
	for (guint i = 0; i < devices->len; i++) {
		vv_device *device = g_ptr_array_index(devices, i);
		g_autofree char *vf_id = vv_declare_vf_id(ctx, device);

		if (vf_id && vv_declare_vfs_declared(all, device, vf_id))
			g_hash_table_add(names, g_strconcat("pf-", vv_device_get_address(device), NULL));
		if (vf_id && vv_declare_vfs_of(all, vv_device_get_address(device), &vfs) && vfs == VV_DEVICE_MODE_VFIO)
			g_hash_table_add(names, vv_declare_vfs_gate(device));
	}
	/* A PF declared by vfs= that is not here: its own add must still
	 * reach vv_apply(), which writes its model's name then. */
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);

		if (declaration->is_vfs && declaration->mode == VV_DEVICE_MODE_VFIO)
			g_hash_table_add(names, g_strconcat("pf-", declaration->target, NULL));
	}

	if (!vv_declare_make_dir(ctx, dir, error))
		return FALSE;
	if (!(handle = g_dir_open(dir, 0, &local))) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read %1$s: %2$s"), dir, local->message);
		return FALSE;
	}
	/* Stale names go first: a device no longer declared must not keep
	 * its entry because a later creation failed. */
	while ((entry = g_dir_read_name(handle))) {
		g_autofree char *path = NULL;

		if (g_hash_table_contains(names, entry))
			continue;
		path = g_build_filename(dir, entry, NULL);
		if (g_unlink(path) < 0) {
			int saved = errno;

			g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot remove %1$s: %2$s."), path, g_strerror(saved));
			return FALSE;
		}
	}
	g_hash_table_iter_init(&iter, names);
	while (g_hash_table_iter_next(&iter, &name, NULL)) {
		g_autofree char *path = g_build_filename(dir, (const char *)name, NULL);
		int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);

		if (fd < 0) {
			int saved = errno;

			g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot create %1$s: %2$s."), path, g_strerror(saved));
			return FALSE;
		}
		close(fd);
	}
	return TRUE;
}

/* ---- apply ---------------------------------------------------------- */

/* STATE_DIR/sriov/ADDRESS: this PF's sriov_drivers_autoprobe was 1 and
 * vv_apply() wrote 0. */
static char *
vv_apply_sriov_state(vv_ctx *ctx, const char *address)
{
	return g_build_filename(ctx->state_dir, VV_SRIOV_STATE, address, NULL);
}

/* A PF: its VFs' driver autoprobe off while their id is declared, back on
 * (if we turned it off) once it is not. */
static gboolean
vv_apply_pf(vv_ctx *ctx, vv_device *device, GPtrArray *all, vv_bind_result *result, gboolean dry_run,
	    GError **error)
{
	const char *address = vv_device_get_address(device);
	g_autofree char *vf_id = vv_declare_vf_id(ctx, device);
	g_autofree char *attribute = NULL;
	g_autofree char *state = NULL;
	g_autofree char *current = NULL;
	gboolean declared, ours;
	vv_device_mode vfs;

	if (!vf_id)
		return TRUE;
	declared = vv_declare_vfs_declared(all, device, vf_id);
	/* A PF that appeared after the index was written (hot-add): its
	 * VFs' rule needs its model's name. One that cannot be written (a
	 * read-only /etc) is said; the autoprobe is still turned off, which
	 * keeps the host's VF driver away all the same. */
	if (!dry_run && vv_declare_vfs_of(all, address, &vfs) && vfs == VV_DEVICE_MODE_VFIO) {
		g_autofree char *gate = vv_declare_vfs_gate(device);
		g_autoptr(GError) local = NULL;

		if (!vv_declare_index_add(ctx, gate, &local))
			g_ptr_array_add(result->messages, g_strdup(local->message));
	}
	attribute = vv_sysfs_device_file(ctx, address, "sriov_drivers_autoprobe");
	state = vv_apply_sriov_state(ctx, address);
	ours = g_file_test(state, G_FILE_TEST_IS_REGULAR);
	if (!(current = vv_sysfs_read_attribute(ctx, attribute, error)))
		return FALSE;
	if (declared && g_str_equal(current, "1")) {
		g_ptr_array_add(result->actions, g_strdup_printf(_("write '%1$s' to %2$s"), "0", attribute));
		if (dry_run)
			return TRUE;
		/* The note first: a PF left at 0 without it would never be
		 * turned back. */
		if (!vv_state_file_write(state, "1\n", 2, error) || !vv_sysfs_write(ctx, attribute, "0", error))
			return FALSE;
		g_ptr_array_add(result->messages,
				g_strdup_printf(_("The VFs %1$s of the PF %2$s are declared for VFIO: their host driver no longer probes them (sriov_drivers_autoprobe=0)."),
						vf_id, address));
	} else if (!declared && ours) {
		g_ptr_array_add(result->actions, g_strdup_printf(_("write '%1$s' to %2$s"), "1", attribute));
		if (dry_run)
			return TRUE;
		if (!vv_sysfs_write(ctx, attribute, "1", error) || !vv_state_file_remove(state, error))
			return FALSE;
		g_ptr_array_add(result->messages,
				g_strdup_printf(_("The VFs %1$s of the PF %2$s are no longer declared: sriov_drivers_autoprobe is 1 again."),
						vf_id, address));
	}
	return TRUE;
}

/* A PF whose VFs carry its own id (QEMU's nvme does) and whose VFs are
 * declared by that id: the declaration is for the VFs, and the PF stays on
 * its host driver unless its address is declared itself. */
static gboolean
vv_apply_pf_stays(vv_ctx *ctx, vv_device *device, GPtrArray *all)
{
	g_autofree char *vf_id = vv_declare_vf_id(ctx, device);
	g_autofree char *own_id = NULL;
	const char *address = vv_device_get_address(device);

	if (!vf_id || !vv_declare_id_is_vfio(all, vf_id))
		return FALSE;
	own_id = g_strdup_printf("%04x:%04x", vv_device_get_vendor_id(device), vv_device_get_device_id(device));
	if (!g_str_equal(own_id, vf_id))
		return FALSE;
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);

		if (!declaration->is_id && g_str_equal(declaration->target, address))
			return declaration->mode != VV_DEVICE_MODE_VFIO;
	}
	return TRUE;
}

/* A VF removed (sriov_numvfs 0) and made again, or a device unplugged
 * and plugged again, keeps the record of the one before: a finished
 * detach to a VFIO driver, while the device is on no driver. For a
 * declared device that record says nothing true any more, and it would
 * refuse the detach (VV_ERROR_DETACHED): it is forgotten, under the
 * group's lock, so that the detach records the device as it is now. */
static gboolean
vv_apply_forget_stale(vv_ctx *ctx, const char *address, const vv_bind_options *options, vv_bind_result *result,
		      GError **error)
{
	g_auto(vv_op) op = { 0 };

	if (!vv_op_open(&op, ctx, address, "apply", options, 0, error))
		return FALSE;
	if (!op.stored || !vv_record_is_complete(op.stored) || vv_device_get_driver(op.device))
		return TRUE;
	g_ptr_array_add(result->actions, g_strdup_printf(_("forget the record of %s"), address));
	if (!op.dry_run && !vv_record_remove(ctx, address, error))
		return FALSE;
	g_ptr_array_add(result->messages,
			g_strdup_printf(_("The record of %1$s named %2$s, but %1$s is on no driver: the device was removed and made again (a VF created anew) or unbound by hand. That record is forgotten."),
					address, op.stored->driver ? op.stored->driver : _("no driver")));
	return TRUE;
}

/* The udev rule held DEVICE with its pending override for a declaration
 * that is gone since: the override is cleared and the kernel offers the
 * device to the host's drivers. Decided on the override read under the
 * group's lock, so that a device another apply or detach has bound in the
 * meantime keeps its VFIO driver's override. */
static gboolean
vv_apply_release_pending(vv_ctx *ctx, const char *address, const vv_bind_options *options, vv_bind_result *result,
			 GError **error)
{
	g_auto(vv_op) op = { 0 };

	if (!vv_op_open(&op, ctx, address, "apply", options, 0, error))
		return FALSE;
	if (g_strcmp0(vv_device_get_driver_override(op.device), VV_APPLY_PENDING) != 0)
		return TRUE;
	if (!vv_op_write_override(&op, NULL, error) || !vv_op_probe(&op, error))
		return FALSE;
	for (guint i = 0; op.result->actions->pdata[i]; i++)
		g_ptr_array_add(result->actions, g_strdup(op.result->actions->pdata[i]));
	return TRUE;
}

VV_EXPORT vv_bind_result *
vv_apply(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, name, error);
	g_autoptr(vv_policy) policy = NULL;
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(vv_bind_result) result = NULL;
	gboolean dry_run = options && (options->flags & VV_BIND_DRY_RUN);
	const char *address;
	gboolean vfio;

	vv_device_mode vfs;

	if (!device || !(policy = vv_policy_new(ctx, device, error)) || !(all = vv_declare_list_all(ctx, error)))
		return NULL;
	address = vv_device_get_address(device);
	/* Before anything is written: a contradiction done half is worse. */
	if (!vv_declare_check_both(ctx, address, vv_declare_address_is_vfio(all, address),
				   vv_declare_vfs_of(all, address, &vfs) && vfs == VV_DEVICE_MODE_VFIO, error))
		return NULL;
	result = vv_bind_result_new();
	if (!vv_apply_pf(ctx, device, all, result, dry_run, error))
		return NULL;
	vfio = vv_policy_get_device_mode(policy) == VV_DEVICE_MODE_VFIO && !vv_apply_pf_stays(ctx, device, all);

	/* A declared device keeps the udev rule's pending override until
	 * the detach replaces it, under the group's lock, by its VFIO
	 * driver's name: cleared any earlier, a host driver registering in
	 * between would take the device. One undeclared since the rule ran
	 * goes to the host's drivers. */
	if (!vfio && !vv_apply_release_pending(ctx, address, options, result, error))
		return NULL;
	if (!vfio) {
		result->noop = result->actions->len == 0;
		result->driver = g_strdup(vv_device_get_driver(device));
		if (result->noop && vv_policy_get_device_mode(policy) == VV_DEVICE_MODE_VFIO)
			g_ptr_array_add(result->messages,
					g_strdup_printf(_("%s is a PF whose VFs carry its id, declared for its VFs: it stays on its host driver."),
							address));
		else if (result->noop)
			g_ptr_array_add(result->messages, g_strdup_printf(_("%s is not declared for VFIO; nothing to do."), address));
		return g_steal_pointer(&result);
	}
	if (vv_device_is_vfio_bound(device)) {
		result->noop = result->actions->len == 0;
		result->driver = g_strdup(vv_device_get_driver(device));
		g_ptr_array_add(result->messages, g_strdup_printf(_("%1$s is declared for VFIO and on the VFIO driver %2$s already."),
								  address, result->driver));
		return g_steal_pointer(&result);
	}
	if (!vv_device_get_driver(device) && !vv_apply_forget_stale(ctx, address, options, result, error))
		return NULL;
	{
		g_autoptr(GError) local = NULL;
		g_autoptr(vv_bind_result) detached = vv_detach(ctx, address, options, &local);

		/* The udev rule's apply and the boot unit's can race for one
		 * device: the one that gets the group's lock second finds it
		 * detached, which is what it wanted. */
		if (!detached && g_error_matches(local, VV_ERROR, VV_ERROR_DETACHED)) {
			g_autoptr(vv_device) now = vv_device_new(ctx, address, NULL);

			if (now && vv_device_is_vfio_bound(now)) {
				result->noop = result->actions->len == 0;
				result->driver = g_strdup(vv_device_get_driver(now));
				g_ptr_array_add(result->messages, g_strdup_printf(_("%1$s is declared for VFIO and on the VFIO driver %2$s already."),
										  address, result->driver));
				return g_steal_pointer(&result);
			}
		}
		if (!detached) {
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
		/* The PF's lines (if any) come before the detach's. */
		for (guint i = 0; detached->actions->pdata[i]; i++)
			g_ptr_array_add(result->actions, g_strdup(detached->actions->pdata[i]));
		for (guint i = 0; detached->messages->pdata[i]; i++)
			g_ptr_array_add(result->messages, g_strdup(detached->messages->pdata[i]));
		result->driver = g_strdup(detached->driver);
		result->noop = detached->noop && result->actions->len == 0;
		result->fallback = detached->fallback;
	}
	return g_steal_pointer(&result);
}

VV_EXPORT vv_bind_result *
vv_apply_sriov(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, name, error);
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(vv_bind_result) result = NULL;
	gboolean dry_run = options && (options->flags & VV_BIND_DRY_RUN);

	if (!device || !(all = vv_declare_list_all(ctx, error)))
		return NULL;
	result = vv_bind_result_new();
	if (!vv_apply_pf(ctx, device, all, result, dry_run, error))
		return NULL;
	result->noop = result->actions->len == 0;
	result->driver = g_strdup(vv_device_get_driver(device));
	return g_steal_pointer(&result);
}
