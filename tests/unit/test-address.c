/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device names: the three accepted forms, and everything else rejected. */
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
	return g_test_run();
}
