/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vfio_pci:` alias patterns: matching, and how specific a pattern is.
 *
 * Matching is fnmatch(pattern, key, 0), the call libkmod itself makes, so a
 * pattern matches here exactly when modprobe would match it.
 *
 * Specificity counts the seven fields modpost writes (v d sv sd bc sc i;
 * tags are lower case, values upper-case hex): a fully given field scores
 * 2, a partly globbed one ("0000101*", "[0-9]") 1, and "*" or an absent
 * field 0. modpost appends one "*" to a pattern that does not already end in
 * one (".. i00*"): on the last field that star is not the field's own.
 */
#include <fnmatch.h>
#include <string.h>

#include "vv-private.h"

static const struct {
	const char *tag;
	guint width;
} vv_alias_fields[VV_ALIAS_FIELDS] = {
	{ "v", 8 }, { "d", 8 }, { "sv", 8 }, { "sd", 8 }, { "bc", 2 }, { "sc", 2 }, { "i", 2 },
};

/* The literal head of a pattern must equal the key's: checking it first
 * spares fnmatch() (costly in a UTF-8 locale) for nearly every pattern that
 * cannot match, and never changes the answer. */
gboolean
vv_alias_matches(const char *pattern, const char *key)
{
	gsize literal = strcspn(pattern, "*?[\\");

	if (strncmp(pattern, key, literal) != 0)
		return FALSE;
	return fnmatch(pattern, key, 0) == 0;
}

static vv_field_kind
vv_alias_field_kind(const char *value, gsize length, guint width, gboolean last)
{
	if (length == 1 && value[0] == '*')
		return VV_FIELD_WILDCARD;
	if (last && length == width + 1 && value[width] == '*')
		length = width; /* modpost's trailing star */
	if (length == width && strcspn(value, "*?[") >= length)
		return VV_FIELD_EXACT;
	return VV_FIELD_GLOB;
}

/* Rank PATTERN ("vfio_pci:v...d...") into RANK. Returns FALSE (and rank 0)
 * for a pattern that does not have the field layout of a PCI alias. */
gboolean
vv_alias_rank_pattern(const char *pattern, vv_alias_rank *rank)
{
	const char *p = strchr(pattern, ':');
	guint next = 0;

	memset(rank, 0, sizeof(*rank));
	if (!p)
		return FALSE;
	p++;

	while (*p) {
		gsize tag_length = 0, value_length;
		guint field;
		gboolean last;

		if (*p == '*' && next == 0 && p[1] == '\0')
			break; /* "vfio_pci:*": every field absent */
		while (g_ascii_islower(p[tag_length]))
			tag_length++;
		for (field = next; field < VV_ALIAS_FIELDS; field++)
			if (strlen(vv_alias_fields[field].tag) == tag_length &&
			    strncmp(p, vv_alias_fields[field].tag, tag_length) == 0)
				break;
		if (tag_length == 0 || field == VV_ALIAS_FIELDS) {
			memset(rank, 0, sizeof(*rank));
			return FALSE;
		}
		p += tag_length;
		value_length = 0;
		while (p[value_length] && !g_ascii_islower(p[value_length]))
			value_length++;
		last = p[value_length] == '\0';
		/* The trailing star also ends hand-written "v000015B3*". */
		rank->field[field] = vv_alias_field_kind(p, value_length, vv_alias_fields[field].width, last);
		p += value_length;
		next = field + 1;
	}

	for (guint i = 0; i < VV_ALIAS_FIELDS; i++) {
		rank->specificity += rank->field[i];
		rank->exact_fields += rank->field[i] == VV_FIELD_EXACT;
	}
	return TRUE;
}

/* Negative when A is more specific: by total, then field by field from the
 * vendor to the interface (a given vendor and device say more than a given
 * class). Zero when both rank alike. */
int
vv_alias_rank_compare(const vv_alias_rank *a, const vv_alias_rank *b)
{
	if (a->specificity != b->specificity)
		return a->specificity > b->specificity ? -1 : 1;
	for (guint i = 0; i < VV_ALIAS_FIELDS; i++)
		if (a->field[i] != b->field[i])
			return a->field[i] > b->field[i] ? -1 : 1;
	return 0;
}
