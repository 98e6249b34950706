/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness: the record loader (src/lib/vv-record.c), which reads
 * STATE_DIR/devices/BDF.conf before every reattach, recover and status.
 * The input is the record of 0000:00:01.0 in a temporary state directory,
 * read by vv_record_load() and by the listing of every record.
 */
#include <stdint.h>
#include <stdlib.h>

#include <glib/gstdio.h>

#include "vv-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vv_ctx *ctx;
static char *path;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GPtrArray) records = NULL;

	if (!ctx) {
		g_autofree char *state = NULL;
		g_autofree char *devices = NULL;

		ctx = vv_fuzz_ctx(NULL, &state);
		devices = g_build_filename(state, "devices", NULL);
		g_mkdir_with_parents(devices, 0700);
		path = g_build_filename(devices, "0000:00:01.0.conf", NULL);
	}
	vv_fuzz_write(path, data, size);
	record = vv_record_load(ctx, "0000:00:01.0", &error);
	if (record) {
		if (g_strcmp0(vv_record_get_address(record), "0000:00:01.0") != 0)
			abort();
		(void)vv_record_get_original_driver(record);
		(void)vv_record_get_original_module(record);
		(void)vv_record_get_original_override(record);
		(void)vv_record_get_driver(record);
		(void)vv_record_get_module(record);
		(void)vv_record_get_time(record);
		(void)vv_record_get_domain(record);
		(void)vv_record_get_operation(record);
		(void)vv_record_get_step(record);
		(void)vv_record_is_complete(record);
		(void)vv_record_is_managed(record);
		if (!vv_requester_to_string(vv_record_get_requester(record)))
			abort();
	} else if (!error || !error->message || !*error->message) {
		abort();
	}
	g_clear_error(&error);
	records = vv_ctx_list_records(ctx, &error);
	if (!records && (!error || !error->message || !*error->message))
		abort();
	return 0;
}
