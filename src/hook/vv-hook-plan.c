/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan 'prepare begin' makes, kept for the later stages of the same
 * domain in STATE_DIR/hook/UUID.conf (a key file, written whole and
 * atomically like the device records).
 *
 * Persisted rather than recomputed at 'start begin', because that stage
 * cannot see what 'prepare' saw: libvirt has bound vfio-pci in between, so
 * the native driver (which 'release end' checks) and the state an
 * administrator left an unmanaged device in are only known at 'prepare';
 * and the decision must not change between the stages when the policy
 * file, modprobe.d or the loaded modules change meanwhile. The file is
 * named after the domain's UUID, which no rename changes and which is
 * safe as a file name; it lives with the records (under /run: a reboot
 * forgets both, as it forgets every binding).
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "vv-hook.h"
#include "vv-keyfile.h"

static void
vv_hook_plan_entry_free(vv_hook_plan_entry *entry)
{
	g_free(entry->address);
	g_free(entry->driver);
	g_free(entry->module);
	g_free(entry->source);
	g_free(entry->native_driver);
	g_free(entry->native_module);
	g_free(entry->native_override);
	g_free(entry->admin_driver);
	g_free(entry->admin_module);
	g_free(entry);
}

static vv_hook_plan *
vv_hook_plan_alloc(const char *name, const char *uuid)
{
	vv_hook_plan *plan = g_new0(vv_hook_plan, 1);

	plan->name = g_strdup(name);
	plan->uuid = g_strdup(uuid);
	plan->stage = g_strdup("prepared");
	plan->entries = g_ptr_array_new_with_free_func((GDestroyNotify)vv_hook_plan_entry_free);
	return plan;
}

vv_hook_plan *
vv_hook_plan_new(const vv_hook_domain *domain)
{
	return vv_hook_plan_alloc(domain->name, domain->uuid);
}

void
vv_hook_plan_free(vv_hook_plan *plan)
{
	if (!plan)
		return;
	g_free(plan->name);
	g_free(plan->uuid);
	g_free(plan->stage);
	g_ptr_array_unref(plan->entries);
	g_free(plan);
}

vv_hook_plan_entry *
vv_hook_plan_add(vv_hook_plan *plan, const char *address, gboolean managed)
{
	vv_hook_plan_entry *entry = g_new0(vv_hook_plan_entry, 1);

	entry->address = g_strdup(address);
	entry->managed = managed;
	g_ptr_array_add(plan->entries, entry);
	return entry;
}

char *
vv_hook_plan_path(vv_ctx *ctx, const char *uuid)
{
	g_autofree char *name = g_strconcat(uuid, ".conf", NULL);

	return g_build_filename(vv_ctx_get_state_dir(ctx), "hook", name, NULL);
}

gboolean
vv_hook_plan_save(vv_ctx *ctx, const vv_hook_plan *plan, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autofree char *path = vv_hook_plan_path(ctx, plan->uuid);
	g_autoptr(GError) local = NULL;

	vv_key_file_put(file, "domain", "name", plan->name);
	vv_key_file_put(file, "domain", "uuid", plan->uuid);
	vv_key_file_put(file, "domain", "stage", plan->stage);
	for (guint i = 0; i < plan->entries->len; i++) {
		vv_hook_plan_entry *entry = g_ptr_array_index(plan->entries, i);
		g_autofree char *group = g_strconcat("hostdev ", entry->address, NULL);

		g_key_file_set_boolean(file, group, "managed", entry->managed);
		vv_key_file_put(file, group, "driver", entry->driver);
		vv_key_file_put(file, group, "module", entry->module);
		vv_key_file_put(file, group, "source", entry->source);
		vv_key_file_put(file, group, "mode", vv_hook_mode_to_string(entry->mode));
		g_key_file_set_boolean(file, group, "native-known", entry->native_known);
		vv_key_file_put(file, group, "native-driver", entry->native_driver);
		vv_key_file_put(file, group, "native-module", entry->native_module);
		vv_key_file_put(file, group, "native-override", entry->native_override);
		if (!entry->managed) {
			vv_key_file_put(file, group, "admin-driver", entry->admin_driver);
			vv_key_file_put(file, group, "admin-module", entry->admin_module);
			vv_key_file_put(file, group, "admin-requester", vv_requester_to_string(entry->admin_requester));
		}
	}
	/* The library's atomic write, as for the device records: it also
	 * removes the temporaries of a hook killed in a previous write of this
	 * plan (libvirt runs one stage of a domain at a time, so this hook is
	 * the plan's only writer). */
	if (!vv_key_file_write(file, path, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot write the hook's plan %1$s: %2$s"),
			    path, local->message);
		return FALSE;
	}
	return TRUE;
}

/* The names a plan holds go to the library as drivers to bind: a plan
 * edited to name a path is refused as a whole. */
static gboolean
vv_hook_plan_check_names(const char *path, const char *group, const vv_hook_plan_entry *entry, GError **error)
{
	const struct {
		const char *key;
		const char *value;
	} names[] = {
		{ "driver", entry->driver }, { "module", entry->module },
		{ "native-driver", entry->native_driver }, { "native-module", entry->native_module },
		{ "admin-driver", entry->admin_driver }, { "admin-module", entry->admin_module },
	};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *what = NULL;

		if (!names[i].value)
			continue;
		/* TRANSLATORS: "PLAN FILE [hostdev 0000:03:00.1] driver" */
		what = g_strdup_printf(_("%1$s [%2$s] %3$s"), path, group, names[i].key);
		if (!vv_name_check(names[i].value, VV_NAME_DRIVER, what, error))
			return FALSE;
	}
	return TRUE;
}

/* A plan holds a few lines per hostdev; this is far more than any domain
 * needs, and little enough to refuse a file that is not a plan unread. */
#define VV_HOOK_PLAN_MAX_SIZE (256 * 1024)

vv_hook_plan *
vv_hook_plan_load(vv_ctx *ctx, const char *uuid, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autofree char *path = vv_hook_plan_path(ctx, uuid);
	g_autoptr(GError) local = NULL;
	g_autoptr(vv_hook_plan) plan = NULL;
	g_autofree char *name = NULL;
	g_autofree char *data = NULL;
	g_auto(GStrv) groups = NULL;
	gsize length;

	/* Read as the records are: a plan that is a symlink (to a file the
	 * hook, as root, should not read), a FIFO or an oversized file is
	 * refused, not followed or waited on. */
	data = vv_state_file_read(path, VV_HOOK_PLAN_MAX_SIZE, &length, &local);
	if (!data) {
		g_set_error(error, VV_ERROR,
			    g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND) ? VV_ERROR_NOT_FOUND : VV_ERROR_IO,
			    _("Cannot read the hook's plan %1$s: %2$s"), path, local->message);
		return NULL;
	}
	if (!g_key_file_load_from_data(file, data, length, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read the hook's plan %1$s: %2$s."),
			    path, local->message);
		return NULL;
	}
	name = g_key_file_get_string(file, "domain", "name", NULL);
	plan = vv_hook_plan_alloc(name, uuid);
	g_free(plan->stage);
	plan->stage = g_key_file_get_string(file, "domain", "stage", NULL);
	groups = g_key_file_get_groups(file, NULL);
	for (guint i = 0; groups[i]; i++) {
		g_autofree char *address = NULL;
		g_autofree char *mode = NULL;
		g_autofree char *requester = NULL;
		vv_hook_plan_entry *entry;

		if (!g_str_has_prefix(groups[i], "hostdev ") ||
		    !(address = vv_address_parse(groups[i] + strlen("hostdev "), NULL)))
			continue;
		entry = vv_hook_plan_add(plan, address, g_key_file_get_boolean(file, groups[i], "managed", NULL));
		entry->driver = g_key_file_get_string(file, groups[i], "driver", NULL);
		entry->module = g_key_file_get_string(file, groups[i], "module", NULL);
		entry->source = g_key_file_get_string(file, groups[i], "source", NULL);
		mode = g_key_file_get_string(file, groups[i], "mode", NULL);
		entry->mode = g_strcmp0(mode, "strict") == 0 ? VV_HOOK_MODE_STRICT : VV_HOOK_MODE_FALLBACK;
		entry->native_known = g_key_file_get_boolean(file, groups[i], "native-known", NULL);
		entry->native_driver = g_key_file_get_string(file, groups[i], "native-driver", NULL);
		entry->native_module = g_key_file_get_string(file, groups[i], "native-module", NULL);
		entry->native_override = g_key_file_get_string(file, groups[i], "native-override", NULL);
		entry->admin_driver = g_key_file_get_string(file, groups[i], "admin-driver", NULL);
		entry->admin_module = g_key_file_get_string(file, groups[i], "admin-module", NULL);
		requester = g_key_file_get_string(file, groups[i], "admin-requester", NULL);
		entry->admin_requester = vv_requester_parse(requester);
		if (!vv_hook_plan_check_names(path, groups[i], entry, error))
			return NULL;
	}
	return g_steal_pointer(&plan);
}

gboolean
vv_hook_plan_remove(vv_ctx *ctx, const char *uuid, GError **error)
{
	g_autofree char *path = vv_hook_plan_path(ctx, uuid);

	if (g_unlink(path) < 0 && errno != ENOENT) {
		int saved = errno;

		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot remove the hook's plan %1$s: %2$s."),
			    path, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}
