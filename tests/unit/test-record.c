/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state directory and the per-device record: where it lives, what it
 * keeps, and what a reader makes of a damaged one. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-private.h"
#include "vv-test-hosts.h"

/* The demo host is only read; records go to STATE_DIR (NULL: default). */
static vv_ctx *
vv_test_open_with_state(const char *state_dir)
{
	const char *hosts = g_getenv("VV_TEST_HOSTS");
	g_autofree char *root = g_build_filename(hosts ? hosts : ".", "demo", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	if (state_dir)
		vv_ctx_options_set_state_dir(options, state_dir);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	return ctx;
}

static void
test_record_state_dir_default(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(NULL);
	g_autofree char *expected = g_build_filename(vv_ctx_get_sysroot(ctx), "run/vfio-variant", NULL);

	/* Under the sysroot, never the live host's /run, for a sysroot. */
	g_assert_cmpstr(vv_ctx_get_state_dir(ctx), ==, expected);
}

static void
test_record_round_trip(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autoptr(vv_record) record = vv_record_new("0000:03:00.0");
	g_autoptr(vv_record) back = NULL;
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *stray = g_build_filename(devices, "0000:03:00.0.conf.XYZ123", NULL);

	g_assert_cmpstr(vv_ctx_get_state_dir(ctx), ==, dir);
	record->original_driver = g_strdup("xe");
	record->original_module = g_strdup("xe");
	/* original_override stays NULL: absent, not "" */
	record->driver = g_strdup("xe-vfio-pci");
	record->module = g_strdup("xe_vfio_pci");
	record->fallback = TRUE;
	record->time = g_strdup("2026-11-21T12:00:00Z");
	record->requester = VV_REQUESTER_HOOK;
	record->operation = g_strdup("detach");
	record->step = g_strdup("unbound");
	g_assert_true(vv_record_save(ctx, record, &error));
	g_assert_no_error(error);
	/* A temporary file of an interrupted save is not a record. */
	g_assert_true(g_file_set_contents(stray, "junk", -1, NULL));

	back = vv_record_load(ctx, "pci_0000_03_00_0", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(vv_record_get_address(back), ==, "0000:03:00.0");
	g_assert_cmpstr(vv_record_get_original_driver(back), ==, "xe");
	g_assert_cmpstr(vv_record_get_original_module(back), ==, "xe");
	g_assert_null(vv_record_get_original_override(back));
	g_assert_cmpstr(vv_record_get_driver(back), ==, "xe-vfio-pci");
	g_assert_cmpstr(vv_record_get_module(back), ==, "xe_vfio_pci");
	g_assert_true(vv_record_is_fallback(back));
	g_assert_cmpstr(vv_record_get_time(back), ==, "2026-11-21T12:00:00Z");
	g_assert_cmpint(vv_record_get_requester(back), ==, VV_REQUESTER_HOOK);
	g_assert_cmpstr(vv_record_get_operation(back), ==, "detach");
	g_assert_cmpstr(vv_record_get_step(back), ==, "unbound");
	g_assert_false(vv_record_is_complete(back));

	all = vv_ctx_list_records(ctx, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(all->len, ==, 1);

	g_assert_true(vv_record_remove(ctx, "0000:03:00.0", &error));
	g_assert_null(vv_record_load(ctx, "0000:03:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_NOT_FOUND);
	g_unlink(stray);
	g_rmdir(devices);
	g_rmdir(dir);
}

/* A record without its journal cannot be settled: say so, and how. */
static void
test_record_without_journal(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *path = g_build_filename(devices, "0000:03:00.0.conf", NULL);
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(devices, 0755), ==, 0);
	g_assert_true(g_file_set_contents(path, "[device]\noriginal-driver=xe\n", -1, NULL));
	record = vv_record_load(ctx, "0000:03:00.0", &error);
	g_assert_null(record);
	g_assert_error(error, VV_ERROR, VV_ERROR_RECORD);
	g_assert_nonnull(strstr(error->message, "incomplete"));
	g_assert_nonnull(strstr(error->message, path));
	g_unlink(path);
	g_rmdir(devices);
	g_rmdir(dir);
}


/* A record that loads, and what its native driver reads as. */
#define VV_WHOLE_DEVICE "[device]\naddress=0000:03:00.0\n"
#define VV_WHOLE_JOURNAL "[journal]\noperation=detach\nstep=verified\n"

static const struct {
	const char *label;
	const char *conf;
	gboolean loads;
	const char *native;     /* when it loads */
	const char *message;    /* when it does not: a part of the message */
} record_load_cases[] = {
	{ "whole", VV_WHOLE_DEVICE "original-driver=xe\n" VV_WHOLE_JOURNAL, TRUE, "xe", NULL },
	{ "no native driver, written empty", VV_WHOLE_DEVICE "original-driver=\n" VV_WHOLE_JOURNAL, TRUE, NULL, NULL },
	{ "a record before 0.4, native driver named",
	  "[device]\naddress=0000:03:00.0\noriginal-driver=xe\noriginal-module=xe\ndriver=xe-vfio-pci\n"
	  "module=xe_vfio_pci\nfallback=false\ntime=2026-11-21T12:00:00Z\nrequester=cli\n" VV_WHOLE_JOURNAL,
	  TRUE, "xe", NULL },
	{ "no original-driver key", VV_WHOLE_DEVICE "driver=vfio-pci\n" VV_WHOLE_JOURNAL, FALSE, NULL,
	  "incomplete: it has no 'original-driver'" },
	{ "no operation", VV_WHOLE_DEVICE "original-driver=xe\n[journal]\nstep=verified\n", FALSE, NULL,
	  "incomplete: it has no 'operation'" },
	{ "no step", VV_WHOLE_DEVICE "original-driver=xe\n[journal]\noperation=detach\n", FALSE, NULL,
	  "incomplete: it has no 'step'" },
	{ "an unknown operation", VV_WHOLE_DEVICE "original-driver=xe\n[journal]\noperation=frobnicate\nstep=verified\n",
	  FALSE, NULL, "incomplete" },
	{ "an empty step", VV_WHOLE_DEVICE "original-driver=xe\n[journal]\noperation=detach\nstep=\n",
	  FALSE, NULL, "incomplete" },
	{ "another device's record", "[device]\naddress=0000:04:00.0\noriginal-driver=xe\n" VV_WHOLE_JOURNAL,
	  FALSE, NULL, "describes another device, 0000:04:00.0" },
};

static void
test_record_must_be_whole(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *path = g_build_filename(devices, "0000:03:00.0.conf", NULL);

	g_assert_cmpint(g_mkdir_with_parents(devices, 0755), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(record_load_cases); i++) {
		g_autoptr(vv_record) record = NULL;
		g_autoptr(GError) error = NULL;

		g_test_message("case %s", record_load_cases[i].label);
		g_assert_true(g_file_set_contents(path, record_load_cases[i].conf, -1, NULL));
		record = vv_record_load(ctx, "0000:03:00.0", &error);
		if (record_load_cases[i].loads) {
			if (error)
				g_error("%s: %s", record_load_cases[i].label, error->message);
			g_assert_cmpstr(vv_record_get_original_driver(record), ==, record_load_cases[i].native);
			continue;
		}
		if (record)
			g_error("%s: loaded, expected a refusal", record_load_cases[i].label);
		g_assert_error(error, VV_ERROR, VV_ERROR_RECORD);
		if (!strstr(error->message, record_load_cases[i].message) || !strstr(error->message, path))
			g_error("%s: the message lacks '%s' or the path: %s", record_load_cases[i].label,
				record_load_cases[i].message, error->message);
	}
	g_unlink(path);
	g_rmdir(devices);
	g_rmdir(dir);
}

/* A device without a native driver is recorded with original-driver
 * empty, and reads back as none. */
static void
test_record_writes_no_native_driver(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *path = g_build_filename(devices, "0000:03:00.0.conf", NULL);
	g_autoptr(vv_record) record = vv_record_new("0000:03:00.0");
	g_autoptr(vv_record) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;

	record->driver = g_strdup("vfio-pci");
	record->operation = g_strdup("detach");
	record->step = g_strdup("recorded");
	g_assert_true(vv_record_save(ctx, record, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "\noriginal-driver=\n"));
	back = vv_record_load(ctx, "0000:03:00.0", &error);
	g_assert_no_error(error);
	g_assert_null(vv_record_get_original_driver(back));
	g_unlink(path);
	g_rmdir(devices);
	g_rmdir(dir);
}

/* What stands where a record should be, and is refused without being
 * followed or read: the target's text never appears in the message. */
typedef enum { VV_STANDIN_SYMLINK, VV_STANDIN_FIFO, VV_STANDIN_DIRECTORY, VV_STANDIN_HUGE } vv_standin;

static const struct {
	const char *label;
	vv_standin kind;
	const char *message;
} record_standin_cases[] = {
	{ "a symlink to a file", VV_STANDIN_SYMLINK, "symbolic link" },
	{ "a FIFO", VV_STANDIN_FIFO, "not a regular file" },
	{ "a directory", VV_STANDIN_DIRECTORY, "not a regular file" },
	{ "a huge file", VV_STANDIN_HUGE, "larger than" },
};

static void
test_record_standins_refused(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *path = g_build_filename(devices, "0000:03:00.0.conf", NULL);
	g_autofree char *secret = g_build_filename(dir, "secret", NULL);

	g_assert_cmpint(g_mkdir_with_parents(devices, 0755), ==, 0);
	g_assert_true(g_file_set_contents(secret, "[device]\nTOP-SECRET-LINE\n", -1, NULL));
	for (guint i = 0; i < G_N_ELEMENTS(record_standin_cases); i++) {
		g_autoptr(vv_record) record = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) addresses = NULL;

		g_test_message("case %s", record_standin_cases[i].label);
		switch (record_standin_cases[i].kind) {
		case VV_STANDIN_SYMLINK:
			g_assert_cmpint(symlink(secret, path), ==, 0);
			break;
		case VV_STANDIN_FIFO:
			g_assert_cmpint(mkfifo(path, 0600), ==, 0);
			break;
		case VV_STANDIN_DIRECTORY:
			g_assert_cmpint(g_mkdir(path, 0700), ==, 0);
			break;
		case VV_STANDIN_HUGE: {
			g_autofree char *huge = g_strnfill(1024 * 1024, '#');

			g_assert_true(g_file_set_contents(path, huge, -1, NULL));
			break;
		}
		}
		record = vv_record_load(ctx, "0000:03:00.0", &error);
		g_assert_null(record);
		g_assert_error(error, VV_ERROR, VV_ERROR_RECORD);
		if (!strstr(error->message, record_standin_cases[i].message) || !strstr(error->message, path) ||
		    strstr(error->message, "TOP-SECRET"))
			g_error("%s: %s", record_standin_cases[i].label, error->message);
		g_clear_error(&error);
		/* Listed, so that status can name it. */
		addresses = vv_ctx_list_record_addresses(ctx, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(addresses->len, ==, 1);
		g_assert_cmpstr(g_ptr_array_index(addresses, 0), ==, "0000:03:00.0");
		if (g_remove(path) < 0)
			g_error("cannot remove %s", path);
	}
	g_unlink(secret);
	g_rmdir(devices);
	g_rmdir(dir);
}

/* devices/ and locks/ must be directories of their own: a symlink there
 * would put records and locks wherever it points. */
static void
test_record_state_dirs_not_symlinks(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *elsewhere = g_build_filename(dir, "elsewhere", NULL);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *locks = g_build_filename(dir, "locks", NULL);
	g_autofree char *planted = g_build_filename(elsewhere, "0000:03:00.0.conf", NULL);
	g_autofree char *through = g_build_filename(elsewhere, "group-5.lock", NULL);
	g_autoptr(vv_record) record = vv_record_new("0000:03:00.0");
	g_autoptr(vv_record) back = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) addresses = NULL;

	g_assert_cmpint(g_mkdir(elsewhere, 0755), ==, 0);
	g_assert_true(g_file_set_contents(planted, VV_WHOLE_DEVICE "original-driver=\n" VV_WHOLE_JOURNAL, -1, NULL));
	g_assert_cmpint(symlink(elsewhere, devices), ==, 0);
	g_assert_cmpint(symlink(elsewhere, locks), ==, 0);

	record->operation = g_strdup("detach");
	record->step = g_strdup("recorded");
	g_assert_false(vv_record_save(ctx, record, &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "symbolic link"));
	g_clear_error(&error);
	back = vv_record_load(ctx, "0000:03:00.0", &error);
	g_assert_null(back);
	g_assert_error(error, VV_ERROR, VV_ERROR_RECORD);
	g_assert_nonnull(strstr(error->message, devices));
	g_clear_error(&error);
	addresses = vv_ctx_list_record_addresses(ctx, &error);
	g_assert_null(addresses);
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_clear_error(&error);
	lock = vv_lock_acquire(ctx, 5, "test", 0, &error);
	g_assert_null(lock);
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "symbolic link"));
	g_clear_error(&error);
	/* Nothing was written through them. */
	g_assert_false(g_file_test(through, G_FILE_TEST_EXISTS));

	g_unlink(devices);
	g_unlink(locks);
	g_unlink(planted);
	g_rmdir(elsewhere);
	g_rmdir(dir);
}

/* A lock file that is a symlink is refused, and its target left alone. */
static void
test_record_lock_not_symlink(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *locks = g_build_filename(dir, "locks", NULL);
	g_autofree char *path = g_build_filename(locks, "group-5.lock", NULL);
	g_autofree char *target = g_build_filename(dir, "precious", NULL);
	g_autofree char *text = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autoptr(vv_lock) again = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir(locks, 0755), ==, 0);
	g_assert_true(g_file_set_contents(target, "PRECIOUS-LINE\n", -1, NULL));
	g_assert_cmpint(symlink(target, path), ==, 0);
	lock = vv_lock_acquire(ctx, 5, "test", 0, &error);
	g_assert_null(lock);
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, "symbolic link"));
	g_assert_null(strstr(error->message, "--state-dir"));
	g_assert_true(g_file_get_contents(target, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "PRECIOUS-LINE\n");
	g_clear_error(&error);

	/* A regular lock file still works. */
	g_unlink(path);
	again = vv_lock_acquire(ctx, 5, "test", 0, &error);
	g_assert_no_error(error);
	g_assert_nonnull(again);
	g_clear_pointer(&again, vv_lock_release);
	g_unlink(path);
	g_unlink(target);
	g_rmdir(locks);
	g_rmdir(dir);
}

/* The next write of a record or plan removes the temporaries a killed
 * writer of the same file left; others' files stay. */
static void
test_record_temporaries_cleaned(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	const char *stale[] = { "0000:03:00.0.conf.AbC123", "0000:03:00.0.conf.zzzzzz" };
	const char *kept[] = { "0000:04:00.0.conf.AbC123", "0000:03:00.0.conf.keep", "0000:03:00.0.conf.AbC1234",
			       "0000:03:00.0.conf.AbC-12" };
	g_autoptr(vv_record) record = vv_record_new("0000:03:00.0");
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) listing = NULL;
	const char *name;
	guint count = 0;

	g_assert_cmpint(g_mkdir(devices, 0755), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(stale); i++) {
		g_autofree char *path = g_build_filename(devices, stale[i], NULL);

		g_assert_true(g_file_set_contents(path, "half", -1, NULL));
	}
	for (guint i = 0; i < G_N_ELEMENTS(kept); i++) {
		g_autofree char *path = g_build_filename(devices, kept[i], NULL);

		g_assert_true(g_file_set_contents(path, "other", -1, NULL));
	}
	record->original_driver = g_strdup("xe");
	record->operation = g_strdup("detach");
	record->step = g_strdup("recorded");
	g_assert_true(vv_record_save(ctx, record, &error));
	g_assert_no_error(error);

	for (guint i = 0; i < G_N_ELEMENTS(stale); i++) {
		g_autofree char *path = g_build_filename(devices, stale[i], NULL);

		if (g_file_test(path, G_FILE_TEST_EXISTS))
			g_error("the stale temporary %s remains", stale[i]);
	}
	for (guint i = 0; i < G_N_ELEMENTS(kept); i++) {
		g_autofree char *path = g_build_filename(devices, kept[i], NULL);

		g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	}
	/* And the write left no temporary of its own. */
	listing = g_dir_open(devices, 0, NULL);
	while ((name = g_dir_read_name(listing))) {
		g_autofree char *path = g_build_filename(devices, name, NULL);

		count++;
		g_unlink(path);
	}
	g_assert_cmpuint(count, ==, G_N_ELEMENTS(kept) + 1);
	g_rmdir(devices);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* A FIFO read by the old loader blocks for ever: fail instead. */
	alarm(20);
	g_test_add_func("/record/state-dir-default", test_record_state_dir_default);
	g_test_add_func("/record/round-trip", test_record_round_trip);
	g_test_add_func("/record/without-journal", test_record_without_journal);
	g_test_add_func("/record/must-be-whole", test_record_must_be_whole);
	g_test_add_func("/record/writes-no-native-driver", test_record_writes_no_native_driver);
	g_test_add_func("/record/standins-refused", test_record_standins_refused);
	g_test_add_func("/record/state-dirs-not-symlinks", test_record_state_dirs_not_symlinks);
	g_test_add_func("/record/lock-not-symlink", test_record_lock_not_symlink);
	g_test_add_func("/record/temporaries-cleaned", test_record_temporaries_cleaned);
	return g_test_run();
}
