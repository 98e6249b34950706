/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key files vfio-variant writes (device records in the library, the
 * hook's plan in the hook) are written and read with the same rules: an
 * absent value is an absent key, and a requester is one of three words.
 */
#pragma once

#include <vfio-variant/vfio-variant.h>

/* Set KEY of GROUP to VALUE; nothing when VALUE is NULL (the readers take
 * an absent key and an empty value alike, as none). */
void vv_key_file_put(GKeyFile *file, const char *group, const char *key, const char *value);

/* FILE written whole to PATH, atomically (vv_state_file_write(): a
 * temporary beside it, flushed, renamed; its errors). */
gboolean vv_key_file_write(GKeyFile *file, const char *path, GError **error);

/* vv_requester_to_string() read back: "libvirt", "hook"; anything else
 * (NULL included: records older than the key) is the CLI. */
vv_requester vv_requester_parse(const char *text);
