/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record of a detached device: STATE_DIR/devices/BDF.conf, a key file
 * rewritten whole (g_file_set_contents: temporary file, fsync, rename) at
 * every step, so a reader or a crash sees the previous version or the new
 * one, never half of each. It holds what reattach needs (the native driver,
 * its module, the original driver_override) and a journal: the operation
 * under way and the last step it completed, from which recover settles an
 * operation that was killed half way.
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "vv-private.h"

#define VV_RECORD_GROUP "device"
#define VV_RECORD_JOURNAL "journal"

vv_record *
vv_record_new(const char *address)
{
	vv_record *record = g_new0(vv_record, 1);

	record->ref = 1;
	record->address = g_strdup(address);
	return record;
}

void
vv_record_set(char **field, const char *value)
{
	char *copy = g_strdup(value);

	g_free(*field);
	*field = copy;
}

VV_EXPORT vv_record *
vv_record_ref(vv_record *record)
{
	g_atomic_int_inc(&record->ref);
	return record;
}

VV_EXPORT void
vv_record_unref(vv_record *record)
{
	if (!record || !g_atomic_int_dec_and_test(&record->ref))
		return;
	g_free(record->address);
	g_free(record->original_driver);
	g_free(record->original_module);
	g_free(record->original_override);
	g_free(record->driver);
	g_free(record->module);
	g_free(record->time);
	g_free(record->operation);
	g_free(record->step);
	g_free(record->domain);
	g_free(record);
}

static char *
vv_record_path(vv_ctx *ctx, const char *address)
{
	g_autofree char *name = g_strconcat(address, ".conf", NULL);

	return g_build_filename(ctx->state_dir, "devices", name, NULL);
}

/* An absent value is an absent key; an empty string would be a value. */
static void
vv_record_put(GKeyFile *file, const char *group, const char *key, const char *value)
{
	if (value)
		g_key_file_set_string(file, group, key, value);
}

gboolean
vv_record_save(vv_ctx *ctx, const vv_record *record, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autofree char *path = vv_record_path(ctx, record->address);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *data = NULL;
	g_autoptr(GError) local = NULL;
	gsize length;

	vv_record_put(file, VV_RECORD_GROUP, "address", record->address);
	vv_record_put(file, VV_RECORD_GROUP, "original-driver", record->original_driver);
	vv_record_put(file, VV_RECORD_GROUP, "original-module", record->original_module);
	vv_record_put(file, VV_RECORD_GROUP, "original-override", record->original_override);
	vv_record_put(file, VV_RECORD_GROUP, "driver", record->driver);
	vv_record_put(file, VV_RECORD_GROUP, "module", record->module);
	g_key_file_set_boolean(file, VV_RECORD_GROUP, "fallback", record->fallback);
	vv_record_put(file, VV_RECORD_GROUP, "time", record->time);
	vv_record_put(file, VV_RECORD_GROUP, "requester", vv_requester_to_string(record->requester));
	/* Since 0.3: the libvirt domain using the device (the qemu hook). */
	if (record->domain) {
		vv_record_put(file, VV_RECORD_GROUP, "domain", record->domain);
		g_key_file_set_boolean(file, VV_RECORD_GROUP, "managed", record->managed);
	}
	vv_record_put(file, VV_RECORD_JOURNAL, "operation", record->operation);
	vv_record_put(file, VV_RECORD_JOURNAL, "step", record->step);
	data = g_key_file_to_data(file, &length, NULL);

	if (g_mkdir_with_parents(dir, 0755) < 0) {
		int saved = errno;

		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot create the state directory %1$s for %2$s: %3$s. Give a writable one with --state-dir."),
			    dir, record->address, g_strerror(saved));
		return FALSE;
	}
	if (!g_file_set_contents_full(path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot write the record of %1$s: %2$s."), record->address, local->message);
		return FALSE;
	}
	return TRUE;
}

gboolean
vv_record_remove(vv_ctx *ctx, const char *address, GError **error)
{
	g_autofree char *path = vv_record_path(ctx, address);

	if (g_unlink(path) < 0 && errno != ENOENT) {
		int saved = errno;

		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot remove the record %1$s of %2$s: %3$s."), path, address, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

static vv_requester
vv_requester_from_string(const char *text)
{
	if (g_strcmp0(text, "libvirt") == 0)
		return VV_REQUESTER_LIBVIRT;
	if (g_strcmp0(text, "hook") == 0)
		return VV_REQUESTER_HOOK;
	return VV_REQUESTER_CLI;
}

static vv_record *
vv_record_read(const char *path, const char *address, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autoptr(vv_record) record = vv_record_new(address);
	g_autofree char *requester = NULL;

	if (!g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
				    _("%s has no record: vfio-variant did not detach it."), address);
		else
			g_set_error(error, VV_ERROR, VV_ERROR_IO,
				    _("Cannot read the record %1$s of %2$s: %3$s. Move it aside and run 'vfio-variant reattach %2$s'."),
				    path, address, local->message);
		return NULL;
	}
	record->original_driver = g_key_file_get_string(file, VV_RECORD_GROUP, "original-driver", NULL);
	record->original_module = g_key_file_get_string(file, VV_RECORD_GROUP, "original-module", NULL);
	record->original_override = g_key_file_get_string(file, VV_RECORD_GROUP, "original-override", NULL);
	record->driver = g_key_file_get_string(file, VV_RECORD_GROUP, "driver", NULL);
	record->module = g_key_file_get_string(file, VV_RECORD_GROUP, "module", NULL);
	record->fallback = g_key_file_get_boolean(file, VV_RECORD_GROUP, "fallback", NULL);
	record->time = g_key_file_get_string(file, VV_RECORD_GROUP, "time", NULL);
	requester = g_key_file_get_string(file, VV_RECORD_GROUP, "requester", NULL);
	record->requester = vv_requester_from_string(requester);
	record->domain = g_key_file_get_string(file, VV_RECORD_GROUP, "domain", NULL);
	record->managed = record->domain && g_key_file_get_boolean(file, VV_RECORD_GROUP, "managed", NULL);
	record->operation = g_key_file_get_string(file, VV_RECORD_JOURNAL, "operation", NULL);
	record->step = g_key_file_get_string(file, VV_RECORD_JOURNAL, "step", NULL);
	if (!record->operation || !record->step) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("The record %1$s of %2$s has no journal. Move it aside and run 'vfio-variant reattach %2$s'."),
			    path, address);
		return NULL;
	}
	if (!vv_name_check_record(path, record->original_driver, record->original_module, record->driver,
				  record->module, error))
		return NULL;
	return g_steal_pointer(&record);
}

VV_EXPORT vv_record *
vv_record_load(vv_ctx *ctx, const char *device, GError **error)
{
	g_autofree char *address = vv_address_parse(device, error);
	g_autofree char *path = NULL;

	if (!address)
		return NULL;
	path = vv_record_path(ctx, address);
	return vv_record_read(path, address, error);
}

VV_EXPORT GPtrArray *
vv_ctx_list_records(vv_ctx *ctx, GError **error)
{
	g_autofree char *dir = g_build_filename(ctx->state_dir, "devices", NULL);
	g_autoptr(GPtrArray) names = vv_sysfs_list_dir(dir);
	g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func((GDestroyNotify)vv_record_unref);

	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		g_autofree char *stem = NULL;
		g_autofree char *address = NULL;
		g_autofree char *path = NULL;
		vv_record *record;

		/* Only BDF.conf: not g_file_set_contents' temporary files. */
		if (!g_str_has_suffix(name, ".conf"))
			continue;
		stem = g_strndup(name, strlen(name) - strlen(".conf"));
		address = vv_address_parse(stem, NULL);
		if (!address || !g_str_equal(address, stem))
			continue;
		path = g_build_filename(dir, name, NULL);
		record = vv_record_read(path, address, error);
		if (!record)
			return NULL;
		g_ptr_array_add(records, record);
	}
	return g_steal_pointer(&records);
}

VV_EXPORT const char *vv_record_get_address(const vv_record *record) { return record->address; }
VV_EXPORT const char *vv_record_get_original_driver(const vv_record *record) { return record->original_driver; }
VV_EXPORT const char *vv_record_get_original_module(const vv_record *record) { return record->original_module; }
VV_EXPORT const char *vv_record_get_original_override(const vv_record *record) { return record->original_override; }
VV_EXPORT const char *vv_record_get_driver(const vv_record *record) { return record->driver; }
VV_EXPORT const char *vv_record_get_module(const vv_record *record) { return record->module; }
VV_EXPORT gboolean vv_record_is_fallback(const vv_record *record) { return record->fallback; }
VV_EXPORT const char *vv_record_get_time(const vv_record *record) { return record->time; }
VV_EXPORT vv_requester vv_record_get_requester(const vv_record *record) { return record->requester; }
VV_EXPORT const char *vv_record_get_operation(const vv_record *record) { return record->operation; }
VV_EXPORT const char *vv_record_get_step(const vv_record *record) { return record->step; }
VV_EXPORT const char *vv_record_get_domain(const vv_record *record) { return record->domain; }
VV_EXPORT gboolean vv_record_is_managed(const vv_record *record) { return record->managed; }

VV_EXPORT gboolean
vv_record_is_complete(const vv_record *record)
{
	return g_str_equal(record->operation, "detach") && g_str_equal(record->step, "verified");
}

VV_EXPORT const char *
vv_requester_to_string(vv_requester requester)
{
	switch (requester) {
	case VV_REQUESTER_CLI: return "cli";
	case VV_REQUESTER_LIBVIRT: return "libvirt";
	case VV_REQUESTER_HOOK: return "hook";
	}
	return "cli";
}
