/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-fuzz.h"

static GPtrArray *vv_fuzz_dirs;

static void
vv_fuzz_cleanup(void)
{
	for (guint i = 0; vv_fuzz_dirs && i < vv_fuzz_dirs->len; i++) {
		g_autofree char *command = g_strdup_printf("rm -rf '%s'", (char *)g_ptr_array_index(vv_fuzz_dirs, i));

		if (system(command) != 0)
			fprintf(stderr, "vv-fuzz: could not remove %s\n", (char *)g_ptr_array_index(vv_fuzz_dirs, i));
	}
}

/* In memory when it can be: rewriting a file thousands of times a second
 * on ext4 waits for the disk at every truncation (auto_da_alloc), which
 * slows the policy and record harnesses tenfold. */
char *
vv_fuzz_tmpdir(void)
{
	const char *base = g_access("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir();
	char *dir = g_build_filename(base, "vv-fuzz.XXXXXX", NULL);

	if (!g_mkdtemp(dir)) {
		fprintf(stderr, "vv-fuzz: cannot create a directory in %s\n", base);
		abort();
	}
	if (!vv_fuzz_dirs) {
		vv_fuzz_dirs = g_ptr_array_new();
		atexit(vv_fuzz_cleanup);
	}
	g_ptr_array_add(vv_fuzz_dirs, g_strdup(dir));
	return dir;
}

vv_ctx *
vv_fuzz_ctx(const char *config_file, char **state_dir)
{
	const char *host = g_getenv("VV_FUZZ_HOST");
	vv_ctx_options *options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	/* The harnesses only read the fixture host; the guard is kept anyway. */
	g_setenv("VV_TESTSUITE", "1", TRUE);
	if (!host) {
		fprintf(stderr, "vv-fuzz: set VV_FUZZ_HOST to a fixture host (BUILDDIR/tests/demo)\n");
		abort();
	}
	*state_dir = vv_fuzz_tmpdir();
	vv_ctx_options_set_sysroot(options, host);
	vv_ctx_options_set_state_dir(options, *state_dir);
	if (config_file)
		vv_ctx_options_set_config_file(options, config_file);
	ctx = vv_ctx_new(options, &error);
	vv_ctx_options_free(options);
	if (!ctx) {
		fprintf(stderr, "vv-fuzz: %s\n", error->message);
		abort();
	}
	return ctx;
}

/* In place, without g_file_set_contents()'s fsync and rename: thousands
 * of inputs a second go through this file. */
void
vv_fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	FILE *file = fopen(path, "wb");

	if (!file || (size && fwrite(data, 1, size, file) != size) || fclose(file) != 0) {
		fprintf(stderr, "vv-fuzz: cannot write %s\n", path);
		abort();
	}
}
