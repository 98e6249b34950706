/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-schema SCHEMA FILE...: validate each FILE against the RELAX NG
 * SCHEMA. A file whose name ends in "-invalid.xml" must fail, every other
 * one must pass. One line per file ("ok FILE" or "FAIL FILE: reason"), then
 * "N passed, M failed"; the exit status is 1 when anything failed. A file
 * that is not well-formed fails either way: a negative must break the
 * schema, not the XML.
 *
 * Uses GLib and libxml2 only, never the project's library: the schema is
 * checked against the documents, not against the code that writes them.
 */
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "vv-xml-cleanup.h"

/* No network, and entities are never substituted (no XML_PARSE_NOENT). */
#define TEST_SCHEMA_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOWARNING)

/* The first error libxml2 reports for the current file, else NULL. */
static char *first_error;

/* Unstructured reports (a few old code paths) come in pieces: keep quiet. */
static void
test_schema_generic_error(G_GNUC_UNUSED void *data, G_GNUC_UNUSED const char *format, ...)
{
}

#if LIBXML_VERSION >= 21200
typedef const xmlError test_schema_xml_error;
#else
typedef xmlError test_schema_xml_error;
#endif

static void
test_schema_structured_error(G_GNUC_UNUSED void *data, test_schema_xml_error *error)
{
	if (first_error || !error->message)
		return;
	first_error = g_strchomp(g_strdup_printf("%s:%d: %s", error->file ? error->file : "",
						 error->line, error->message));
}

typedef enum { TEST_SCHEMA_MALFORMED, TEST_SCHEMA_VALID, TEST_SCHEMA_INVALID } test_schema_result;

/* Parse and validate FILE; REASON says why it is not valid. */
static test_schema_result
test_schema_validate(xmlRelaxNG *schema, const char *file, char **reason)
{
	g_autoptr(xmlDoc) doc = NULL;
	g_autoptr(xmlRelaxNGValidCtxt) validator = NULL;
	int result;

	g_clear_pointer(&first_error, g_free);
	doc = xmlReadFile(file, NULL, TEST_SCHEMA_PARSE_OPTIONS);
	if (!doc) {
		*reason = g_strdup_printf("not well-formed: %s", first_error ? first_error : "cannot parse");
		return TEST_SCHEMA_MALFORMED;
	}
	validator = xmlRelaxNGNewValidCtxt(schema);
	xmlRelaxNGSetValidStructuredErrors(validator, test_schema_structured_error, NULL);
	result = xmlRelaxNGValidateDoc(validator, doc);
	if (result != 0) {
		*reason = g_strdup(first_error ? first_error : "does not validate");
		return TEST_SCHEMA_INVALID;
	}
	return TEST_SCHEMA_VALID;
}

int
main(int argc, char **argv)
{
	g_autoptr(xmlRelaxNGParserCtxt) parser = NULL;
	g_autoptr(xmlRelaxNG) schema = NULL;
	guint passed = 0, failed = 0;

	if (argc < 3) {
		g_printerr("Usage: %s SCHEMA FILE...\n", argv[0]);
		return 2;
	}
	LIBXML_TEST_VERSION
	xmlSetGenericErrorFunc(NULL, test_schema_generic_error);
	xmlSetStructuredErrorFunc(NULL, test_schema_structured_error);

	parser = xmlRelaxNGNewParserCtxt(argv[1]);
	xmlRelaxNGSetParserStructuredErrors(parser, test_schema_structured_error, NULL);
	schema = xmlRelaxNGParse(parser);
	if (!schema) {
		g_printerr("FAIL %s: not a usable RELAX NG schema: %s\n", argv[1],
			   first_error ? first_error : "cannot parse");
		g_free(first_error);
		return 1;
	}

	for (int i = 2; i < argc; i++) {
		const char *file = argv[i];
		gboolean expect_valid = !g_str_has_suffix(file, "-invalid.xml");
		g_autofree char *reason = NULL;
		test_schema_result result = test_schema_validate(schema, file, &reason);

		if (result == (expect_valid ? TEST_SCHEMA_VALID : TEST_SCHEMA_INVALID)) {
			g_print("ok %s\n", file);
			passed++;
		} else {
			g_print("FAIL %s: %s\n", file, result == TEST_SCHEMA_VALID ?
				"validates, but a -invalid.xml file must not" : reason);
			failed++;
		}
	}
	g_clear_pointer(&first_error, g_free);
	g_print("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
