/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The administrator's policy: SYSCONFDIR/vfio-variant/vfio-variant.conf
 * (SYSROOT/etc/vfio-variant/vfio-variant.conf under a sysroot), a GLib key
 * file:
 *
 *   [global]
 *   driver=auto                # auto | generic | deny | NAME
 *   hook-mode=fallback         # fallback | strict
 *   host-use=refuse            # refuse | allow: may the qemu hook give a
 *                              # guest a device the host visibly uses?
 *
 *   [id 15b3:101e]             # a vendor:device pair
 *   driver=mlx5_vfio_pci
 *
 *   [device 0000:03:00.1]      # one device (any name vfio-variant accepts)
 *   driver=deny
 *
 * For each key, the most specific group that sets it wins: device, then
 * id, then global, then the default (auto, fallback, refuse). The keys are
 * resolved independently.
 *
 * mode=vfio|host (only in [device] and [id] groups) declares that the
 * device lives on VFIO (vv-declare.c). After the file come the drop-ins
 * FILE.d/NAME.conf in byte order of their names; at one level (device, id,
 * global) a later file's key wins over an earlier's. Each drop-in is read
 * like the file; one that is a symbolic link or not a regular file is an
 * error naming it, so that a declaration never comes from elsewhere.
 *
 * The file is scanned line by line here, because GKeyFile's errors name no
 * line and it accepts what we do not (unknown keys, duplicate keys,
 * localized keys, escapes); GKeyFile then checks what is left (the
 * encoding). Every error names the file, the line and what to write.
 *
 * The file is read on the first selection, not when the context is made:
 * a broken policy must not keep 'reattach' or 'status' from working.
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "vv-private.h"

#define VV_POLICY_MAX_SIZE (1024 * 1024)

/* One group's settings. */
typedef struct {
	char *group;            /* as written, without brackets */
	gboolean has_action;
	vv_policy_action action;
	char *driver;           /* VV_POLICY_DRIVER */
	guint action_line;
	gboolean has_mode;
	vv_hook_mode mode;
	guint mode_line;
	gboolean has_host_use;
	vv_host_use host_use;
	guint host_use_line;
	gboolean has_device_mode;
	vv_device_mode device_mode;
	guint device_mode_line;
	gboolean has_vfs;       /* vfs=: a PF's VFs, [device] groups only */
	vv_device_mode vfs;
	guint vfs_line;
	const char *file;       /* the rules' path, which outlive the entry */
} vv_policy_entry;

struct vv_policy_rules {
	char *path;             /* NULL: no file */
	vv_policy_entry *global;
	GHashTable *by_id;      /* "vvvv:dddd" -> vv_policy_entry */
	GHashTable *by_device;  /* canonical address -> vv_policy_entry */
	GPtrArray *dropins;     /* of vv_policy_rules, in the order read (main file only) */
};

struct vv_policy {
	gint ref;
	char *file;
	vv_policy_action action;
	char *driver;
	vv_policy_scope scope;
	guint line;
	char *group;
	vv_hook_mode mode;
	vv_host_use host_use;
	vv_device_mode device_mode;
	char *description;
};

static void
vv_policy_entry_free(vv_policy_entry *entry)
{
	if (!entry)
		return;
	g_free(entry->group);
	g_free(entry->driver);
	g_free(entry);
}

void
vv_policy_rules_free(vv_policy_rules *rules)
{
	if (!rules)
		return;
	g_free(rules->path);
	vv_policy_entry_free(rules->global);
	g_hash_table_unref(rules->by_id);
	g_hash_table_unref(rules->by_device);
	if (rules->dropins)
		g_ptr_array_unref(rules->dropins);
	g_free(rules);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_policy_rules, vv_policy_rules_free)

/* ---- parsing ------------------------------------------------------------ */

typedef struct {
	const char *path;
	vv_policy_rules *rules;
	vv_policy_entry *entry;  /* the group being read, NULL before the first */
	GHashTable *group_lines; /* canonical group -> line (GUINT_TO_POINTER) */
	GHashTable *key_lines;   /* "canonical group\nkey" -> line */
	char *canonical;         /* of the group being read */
} vv_policy_parser;

static void
vv_policy_parser_clear(vv_policy_parser *parser)
{
	g_clear_pointer(&parser->group_lines, g_hash_table_unref);
	g_clear_pointer(&parser->key_lines, g_hash_table_unref);
	g_clear_pointer(&parser->canonical, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(vv_policy_parser, vv_policy_parser_clear)

static gboolean G_GNUC_PRINTF(4, 5)
vv_policy_fail(vv_policy_parser *parser, guint line, GError **error, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	/* TRANSLATORS: "FILE line N: what is wrong; what to write." */
	g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT, _("%1$s line %2$u: %3$s"),
		    parser->path, line, message);
	return FALSE;
}

/* "15b3:101e", four hex digits each, any case; NULL otherwise. */
static char *
vv_policy_parse_id(const char *text)
{
	if (strlen(text) != 9 || text[4] != ':')
		return NULL;
	for (guint i = 0; i < 9; i++)
		if (i != 4 && !g_ascii_isxdigit(text[i]))
			return NULL;
	return g_ascii_strdown(text, -1);
}

static gboolean
vv_policy_begin_group(vv_policy_parser *parser, const char *name, guint line, GError **error)
{
	vv_policy_rules *rules = parser->rules;
	g_autofree char *canonical = NULL;
	g_autofree char *key = NULL;
	GHashTable *table = NULL;
	g_autofree char *shown = vv_text_escape(name);
	gpointer seen;

	if (g_str_equal(name, "global")) {
		canonical = g_strdup("global");
	} else if (g_str_has_prefix(name, "id ")) {
		key = vv_policy_parse_id(name + strlen("id "));
		if (!key)
			return vv_policy_fail(parser, line, error,
					      _("'[%s]' does not name a vendor:device pair; write it as [id 15b3:101e] (four hexadecimal digits each)."),
					      shown);
		canonical = g_strconcat("id ", key, NULL);
		table = rules->by_id;
	} else if (g_str_has_prefix(name, "device ")) {
		key = vv_address_parse(name + strlen("device "), NULL);
		if (!key)
			return vv_policy_fail(parser, line, error,
					      _("'[%s]' does not name a PCI device; write it as [device 0000:03:00.1]."),
					      shown);
		canonical = g_strconcat("device ", key, NULL);
		table = rules->by_device;
	} else {
		return vv_policy_fail(parser, line, error,
				      _("'[%s]' is not a group of vfio-variant.conf; write [global], [id VENDOR:DEVICE] (e.g. [id 15b3:101e]) or [device ADDRESS] (e.g. [device 0000:03:00.1])."),
				      shown);
	}
	if (g_hash_table_lookup_extended(parser->group_lines, canonical, NULL, &seen))
		return vv_policy_fail(parser, line, error,
				      _("'[%1$s]' names the same thing as the group on line %2$u; merge the two groups."),
				      shown, GPOINTER_TO_UINT(seen));
	g_hash_table_insert(parser->group_lines, g_strdup(canonical), GUINT_TO_POINTER(line));

	/* Each entry has one owner: its table, or the global slot. */
	parser->entry = g_new0(vv_policy_entry, 1);
	parser->entry->group = g_strdup(name);
	parser->entry->file = rules->path;
	if (table)
		g_hash_table_insert(table, g_steal_pointer(&key), parser->entry);
	else
		rules->global = parser->entry;
	g_free(parser->canonical);
	parser->canonical = g_steal_pointer(&canonical);
	return TRUE;
}

static gboolean
vv_policy_set_driver(vv_policy_parser *parser, const char *value, guint line, GError **error)
{
	vv_policy_entry *entry = parser->entry;

	entry->has_action = TRUE;
	entry->action_line = line;
	if (g_str_equal(value, "auto"))
		entry->action = VV_POLICY_AUTO;
	else if (g_str_equal(value, "generic") || vv_names_equal_folded(value, VV_VFIO_PCI_MODULE))
		entry->action = VV_POLICY_GENERIC;
	else if (g_str_equal(value, "deny"))
		entry->action = VV_POLICY_DENY;
	else if (vv_name_is_driver(value)) {
		entry->action = VV_POLICY_DRIVER;
		entry->driver = g_strdup(value);
	} else {
		g_autofree char *shown = vv_text_escape(value);

		return vv_policy_fail(parser, line, error,
				      _("'%s' is not a value of driver; write driver=auto, driver=generic (always vfio-pci), driver=deny, or driver=NAME with the name of a module or driver (1 to 255 letters, digits, '_', '-', '.', not '.' or '..'; no comment after the value)."),
				      shown);
	}
	return TRUE;
}

static gboolean
vv_policy_set_mode(vv_policy_parser *parser, const char *value, guint line, GError **error)
{
	vv_policy_entry *entry = parser->entry;

	entry->has_mode = TRUE;
	entry->mode_line = line;
	if (g_str_equal(value, "fallback"))
		entry->mode = VV_HOOK_MODE_FALLBACK;
	else if (g_str_equal(value, "strict"))
		entry->mode = VV_HOOK_MODE_STRICT;
	else {
		g_autofree char *shown = vv_text_escape(value);

		return vv_policy_fail(parser, line, error,
				      _("'%s' is not a value of hook-mode; write hook-mode=fallback (a variant that refuses gives way to vfio-pci) or hook-mode=strict (the guest does not start)."),
				      shown);
	}
	return TRUE;
}

static gboolean
vv_policy_set_host_use(vv_policy_parser *parser, const char *value, guint line, GError **error)
{
	vv_policy_entry *entry = parser->entry;

	entry->has_host_use = TRUE;
	entry->host_use_line = line;
	if (g_str_equal(value, "refuse"))
		entry->host_use = VV_HOST_USE_REFUSE;
	else if (g_str_equal(value, "allow"))
		entry->host_use = VV_HOST_USE_ALLOW;
	else {
		g_autofree char *shown = vv_text_escape(value);

		return vv_policy_fail(parser, line, error,
				      _("'%s' is not a value of host-use; write host-use=refuse (the qemu hook does not give a guest a device the host uses: a mounted file system, swap, an interface up) or host-use=allow."),
				      shown);
	}
	return TRUE;
}

static gboolean
vv_policy_set_device_mode(vv_policy_parser *parser, const char *value, guint line, GError **error)
{
	vv_policy_entry *entry = parser->entry;

	if (entry == parser->rules->global)
		return vv_policy_fail(parser, line, error,
				      _("mode is not a key of [global]: declare devices one by one under [device ADDRESS] or by model under [id VENDOR:DEVICE]."));
	entry->has_device_mode = TRUE;
	entry->device_mode_line = line;
	if (g_str_equal(value, "vfio"))
		entry->device_mode = VV_DEVICE_MODE_VFIO;
	else if (g_str_equal(value, "host"))
		entry->device_mode = VV_DEVICE_MODE_HOST;
	else {
		g_autofree char *shown = vv_text_escape(value);

		return vv_policy_fail(parser, line, error,
				      _("'%s' is not a value of mode; write mode=vfio (the device lives on its VFIO driver from boot and from every add) or mode=host."),
				      shown);
	}
	return TRUE;
}

/* vfs=vfio|host: the VFs of the PF the [device] group names. Only there:
 * an id names no PF, and [global] would declare every VF of the host. */
static gboolean
vv_policy_set_vfs(vv_policy_parser *parser, const char *value, guint line, GError **error)
{
	vv_policy_entry *entry = parser->entry;

	if (!g_str_has_prefix(parser->canonical, "device "))
		return vv_policy_fail(parser, line, error,
				      _("vfs is a key of [device ADDRESS] groups only, ADDRESS an SR-IOV PF's: it declares that PF's VFs."));
	entry->has_vfs = TRUE;
	entry->vfs_line = line;
	if (g_str_equal(value, "vfio"))
		entry->vfs = VV_DEVICE_MODE_VFIO;
	else if (g_str_equal(value, "host"))
		entry->vfs = VV_DEVICE_MODE_HOST;
	else {
		g_autofree char *shown = vv_text_escape(value);

		return vv_policy_fail(parser, line, error,
				      _("'%s' is not a value of vfs; write vfs=vfio (every VF of this PF, present and future, lives on its VFIO driver) or vfs=host."),
				      shown);
	}
	return TRUE;
}

static gboolean
vv_policy_read_key(vv_policy_parser *parser, const char *key, const char *value, guint line, GError **error)
{
	g_autofree char *lookup = NULL;
	gpointer seen;

	if (!parser->entry)
		return vv_policy_fail(parser, line, error,
				      _("'%s' comes before any group; put it under [global], [id VENDOR:DEVICE] or [device ADDRESS]."),
				      key);
	if (!g_str_equal(key, "driver") && !g_str_equal(key, "hook-mode") && !g_str_equal(key, "host-use") &&
	    !g_str_equal(key, "mode") && !g_str_equal(key, "vfs")) {
		g_autofree char *shown = vv_text_escape(key);

		return vv_policy_fail(parser, line, error,
				      _("'%s' is not a key of vfio-variant.conf; write driver=auto|generic|deny|NAME, hook-mode=fallback|strict, host-use=refuse|allow, mode=vfio|host or vfs=vfio|host."),
				      shown);
	}
	lookup = g_strconcat(parser->canonical, "\n", key, NULL);
	if (g_hash_table_lookup_extended(parser->key_lines, lookup, NULL, &seen))
		return vv_policy_fail(parser, line, error,
				      _("%1$s is set again in [%2$s] (first on line %3$u); keep one."),
				      key, parser->entry->group, GPOINTER_TO_UINT(seen));
	g_hash_table_insert(parser->key_lines, g_strdup(lookup), GUINT_TO_POINTER(line));
	if (g_str_equal(key, "driver"))
		return vv_policy_set_driver(parser, value, line, error);
	if (g_str_equal(key, "host-use"))
		return vv_policy_set_host_use(parser, value, line, error);
	if (g_str_equal(key, "mode"))
		return vv_policy_set_device_mode(parser, value, line, error);
	if (g_str_equal(key, "vfs"))
		return vv_policy_set_vfs(parser, value, line, error);
	return vv_policy_set_mode(parser, value, line, error);
}

/* Every line is blank, a # comment, a [group] or a key=value. */
static gboolean
vv_policy_scan(vv_policy_parser *parser, const char *text, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		guint line = i + 1;
		char *start = g_strstrip(lines[i]);
		char *equal;

		if (!*start || *start == '#')
			continue;
		if (*start == '[') {
			size_t length = strlen(start);

			if (start[length - 1] != ']')
				return vv_policy_fail(parser, line, error,
						      _("a group name must end with ']' on its line, as in [device 0000:03:00.1]."));
			start[length - 1] = '\0';
			if (!vv_policy_begin_group(parser, start + 1, line, error))
				return FALSE;
			continue;
		}
		equal = strchr(start, '=');
		if (!equal) {
			g_autofree char *shown = vv_text_escape(start);

			return vv_policy_fail(parser, line, error,
					      _("'%s' is not a [group], a key=value line or a # comment."), shown);
		}
		*equal = '\0';
		if (!vv_policy_read_key(parser, g_strchomp(start), g_strstrip(equal + 1), line, error))
			return FALSE;
	}
	return TRUE;
}

static vv_policy_rules *
vv_policy_rules_new(void)
{
	vv_policy_rules *rules = g_new0(vv_policy_rules, 1);

	rules->by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)vv_policy_entry_free);
	rules->by_device = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						 (GDestroyNotify)vv_policy_entry_free);
	return rules;
}

static vv_policy_rules *
vv_policy_rules_load_one(const char *path, gboolean required, GError **error)
{
	g_autoptr(vv_policy_rules) rules = vv_policy_rules_new();
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autofree char *text = NULL;
	gsize length;
	g_auto(vv_policy_parser) parser = { .path = path, .rules = rules };

	/* A regular file, non-blocking, its size checked before it is read: a
	 * FIFO would hang us, /dev/zero never ends (vv_file_read). */
	if (!(text = vv_file_read(NULL, path, VV_POLICY_MAX_SIZE, VV_READ_SIZED, &length, &local))) {
		if (g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND) && !required)
			return g_steal_pointer(&rules);
		g_set_error(error, VV_ERROR, local->code, _("Cannot read the policy file: %s"), local->message);
		return NULL;
	}
	rules->path = g_strdup(path);
	if (length > VV_POLICY_MAX_SIZE || memchr(text, '\0', length)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%s is not a policy file: it is larger than 1 MiB or holds NUL bytes."), path);
		return NULL;
	}
	parser.group_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	parser.key_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!vv_policy_scan(&parser, text, error))
		return NULL;
	if (!g_key_file_load_from_data(file, text, length, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%1$s is not a valid key file: %2$s. Write it in UTF-8; see the example in vfio-variant's README."),
			    path, local->message);
		return NULL;
	}
	return g_steal_pointer(&rules);
}

#define VV_POLICY_MAX_DROPINS 256

static gint
vv_policy_compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FILE.d/NAME.conf, sorted by name; an absent directory has none. */
static GStrv
vv_policy_list_dropins(const char *dir, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) handle = NULL;
	g_autoptr(GError) local = NULL;
	GStatBuf st;
	const char *name;

	if (g_lstat(dir, &st) < 0)
		return g_new0(char *, 1);
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%s is not a directory of policy drop-ins: it is a symbolic link or not a directory."), dir);
		return NULL;
	}
	if (!(handle = g_dir_open(dir, 0, &local))) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read the policy drop-ins: %s"), local->message);
		return NULL;
	}
	while ((name = g_dir_read_name(handle))) {
		g_autofree char *path = NULL;

		/* Editors' backups, hidden files and a writer's temporaries
		 * (NAME.conf.XXXXXX) are not drop-ins. */
		if (name[0] == '.' || !g_str_has_suffix(name, ".conf"))
			continue;
		path = g_build_filename(dir, name, NULL);
		if (g_lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
				    _("%s is not a policy drop-in: it is a symbolic link or not a regular file; put the file itself there."),
				    path);
			return NULL;
		}
		if (names->len >= VV_POLICY_MAX_DROPINS) {
			g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
				    _("%1$s holds more than %2$u drop-ins; merge some of them."), dir,
				    (guint)VV_POLICY_MAX_DROPINS);
			return NULL;
		}
		g_ptr_array_add(names, g_steal_pointer(&path));
	}
	g_ptr_array_sort(names, vv_policy_compare_paths);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_steal(names, NULL);
}

static vv_policy_rules *
vv_policy_rules_load(const char *path, gboolean required, GError **error)
{
	g_autoptr(vv_policy_rules) rules = vv_policy_rules_load_one(path, required, error);
	g_autofree char *dir = NULL;
	g_auto(GStrv) dropins = NULL;

	if (!rules)
		return NULL;
	dir = vv_policy_dropin_dir(path);
	if (!(dropins = vv_policy_list_dropins(dir, error)))
		return NULL;
	rules->dropins = g_ptr_array_new_with_free_func((GDestroyNotify)vv_policy_rules_free);
	for (guint i = 0; dropins[i]; i++) {
		vv_policy_rules *dropin = vv_policy_rules_load_one(dropins[i], TRUE, error);

		if (!dropin)
			return NULL;
		g_ptr_array_add(rules->dropins, dropin);
	}
	return g_steal_pointer(&rules);
}

char *
vv_policy_dropin_dir(const char *config_file)
{
	return g_strconcat(config_file, ".d", NULL);
}

/* The rules of CTX's policy file and its drop-ins, read once. */
vv_policy_rules *
vv_policy_rules_get(vv_ctx *ctx, GError **error)
{
	if (!ctx->policy)
		ctx->policy = vv_policy_rules_load(ctx->config_file, ctx->config_required, error);
	return ctx->policy;
}

void
vv_policy_rules_reset(vv_ctx *ctx)
{
	g_clear_pointer(&ctx->policy, vv_policy_rules_free);
}

/* The file at I: 0 the main file, then the drop-ins. */
static vv_policy_rules *
vv_policy_rules_nth(vv_policy_rules *rules, guint i)
{
	return i == 0 ? rules : g_ptr_array_index(rules->dropins, i - 1);
}

static guint
vv_policy_rules_count(vv_policy_rules *rules)
{
	return 1 + (rules->dropins ? rules->dropins->len : 0);
}

void
vv_policy_rules_foreach(vv_policy_rules *rules, vv_policy_rules_func func, gpointer data)
{
	for (guint i = 0; i < vv_policy_rules_count(rules); i++) {
		vv_policy_rules *one = vv_policy_rules_nth(rules, i);
		GHashTable *tables[] = { one->by_device, one->by_id };

		for (guint t = 0; t < G_N_ELEMENTS(tables); t++) {
			GHashTableIter iter;
			gpointer key, value;

			g_hash_table_iter_init(&iter, tables[t]);
			while (g_hash_table_iter_next(&iter, &key, &value)) {
				const vv_policy_entry *entry = value;
				vv_policy_group_info info = {
					.by_device = t == 0,
					.key = key,
					.has_mode = entry->has_device_mode,
					.mode = entry->device_mode,
					.mode_line = entry->device_mode_line,
					.has_vfs = entry->has_vfs,
					.vfs = entry->vfs,
					.vfs_line = entry->vfs_line,
					.driver = !entry->has_action ? NULL :
						  entry->action == VV_POLICY_DRIVER ? entry->driver :
						  vv_policy_action_to_string(entry->action),
					.file = entry->file,
				};

				func(&info, data);
			}
		}
	}
}

/* ---- the policy of one device ----------------------------------------- */

typedef enum {
	VV_POLICY_KEY_DRIVER,
	VV_POLICY_KEY_HOOK_MODE,
	VV_POLICY_KEY_HOST_USE,
	VV_POLICY_KEY_DEVICE_MODE,
} vv_policy_key;

/* ENTRIES: the device's groups, most specific first, at each level the
 * last file first; N of them, NULL where a file has none. */
static const vv_policy_entry *
vv_policy_first(const vv_policy_entry *const *entries, guint n, vv_policy_key key, guint *index)
{
	for (guint i = 0; i < n; i++) {
		if (!entries[i])
			continue;
		if ((key == VV_POLICY_KEY_DRIVER && entries[i]->has_action) ||
		    (key == VV_POLICY_KEY_HOOK_MODE && entries[i]->has_mode) ||
		    (key == VV_POLICY_KEY_HOST_USE && entries[i]->has_host_use) ||
		    (key == VV_POLICY_KEY_DEVICE_MODE && entries[i]->has_device_mode)) {
			if (index)
				*index = i;
			return entries[i];
		}
	}
	return NULL;
}

static char *
vv_policy_make_description(const vv_policy *policy)
{
	const char *what = policy->action == VV_POLICY_DRIVER ? policy->driver :
			   vv_policy_action_to_string(policy->action);

	if (!policy->file)
		return g_strdup(_("auto (there is no policy file)"));
	if (policy->scope == VV_POLICY_SCOPE_DEFAULT)
		return g_strdup_printf(_("auto (%s has no rule for this device)"), policy->file);
	/* TRANSLATORS: "deny, from [device 0000:03:00.1] in /etc/vfio-variant/vfio-variant.conf line 3" */
	return g_strdup_printf(_("%1$s, from [%2$s] in %3$s line %4$u"), what, policy->group,
			       policy->file, policy->line);
}

VV_EXPORT vv_policy *
vv_policy_new(vv_ctx *ctx, vv_device *device, GError **error)
{
	vv_policy_rules *rules = vv_policy_rules_get(ctx, error);
	g_autofree char *id = NULL;
	g_autofree const vv_policy_entry **entries = NULL;
	const vv_policy_entry *rule, *mode, *host_use, *device_mode;
	guint n, index = 0, mode_index = 0;
	const vv_policy_entry *vfs = NULL;
	vv_policy *policy;

	if (!rules)
		return NULL;
	id = g_strdup_printf("%04x:%04x", vv_device_get_vendor_id(device), vv_device_get_device_id(device));
	n = vv_policy_rules_count(rules);
	entries = g_new0(const vv_policy_entry *, 3 * n);
	for (guint i = 0; i < n; i++) {
		vv_policy_rules *one = vv_policy_rules_nth(rules, n - 1 - i);

		entries[i] = g_hash_table_lookup(one->by_device, vv_device_get_address(device));
		entries[n + i] = g_hash_table_lookup(one->by_id, id);
		entries[2 * n + i] = one->global;
	}
	rule = vv_policy_first(entries, 3 * n, VV_POLICY_KEY_DRIVER, &index);
	mode = vv_policy_first(entries, 3 * n, VV_POLICY_KEY_HOOK_MODE, NULL);
	host_use = vv_policy_first(entries, 3 * n, VV_POLICY_KEY_HOST_USE, NULL);
	device_mode = vv_policy_first(entries, 3 * n, VV_POLICY_KEY_DEVICE_MODE, &mode_index);

	policy = g_new0(vv_policy, 1);
	policy->ref = 1;
	policy->file = g_strdup(rule ? rule->file : rules->path);
	if (rule) {
		policy->action = rule->action;
		policy->driver = g_strdup(rule->driver);
		policy->scope = index < n ? VV_POLICY_SCOPE_DEVICE :
				index < 2 * n ? VV_POLICY_SCOPE_ID : VV_POLICY_SCOPE_GLOBAL;
		policy->line = rule->action_line;
		policy->group = g_strdup(rule->group);
	}
	policy->mode = mode ? mode->mode : VV_HOOK_MODE_FALLBACK;
	policy->host_use = host_use ? host_use->host_use : VV_HOST_USE_REFUSE;
	/* A VF: its PF's vfs= names this very PF's VFs, which is more
	 * specific than their id and less than the VF's own address. */
	if (vv_device_get_physfn(device) && !(device_mode && mode_index < n)) {
		for (guint i = 0; i < n && !vfs; i++) {
			const vv_policy_entry *pf = g_hash_table_lookup(vv_policy_rules_nth(rules, n - 1 - i)->by_device,
									vv_device_get_physfn(device));

			if (pf && pf->has_vfs)
				vfs = pf;
		}
	}
	policy->device_mode = vfs ? vfs->vfs : device_mode ? device_mode->device_mode : VV_DEVICE_MODE_HOST;
	policy->description = vv_policy_make_description(policy);
	return policy;
}

VV_EXPORT vv_policy *
vv_policy_ref(vv_policy *policy)
{
	g_atomic_int_inc(&policy->ref);
	return policy;
}

VV_EXPORT void
vv_policy_unref(vv_policy *policy)
{
	if (!policy || !g_atomic_int_dec_and_test(&policy->ref))
		return;
	g_free(policy->file);
	g_free(policy->driver);
	g_free(policy->group);
	g_free(policy->description);
	g_free(policy);
}

VV_EXPORT vv_policy_action vv_policy_get_action(const vv_policy *policy) { return policy->action; }
VV_EXPORT const char *vv_policy_get_driver(const vv_policy *policy) { return policy->driver; }
VV_EXPORT vv_policy_scope vv_policy_get_scope(const vv_policy *policy) { return policy->scope; }
VV_EXPORT const char *vv_policy_get_file(const vv_policy *policy) { return policy->file; }
VV_EXPORT guint vv_policy_get_line(const vv_policy *policy) { return policy->line; }
VV_EXPORT const char *vv_policy_get_group(const vv_policy *policy) { return policy->group; }
VV_EXPORT vv_hook_mode vv_policy_get_hook_mode(const vv_policy *policy) { return policy->mode; }
VV_EXPORT vv_host_use vv_policy_get_host_use(const vv_policy *policy) { return policy->host_use; }
VV_EXPORT vv_device_mode vv_policy_get_device_mode(const vv_policy *policy) { return policy->device_mode; }
VV_EXPORT const char *vv_policy_describe(const vv_policy *policy) { return policy->description; }

/* "[device 0000:03:00.1] in FILE line 3", for sentences; NULL: no rule. */
char *
vv_policy_where(const vv_policy *policy)
{
	if (policy->scope == VV_POLICY_SCOPE_DEFAULT)
		return NULL;
	return g_strdup_printf(_("[%1$s] in %2$s line %3$u"), policy->group, policy->file, policy->line);
}

VV_EXPORT const char *
vv_policy_action_to_string(vv_policy_action action)
{
	switch (action) {
	case VV_POLICY_AUTO: return "auto";
	case VV_POLICY_GENERIC: return "generic";
	case VV_POLICY_DRIVER: return "driver";
	case VV_POLICY_DENY: return "deny";
	}
	return "auto";
}

VV_EXPORT const char *
vv_policy_scope_to_string(vv_policy_scope scope)
{
	switch (scope) {
	case VV_POLICY_SCOPE_DEFAULT: return "default";
	case VV_POLICY_SCOPE_GLOBAL: return "global";
	case VV_POLICY_SCOPE_ID: return "id";
	case VV_POLICY_SCOPE_DEVICE: return "device";
	}
	return "default";
}

VV_EXPORT const char *
vv_hook_mode_to_string(vv_hook_mode mode)
{
	switch (mode) {
	case VV_HOOK_MODE_FALLBACK: return "fallback";
	case VV_HOOK_MODE_STRICT: return "strict";
	}
	return "fallback";
}

VV_EXPORT const char *
vv_host_use_to_string(vv_host_use host_use)
{
	switch (host_use) {
	case VV_HOST_USE_REFUSE: return "refuse";
	case VV_HOST_USE_ALLOW: return "allow";
	}
	return "refuse";
}
