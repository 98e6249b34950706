/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness: the policy loader (src/lib/vv-policy.c), which reads the
 * administrator's vfio-variant.conf, through the public call that applies
 * it to a device of the fixture host. The input is the file; the rules are
 * read again for every input (the context keeps them once read).
 */
#include <stdint.h>
#include <stdlib.h>

#include "vv-private.h"
#include "vv-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vv_ctx *ctx;
static GPtrArray *devices;
static char *config;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctx) {
		g_autofree char *state = NULL;
		g_autofree char *dir = vv_fuzz_tmpdir();

		config = g_build_filename(dir, "vfio-variant.conf", NULL);
		vv_fuzz_write(config, (const uint8_t *)"", 0);
		ctx = vv_fuzz_ctx(config, &state);
		devices = vv_ctx_list_devices(ctx, NULL);
		if (!devices || devices->len == 0)
			abort();
	}
	vv_fuzz_write(config, data, size);
	g_clear_pointer(&ctx->policy, vv_policy_rules_free);
	for (guint i = 0; i < devices->len; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(vv_policy) policy = vv_policy_new(ctx, g_ptr_array_index(devices, i), &error);
		g_autofree char *where = NULL;

		if (!policy) {
			if (!error || !error->message || !*error->message)
				abort();
			break; /* the same file fails every device */
		}
		where = vv_policy_where(policy);
		if (vv_policy_get_action(policy) == VV_POLICY_DRIVER && !vv_policy_get_driver(policy))
			abort();
		(void)vv_policy_get_scope(policy);
		(void)vv_policy_get_group(policy);
		(void)vv_policy_get_line(policy);
		(void)vv_policy_get_hook_mode(policy);
	}
	return 0;
}
