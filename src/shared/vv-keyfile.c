/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing and reading the key files of records and plans alike. */
#include "vv-keyfile.h"

void
vv_key_file_put(GKeyFile *file, const char *group, const char *key, const char *value)
{
	if (value)
		g_key_file_set_string(file, group, key, value);
}

gboolean
vv_key_file_write(GKeyFile *file, const char *path, GError **error)
{
	gsize length;
	g_autofree char *data = g_key_file_to_data(file, &length, NULL);

	return vv_state_file_write(path, data, length, error);
}

vv_requester
vv_requester_parse(const char *text)
{
	if (g_strcmp0(text, "libvirt") == 0)
		return VV_REQUESTER_LIBVIRT;
	if (g_strcmp0(text, "hook") == 0)
		return VV_REQUESTER_HOOK;
	if (g_strcmp0(text, "udev") == 0)
		return VV_REQUESTER_UDEV;
	if (g_strcmp0(text, "boot") == 0)
		return VV_REQUESTER_BOOT;
	return VV_REQUESTER_CLI;
}
