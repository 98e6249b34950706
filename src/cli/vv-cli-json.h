/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --json: one writer for list, explain, status and nodedev-list, so the
 * field names (an interface, schemas/vfio-variant.schema.json) are spelt
 * in one place.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "vv-cli.h"

/* The document's start: {"format": 1, "command": COMMAND, then the member
 * named ARRAY opened as an array. Transfer full. */
JsonBuilder *vv_cli_json_begin(const char *command, const char *array);
/* One device: what sysfs and the names database say about DEVICE, then
 * SELECTION's choice, or, when SELECTION is NULL, the choice marked unknown
 * with UNKNOWN's message. Its record, read here, when there is one. */
void vv_cli_json_device(JsonBuilder *builder, vv_ctx *ctx, vv_device *device, const vv_selection *selection,
			const GError *unknown);
/* One entry of status: ADDRESS, the device now (NULL: gone from sysfs), and
 * RECORD (NULL: not detached by vfio-variant). */
void vv_cli_json_status(JsonBuilder *builder, const char *address, vv_device *device, const vv_record *record);
/* Closes the array and the document and prints it to stdout, with the
 * array ERRORS ({"address", "message"} objects, none when NULL). */
void vv_cli_json_end(JsonBuilder *builder, GPtrArray *errors);
