/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device names: the three accepted forms, and everything else rejected;
 * driver and module names (vv_name_check()); echoed text escaped
 * (vv_text_escape()). */
#include <string.h>

#include <vfio-variant/vfio-variant.h>

typedef struct {
	const char *label;
	const char *input;
	const char *expected; /* NULL: must be rejected */
} vv_address_case;

static const vv_address_case vv_address_cases[] = {
	{ "full BDF", "0000:03:00.1", "0000:03:00.1" },
	{ "full BDF upper case", "0000:AF:1F.7", "0000:af:1f.7" },
	{ "short BDF", "03:00.1", "0000:03:00.1" },
	{ "nodedev name", "pci_0000_03_00_1", "0000:03:00.1" },
	{ "VMD domain", "10000:e1:00.0", "10000:e1:00.0" },
	{ "nodedev with VMD domain", "pci_10000_e1_00_0", "10000:e1:00.0" },
	{ "empty", "", NULL },
	{ "parent directory", "../0000:03:00.1", NULL },
	{ "slash", "0000:03/00.1", NULL },
	{ "absolute path", "/sys/bus/pci/devices/0000:03:00.1", NULL },
	{ "trailing newline", "0000:03:00.1\n", NULL },
	{ "slot above 0x1f", "0000:03:20.0", NULL },
	{ "function above 7", "0000:03:00.8", NULL },
	{ "short domain", "00:03:00.1", NULL },
	{ "nine-digit domain", "000000000:03:00.1", NULL },
	{ "not hex", "0000:0g:00.1", NULL },
	{ "sign", "+000:03:00.1", NULL },
	{ "nodedev with dots", "pci_0000_03_00.1", NULL },
	{ "nodedev short", "pci_03_00_1", NULL },
	{ "overlong", "0000:03:00.1000000000000000000000000000000000000000000000000000000000000000000", NULL },
	{ "embedded NUL-like space", "0000:03:00 1", NULL },
	{ "minus sign", "-0000:03:00.1", NULL },
	{ "leading space", " 0000:03:00.1", NULL },
	{ "trailing space", "0000:03:00.1 ", NULL },
	{ "0x prefix", "0x0000:03:00.1", NULL },
	{ "ESC sequence", "0000:03:00.1\x1b[2J", NULL },
};

static void
test_address_case(gconstpointer data)
{
	const vv_address_case *c = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *address = vv_address_parse(c->input, &error);

	if (c->expected) {
		g_assert_no_error(error);
		g_assert_cmpstr(address, ==, c->expected);
	} else {
		g_assert_null(address);
		g_assert_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT);
		/* The message tells how to write a name. */
		g_assert_nonnull(strstr(error->message, "0000:03:00.1"));
	}
}

/* A name echoed in the error is escaped: no raw control character. */
static void
test_address_error_escaped(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *address = vv_address_parse("03:00.1\n\x1b[31mforged", &error);

	g_assert_null(address);
	g_assert_nonnull(strstr(error->message, "'03:00.1\\n\\x1b[31mforged'"));
	g_assert_null(strchr(error->message, '\x1b'));
	g_assert_null(strchr(error->message, '\n'));
}

typedef struct {
	const char *name;
	vv_name_kind kind;
	gboolean valid;
} vv_name_case;

#define A55 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const vv_name_case vv_name_cases[] = {
	{ "vfio_pci", VV_NAME_MODULE, TRUE },
	{ "vfio-pci", VV_NAME_DRIVER, TRUE },
	{ "xe-vfio-pci", VV_NAME_DRIVER, TRUE },
	{ "mlx5_vfio_pci", VV_NAME_MODULE, TRUE },
	{ "a.b", VV_NAME_DRIVER, TRUE },
	{ "...", VV_NAME_DRIVER, TRUE },   /* a name, if an odd one: no path */
	{ "", VV_NAME_DRIVER, FALSE },
	{ ".", VV_NAME_DRIVER, FALSE },
	{ "..", VV_NAME_DRIVER, FALSE },
	{ "..", VV_NAME_MODULE, FALSE },
	{ "/", VV_NAME_DRIVER, FALSE },
	{ "../..", VV_NAME_DRIVER, FALSE },
	{ "vfio-pci/", VV_NAME_DRIVER, FALSE },
	{ "vfio pci", VV_NAME_DRIVER, FALSE },
	{ "vfio-pci\n", VV_NAME_DRIVER, FALSE },
	{ "vfio\x1b[0m", VV_NAME_DRIVER, FALSE },
	{ "caf\xc3\xa9", VV_NAME_DRIVER, FALSE },
	{ "a*", VV_NAME_MODULE, FALSE },
	{ A55, VV_NAME_MODULE, TRUE },
	{ A55 "a", VV_NAME_MODULE, FALSE },
	{ A55 "a", VV_NAME_DRIVER, TRUE },
};

static void
test_name_cases(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(vv_name_cases); i++) {
		const vv_name_case *c = &vv_name_cases[i];
		g_autoptr(GError) error = NULL;
		gboolean valid = vv_name_check(c->name, c->kind, "--driver", &error);

		if (valid != c->valid)
			g_error("case %u ('%.20s', %zu bytes): %s", i, c->name, strlen(c->name), valid ? "accepted" : error->message);
		if (valid)
			continue;
		g_assert_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT);
		/* The input, and the rule. */
		g_assert_true(g_str_has_prefix(error->message, "--driver: "));
		g_assert_nonnull(strstr(error->message, "letters, digits, '_', '-' or '.', and not '.' or '..'"));
		g_assert_null(strchr(error->message, '\x1b'));
		g_assert_null(strchr(error->message, '\n'));
	}
	g_assert_false(vv_name_check(NULL, VV_NAME_DRIVER, "x", NULL));
	/* A sysfs directory entry: 255 bytes at most. */
	{
		g_autofree char *longest = g_strnfill(255, 'a');
		g_autofree char *longer = g_strnfill(256, 'a');

		g_assert_true(vv_name_check(longest, VV_NAME_DRIVER, "x", NULL));
		g_assert_false(vv_name_check(longest, VV_NAME_MODULE, "x", NULL));
		g_assert_false(vv_name_check(longer, VV_NAME_DRIVER, "x", NULL));
	}
}

typedef struct {
	const char *input;
	const char *expected;
} vv_escape_case;

static const vv_escape_case vv_escape_cases[] = {
	{ "vm1", "vm1" },
	{ "", "" },
	{ "a\nb", "a\\nb" },
	{ "a\r\tb", "a\\r\\tb" },
	{ "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m" },
	{ "bell\x07", "bell\\x07" },
	{ "del\x7f", "del\\x7f" },
	{ "back\\slash", "back\\slash" },
	{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },  /* UTF-8 kept */
	{ "csi\xc2\x9b" "2J", "csi\\u009b2J" },                     /* C1 CSI */
	{ "line\xe2\x80\xa8sep", "line\\u2028sep" },
	{ "rlo\xe2\x80\xaetxt", "rlo\\u202etxt" },
	{ "bad\xff\xfe", "bad\\xff\\xfe" },                       /* not UTF-8 */
	{ "cut\xc3", "cut\\xc3" },
};

static void
test_escape_cases(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(vv_escape_cases); i++) {
		g_autofree char *escaped = vv_text_escape(vv_escape_cases[i].input);
		g_autofree char *again = NULL;

		g_assert_cmpstr(escaped, ==, vv_escape_cases[i].expected);
		/* Idempotent: a message escaped by the library and again where
		 * it is printed reads the same. */
		again = vv_text_escape(escaped);
		g_assert_cmpstr(again, ==, escaped);
	}
	g_assert_null(vv_text_escape(NULL));
}

static void
test_address_nodedev_name(void)
{
	g_autofree char *name = vv_address_to_nodedev_name("0000:03:00.1");

	g_assert_cmpstr(name, ==, "pci_0000_03_00_1");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(vv_address_cases); i++) {
		g_autofree char *path = g_strdup_printf("/address/%s", vv_address_cases[i].label);

		g_test_add_data_func(path, &vv_address_cases[i], test_address_case);
	}
	g_test_add_func("/address/nodedev-name", test_address_nodedev_name);
	g_test_add_func("/address/error-escaped", test_address_error_escaped);
	g_test_add_func("/name/cases", test_name_cases);
	g_test_add_func("/name/escape", test_escape_cases);
	return g_test_run();
}
