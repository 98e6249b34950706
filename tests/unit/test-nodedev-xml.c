/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Node-device XML: real libvirt documents (tests/nodedev, captured from
 * libvirtd) merged with <vfio> samples (tests/xml). Each merged document
 * validates against schemas/nodedev-vfio.rng; with every element of our
 * namespace removed it validates against the system's libvirt nodedev.rng
 * and is, canonically, libvirt's document unchanged (for a device without
 * a driver too: no empty <driver> of ours remains). *-invalid.xml merged
 * documents must fail.
 */
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "virt/vv-virt.h"
#include "vv-test-rng.h"

static const char *const vv_vfio_samples[] = {
	"variant-selected.xml", "not-assignable-bridge.xml", "group-blockers-fragment.xml", "source-modprobe-d.xml",
	"detached.xml", "detached-cut-short.xml",
};

static char *
vv_test_canonical(const char *text)
{
	g_autoptr(xmlDoc) doc = xmlReadMemory(text, strlen(text), "c14n.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	xmlChar *out = NULL;
	char *result;

	g_assert_nonnull(doc);
	g_assert_cmpint(xmlC14NDocDumpMemory(doc, NULL, XML_C14N_1_0, NULL, 0, &out), >=, 0);
	result = g_strdup((char *)out);
	xmlFree(out);
	return result;
}

static char *
vv_test_read(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	char *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

/* The sample, re-serialised as a fragment (no XML declaration). */
static char *
vv_test_fragment(const char *sample)
{
	g_autofree char *text = vv_test_read(g_getenv("VV_XML_SAMPLES"), sample);
	g_autoptr(xmlDoc) doc = xmlReadMemory(text, strlen(text), sample, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	xmlBuffer *buffer = xmlBufferCreate();
	char *result;

	xmlNodeDump(buffer, doc, xmlDocGetRootElement(doc), 0, 1);
	result = g_strdup((char *)xmlBufferContent(buffer));
	xmlBufferFree(buffer);
	return result;
}

static guint
vv_test_count(const char *text, const char *needle)
{
	guint n = 0;

	for (const char *at = text; (at = strstr(at, needle)); at++)
		n++;
	return n;
}

static void
test_nodedev_corpus(void)
{
	const char *corpus = g_getenv("VV_NODEDEV_CORPUS");
	g_autofree char *ours_path = g_build_filename(g_getenv("VV_SCHEMA_DIR"), "nodedev-vfio.rng", NULL);
	g_autoptr(xmlRelaxNG) ours = vv_test_schema(ours_path);
	g_autoptr(xmlRelaxNG) libvirt = vv_test_schema(g_getenv("VV_LIBVIRT_NODEDEV_RNG"));
	g_autoptr(GDir) dir = g_dir_open(corpus, 0, NULL);
	const char *name;
	guint documents = 0, invalid = 0;

	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *text = NULL;

		if (!g_str_has_suffix(name, ".xml"))
			continue;
		text = vv_test_read(corpus, name);
		if (g_str_has_suffix(name, "-invalid.xml")) {
			if (vv_test_validates(ours, text))
				g_error("%s validates against nodedev-vfio.rng but must not", name);
			invalid++;
			continue;
		}
		g_assert_true(vv_test_validates(libvirt, text));
		for (guint i = 0; i < G_N_ELEMENTS(vv_vfio_samples); i++) {
			g_autofree char *fragment = vv_test_fragment(vv_vfio_samples[i]);
			g_autoptr(GError) error = NULL;
			g_autofree char *merged = vv_virt_xml_merge(text, fragment, &error);
			g_autofree char *stripped = NULL;
			g_autofree char *before = NULL, *after = NULL;

			g_assert_no_error(error);
			if (!vv_test_validates(ours, merged))
				g_error("%s + %s does not validate against nodedev-vfio.rng:\n%s", name, vv_vfio_samples[i], merged);
			stripped = vv_virt_xml_strip(merged, &error);
			g_assert_no_error(error);
			if (!vv_test_validates(libvirt, stripped))
				g_error("%s + %s, stripped, does not validate against libvirt's nodedev.rng", name, vv_vfio_samples[i]);
			before = vv_test_canonical(text);
			after = vv_test_canonical(stripped);
			g_assert_cmpstr(after, ==, before);
			/* <vfio> goes into libvirt's <driver>, and adds none. */
			g_assert_cmpuint(vv_test_count(merged, "<driver>"), ==, vv_test_count(text, "<driver>"));
		}
		documents++;
	}
	g_test_message("%u libvirt documents merged, %u invalid ones refused", documents, invalid);
	g_assert_cmpuint(documents, >=, 6);
	g_assert_cmpuint(invalid, >=, 3);
}

static void
test_nodedev_malformed(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *merged = vv_virt_xml_merge("<device><name>x", "<vfio/>", &error);

	g_assert_null(merged);
	g_assert_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	merged = vv_virt_xml_merge("<domain/>", "<vfio xmlns='" VV_XML_NAMESPACE "'/>", &error);
	g_assert_null(merged);
	g_assert_nonnull(strstr(error->message, "<domain>"));
}

/* An external entity is never fetched nor expanded. */
static void
test_nodedev_no_entities(void)
{
	const char *hostile = "<?xml version='1.0'?><!DOCTYPE device [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
			      "<device><name>&x;</name></device>";
	g_autoptr(GError) error = NULL;
	g_autofree char *merged = vv_virt_xml_merge(hostile, "<vfio xmlns='" VV_XML_NAMESPACE "'/>", &error);

	g_assert_no_error(error);
	g_assert_null(strstr(merged, "root:"));
}

/* --validate FILE...: the same two checks on documents `vfio-variant
 * nodedev-dumpxml` printed (tests/libvirt uses it on a real libvirtd). */
static int
vv_test_validate_files(int argc, char **argv)
{
	g_autofree char *ours_path = g_build_filename(g_getenv("VV_SCHEMA_DIR"), "nodedev-vfio.rng", NULL);
	g_autoptr(xmlRelaxNG) ours = vv_test_schema(ours_path);
	g_autoptr(xmlRelaxNG) libvirt = vv_test_schema(g_getenv("VV_LIBVIRT_NODEDEV_RNG"));
	int failed = 0;

	for (int i = 0; i < argc; i++) {
		g_autofree char *text = NULL;
		g_autofree char *stripped = NULL;
		g_autoptr(GError) error = NULL;

		if (!g_file_get_contents(argv[i], &text, NULL, &error) ||
		    !(stripped = vv_virt_xml_strip(text, &error))) {
			g_print("FAIL %s: %s\n", argv[i], error->message);
			failed++;
		} else if (!vv_test_validates(ours, text)) {
			g_print("FAIL %s: does not validate against nodedev-vfio.rng\n", argv[i]);
			failed++;
		} else if (!vv_test_validates(libvirt, stripped)) {
			g_print("FAIL %s: libvirt's part does not validate against nodedev.rng\n", argv[i]);
			failed++;
		} else {
			g_print("ok %s\n", argv[i]);
		}
	}
	return failed ? 1 : 0;
}

/* --compare MERGED ORIGINAL: MERGED (`nodedev-dumpxml`), without our
 * namespace, is canonically ORIGINAL (`virsh nodedev-dumpxml`). */
static int
vv_test_compare_files(const char *merged_path, const char *original_path)
{
	g_autofree char *merged = NULL, *original = NULL, *stripped = NULL;
	g_autofree char *before = NULL, *after = NULL;
	g_autoptr(GError) error = NULL;

	if (!g_file_get_contents(merged_path, &merged, NULL, &error) ||
	    !g_file_get_contents(original_path, &original, NULL, &error) ||
	    !(stripped = vv_virt_xml_strip(merged, &error))) {
		g_print("FAIL %s: %s\n", merged_path, error->message);
		return 1;
	}
	before = vv_test_canonical(original);
	after = vv_test_canonical(stripped);
	if (!g_str_equal(before, after)) {
		g_print("FAIL %s without our namespace differs from %s:\n%s\n---\n%s\n", merged_path, original_path,
			after, before);
		return 1;
	}
	g_print("ok %s is %s without our namespace\n", merged_path, original_path);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && g_str_equal(argv[1], "--validate"))
		return vv_test_validate_files(argc - 2, argv + 2);
	if (argc == 4 && g_str_equal(argv[1], "--compare"))
		return vv_test_compare_files(argv[2], argv[3]);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nodedev-xml/corpus", test_nodedev_corpus);
	g_test_add_func("/nodedev-xml/malformed", test_nodedev_malformed);
	g_test_add_func("/nodedev-xml/no-entities", test_nodedev_no_entities);
	return g_test_run();
}
