/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * g_autoptr() for the libxml2 types vfio-variant uses, declared once (as
 * libvirt declares them in virxml.h): a second G_DEFINE_AUTOPTR_CLEANUP_FUNC
 * of a type in one file does not compile, so every file takes them here.
 */
#pragma once

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

/* xmlFree is a variable holding libxml2's deallocator, not a function:
 * the cleanup takes it through a function of its own. */
static inline void
vv_xml_string_free(xmlChar *text)
{
	xmlFree(text);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlChar, vv_xml_string_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlBuffer, xmlBufferFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlParserCtxt, xmlFreeParserCtxt)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNG, xmlRelaxNGFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNGParserCtxt, xmlRelaxNGFreeParserCtxt)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNGValidCtxt, xmlRelaxNGFreeValidCtxt)
