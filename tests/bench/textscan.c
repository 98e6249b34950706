/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt >= 10's variant chooser, as notes/libvirt.md describes it, for the
 * benchmark to measure against. For every device it:
 *   - opens and reads the whole text MODULES_DIR/modules.alias again;
 *   - keeps the `alias vfio_pci:PATTERN MODULE` lines;
 *   - splits PATTERN and the device's modalias into the seven fields
 *     v d sv sd bc sc i;
 *   - takes a field as matching only when it is exactly "*" or equal to the
 *     device's value (no fnmatch: "i00*" or "bc03sc*" never match);
 *   - keeps the matching line with the fewest "*" fields, the first on a tie.
 * It ignores modules.builtin.alias and modprobe.d, as libvirt does. The scan
 * itself is kept lean (no per-line allocation) so that the comparison
 * measures the approach, not a slow implementation of it.
 */
#include <string.h>

#include <glib.h>

#include "textscan.h"

#define TEXTSCAN_PREFIX "alias vfio_pci:"

enum { TEXTSCAN_FIELDS = 7 };

static const char *const textscan_tags[TEXTSCAN_FIELDS] = { "v", "d", "sv", "sd", "bc", "sc", "i" };

typedef struct {
	const char *value[TEXTSCAN_FIELDS];
	gsize length[TEXTSCAN_FIELDS];
} textscan_fields;

/* Split TEXT (what follows "pci:" or "vfio_pci:", up to END) into the seven
 * fields. Tags are lower case, values upper-case hex or "*". FALSE when the
 * layout is not v..d..sv..sd..bc..sc..i.. */
static gboolean
textscan_split(const char *text, const char *end, textscan_fields *fields)
{
	const char *p = text;

	for (guint i = 0; i < TEXTSCAN_FIELDS; i++) {
		gsize tag_length = strlen(textscan_tags[i]);
		const char *value;

		if ((gsize)(end - p) < tag_length || memcmp(p, textscan_tags[i], tag_length) != 0)
			return FALSE;
		value = p + tag_length;
		p = value;
		while (p < end && !g_ascii_islower(*p))
			p++;
		fields->value[i] = value;
		fields->length[i] = p - value;
	}
	return p == end;
}

static gboolean
textscan_field_matches(const textscan_fields *pattern, const textscan_fields *device, guint i)
{
	if (pattern->length[i] == 1 && pattern->value[i][0] == '*')
		return TRUE;
	return pattern->length[i] == device->length[i] &&
	       memcmp(pattern->value[i], device->value[i], device->length[i]) == 0;
}

char *
vv_textscan_select(const char *modules_dir, const char *modalias)
{
	g_autofree char *path = g_build_filename(modules_dir, "modules.alias", NULL);
	g_autofree char *text = NULL;
	const char *device_text = strchr(modalias, ':');
	textscan_fields device;
	const char *best = NULL;
	gsize best_length = 0;
	guint best_wildcards = G_MAXUINT;
	gsize length;

	if (!device_text || !textscan_split(device_text + 1, modalias + strlen(modalias), &device))
		return NULL;
	if (!g_file_get_contents(path, &text, &length, NULL))
		return NULL;

	for (const char *line = text; line < text + length;) {
		const char *eol = memchr(line, '\n', text + length - line);
		const char *pattern, *pattern_end, *module, *module_end;
		textscan_fields fields;
		guint wildcards = 0;
		guint i;

		if (!eol)
			eol = text + length;
		if ((gsize)(eol - line) <= strlen(TEXTSCAN_PREFIX) ||
		    memcmp(line, TEXTSCAN_PREFIX, strlen(TEXTSCAN_PREFIX)) != 0)
			goto next;

		pattern = line + strlen(TEXTSCAN_PREFIX);
		pattern_end = memchr(pattern, ' ', eol - pattern);
		if (!pattern_end || !textscan_split(pattern, pattern_end, &fields))
			goto next;
		for (i = 0; i < TEXTSCAN_FIELDS; i++) {
			if (!textscan_field_matches(&fields, &device, i))
				break;
			wildcards += fields.length[i] == 1 && fields.value[i][0] == '*';
		}
		if (i < TEXTSCAN_FIELDS || wildcards >= best_wildcards)
			goto next;

		module = pattern_end + 1;
		module_end = module;
		while (module_end < eol && !g_ascii_isspace(*module_end))
			module_end++;
		best = module;
		best_length = module_end - module;
		best_wildcards = wildcards;
next:
		line = eol + 1;
	}
	return best ? g_strndup(best, best_length) : NULL;
}

int
vv_textscan_count_aliases(const char *modules_dir)
{
	g_autofree char *path = g_build_filename(modules_dir, "modules.alias", NULL);
	g_autofree char *text = NULL;
	int count = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -1;
	for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		count += g_str_has_prefix(line, TEXTSCAN_PREFIX);
	return count;
}
