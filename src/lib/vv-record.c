/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record of a detached device: STATE_DIR/devices/BDF.conf, a key file
 * rewritten whole (vv_state_file_write: temporary file, fsync, rename) at
 * every step, so a reader or a crash sees the previous version or the new
 * one, never half of each. It holds what reattach needs (the native driver,
 * its module, the original driver_override) and a journal: the operation
 * under way and the last step it completed, from which recover settles an
 * operation that was killed half way.
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "vv-keyfile.h"
#include "vv-private.h"

#define VV_RECORD_GROUP "device"
#define VV_RECORD_JOURNAL "journal"
/* A record is a few hundred bytes; anything much larger is not one. */
#define VV_RECORD_MAX_SIZE (64 * 1024)

vv_record *
vv_record_new(const char *address)
{
	vv_record *record = g_new0(vv_record, 1);

	record->ref = 1;
	record->address = g_strdup(address);
	return record;
}

/*
 * The one way a record of a detach starts: where the device came from
 * (NATIVE_*, where reattach gives it back; the driver NULL when it had
 * none), who asked, and now. The engine fills in where the device goes
 * and the journal's step.
 */
vv_record *
vv_record_new_detach(const char *address, const char *native_driver, const char *native_module,
		     const char *native_override, vv_requester requester)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	vv_record *record = vv_record_new(address);

	record->original_driver = g_strdup(native_driver);
	record->original_module = g_strdup(native_module);
	record->original_override = g_strdup(native_override);
	record->time = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
	record->requester = requester;
	record->operation = g_strdup("detach");
	return record;
}

/* A copy to put back when an operation that changed RECORD fails. */
vv_record *
vv_record_copy(const vv_record *record)
{
	vv_record *copy = vv_record_new(record->address);

	copy->original_driver = g_strdup(record->original_driver);
	copy->original_module = g_strdup(record->original_module);
	copy->original_override = g_strdup(record->original_override);
	copy->driver = g_strdup(record->driver);
	copy->module = g_strdup(record->module);
	copy->fallback = record->fallback;
	copy->time = g_strdup(record->time);
	copy->requester = record->requester;
	copy->operation = g_strdup(record->operation);
	copy->step = g_strdup(record->step);
	copy->domain = g_strdup(record->domain);
	copy->managed = record->managed;
	return copy;
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

/* An absent value is an absent key (but see original-driver below); the
 * loader reads an absent key and an empty value alike, as none. */
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
	g_autofree char *data = NULL;
	g_autoptr(GError) local = NULL;
	gsize length;

	vv_record_put(file, VV_RECORD_GROUP, "address", record->address);
	/* Always written, empty for "none": a record without the key is one
	 * the loader refuses as incomplete, never one read as "no native
	 * driver" (which would leave the device driverless on reattach). */
	g_key_file_set_string(file, VV_RECORD_GROUP, "original-driver",
			      record->original_driver ? record->original_driver : "");
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

	if (!vv_state_file_write(path, data, length, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot write the record of %1$s: %2$s"), record->address, local->message);
		return FALSE;
	}
	return TRUE;
}

gboolean
vv_record_remove(vv_ctx *ctx, const char *address, GError **error)
{
	g_autofree char *path = vv_record_path(ctx, address);
	g_autoptr(GError) local = NULL;

	if (!vv_state_file_remove(path, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot remove the record of %1$s: %2$s"), address, local->message);
		return FALSE;
	}
	return TRUE;
}

/* A string value; "" reads as NULL ("none"), as the writer writes it. */
static char *
vv_record_get(GKeyFile *file, const char *group, const char *key)
{
	char *value = g_key_file_get_string(file, group, key, NULL);

	if (value && !*value)
		g_clear_pointer(&value, g_free);
	return value;
}

/*
 * The keys without which giving the device back would be a guess: where
 * it goes back to (original-driver, "" when it had none) and what the last
 * command did (operation and step, from which recover settles it). A
 * record lacking one was not written whole by vfio-variant (a hand edit, a
 * copy cut short, a release before 0.4 that wrote no original-driver for a
 * device without a driver): it is refused, so nothing acts on it blindly.
 */
static const struct {
	const char *group;
	const char *key;
} vv_record_required[] = {
	{ VV_RECORD_GROUP, "original-driver" },
	{ VV_RECORD_JOURNAL, "operation" },
	{ VV_RECORD_JOURNAL, "step" },
};

static gboolean
vv_record_check_whole(GKeyFile *file, const char *path, const char *address, GError **error)
{
	g_autofree char *operation = NULL;
	g_autofree char *step = NULL;
	g_autofree char *named = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(vv_record_required); i++) {
		if (!g_key_file_has_key(file, vv_record_required[i].group, vv_record_required[i].key, NULL)) {
			g_set_error(error, VV_ERROR, VV_ERROR_RECORD,
				    _("The record %1$s of %2$s is incomplete: it has no '%3$s' in [%4$s], so how to give the device back is unknown. The device is left as it is; move the record aside and give the device back by hand."),
				    path, address, vv_record_required[i].key, vv_record_required[i].group);
			return FALSE;
		}
	}
	operation = vv_record_get(file, VV_RECORD_JOURNAL, "operation");
	step = vv_record_get(file, VV_RECORD_JOURNAL, "step");
	if (!operation || !step || (!g_str_equal(operation, "detach") && !g_str_equal(operation, "reattach"))) {
		g_set_error(error, VV_ERROR, VV_ERROR_RECORD,
			    _("The record %1$s of %2$s is incomplete: its journal names no known operation and step, so how to settle it is unknown. The device is left as it is; move the record aside and give the device back by hand."),
			    path, address);
		return FALSE;
	}
	/* A record copied under another device's name describes that one. */
	named = vv_record_get(file, VV_RECORD_GROUP, "address");
	if (named && !g_str_equal(named, address)) {
		g_set_error(error, VV_ERROR, VV_ERROR_RECORD,
			    _("The record %1$s of %2$s describes another device, %3$s; it is not used. Move it aside."),
			    path, address, named);
		return FALSE;
	}
	return TRUE;
}

static vv_record *
vv_record_read(const char *path, const char *address, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autoptr(vv_record) record = vv_record_new(address);
	g_autofree char *requester = NULL;
	g_autofree char *data = NULL;
	gsize length;

	data = vv_state_file_read(path, VV_RECORD_MAX_SIZE, &length, &local);
	if (!data) {
		if (g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND))
			g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
				    _("%s has no record: vfio-variant did not detach it."), address);
		else
			g_set_error(error, VV_ERROR, VV_ERROR_RECORD,
				    _("Cannot read the record of %1$s: %2$s"), address, local->message);
		return NULL;
	}
	if (!g_key_file_load_from_data(file, data, length, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_RECORD,
			    _("Cannot read the record %1$s of %2$s: %3$s. The device is left as it is."),
			    path, address, local->message);
		return NULL;
	}
	if (!vv_record_check_whole(file, path, address, error))
		return NULL;
	record->original_driver = vv_record_get(file, VV_RECORD_GROUP, "original-driver");
	record->original_module = vv_record_get(file, VV_RECORD_GROUP, "original-module");
	record->original_override = vv_record_get(file, VV_RECORD_GROUP, "original-override");
	record->driver = vv_record_get(file, VV_RECORD_GROUP, "driver");
	record->module = vv_record_get(file, VV_RECORD_GROUP, "module");
	record->fallback = g_key_file_get_boolean(file, VV_RECORD_GROUP, "fallback", NULL);
	record->time = g_key_file_get_string(file, VV_RECORD_GROUP, "time", NULL);
	requester = g_key_file_get_string(file, VV_RECORD_GROUP, "requester", NULL);
	record->requester = vv_requester_parse(requester);
	record->domain = vv_record_get(file, VV_RECORD_GROUP, "domain");
	record->managed = record->domain && g_key_file_get_boolean(file, VV_RECORD_GROUP, "managed", NULL);
	record->operation = g_key_file_get_string(file, VV_RECORD_JOURNAL, "operation", NULL);
	record->step = g_key_file_get_string(file, VV_RECORD_JOURNAL, "step", NULL);
	/* Names read back (drivers, modules) are checked here like names from
	 * any other input, before anything acts on them. */
	if (!vv_name_check_record(path, record->original_driver, record->original_module, record->driver,
				  record->module, error))
		return NULL;
	return g_steal_pointer(&record);
}

/* ADDRESS when NAME is a record's file name (BDF.conf, canonical), else
 * NULL: not the temporaries of an interrupted write, nor anything else. */
static char *
vv_record_address_of(const char *name)
{
	g_autofree char *stem = NULL;
	g_autofree char *address = NULL;

	if (!g_str_has_suffix(name, ".conf"))
		return NULL;
	stem = g_strndup(name, strlen(name) - strlen(".conf"));
	address = vv_address_parse(stem, NULL);
	if (!address || !g_str_equal(address, stem))
		return NULL;
	return g_steal_pointer(&address);
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
vv_ctx_list_record_addresses(vv_ctx *ctx, GError **error)
{
	g_autofree char *dir = g_build_filename(ctx->state_dir, "devices", NULL);
	g_autoptr(GPtrArray) names = vv_state_dir_list(dir, error);
	g_autoptr(GPtrArray) addresses = vv_list_new(g_free);

	if (!names)
		return NULL;
	for (guint i = 0; i < names->len; i++) {
		char *address = vv_record_address_of(g_ptr_array_index(names, i));

		if (address)
			g_ptr_array_add(addresses, address);
	}
	return g_steal_pointer(&addresses);
}

VV_EXPORT GPtrArray *
vv_ctx_list_records(vv_ctx *ctx, GError **error)
{
	g_autoptr(GPtrArray) addresses = vv_ctx_list_record_addresses(ctx, error);
	g_autoptr(GPtrArray) records = vv_list_new((GDestroyNotify)vv_record_unref);

	if (!addresses)
		return NULL;
	for (guint i = 0; i < addresses->len; i++) {
		const char *address = g_ptr_array_index(addresses, i);
		g_autofree char *path = vv_record_path(ctx, address);
		vv_record *record = vv_record_read(path, address, error);

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
	case VV_REQUESTER_UDEV: return "udev";
	case VV_REQUESTER_BOOT: return "boot";
	}
	return "cli";
}
