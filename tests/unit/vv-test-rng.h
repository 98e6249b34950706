/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RELAX NG in the C tests: load a grammar (the test fails when it does not
 * parse) and ask whether a document in memory validates, quietly (the test
 * says which document and grammar failed).
 */
#pragma once

#include <string.h>

#include "vv-xml-cleanup.h"

static inline xmlRelaxNG *
vv_test_schema(const char *path)
{
	g_autoptr(xmlRelaxNGParserCtxt) parser = xmlRelaxNGNewParserCtxt(path);
	xmlRelaxNG *schema = xmlRelaxNGParse(parser);

	g_assert_nonnull(schema);
	return schema;
}

/* TRUE when TEXT is well-formed and valid against SCHEMA; no network. */
static inline gboolean
vv_test_validates(xmlRelaxNG *schema, const char *text)
{
	g_autoptr(xmlDoc) doc = xmlReadMemory(text, strlen(text), "test.xml", NULL, XML_PARSE_NONET);
	g_autoptr(xmlRelaxNGValidCtxt) validator = xmlRelaxNGNewValidCtxt(schema);

	xmlRelaxNGSetValidStructuredErrors(validator, NULL, NULL);
	return doc && xmlRelaxNGValidateDoc(validator, doc) == 0;
}
