/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libvirt >= 10 binds by itself, and why it can differ from the
 * selection.
 *
 * libvirt's matcher is not libkmod's: it reads only the text modules.alias
 * (at most 8 MiB), keeps the `alias vfio_pci:... MODULE` lines, and compares
 * each of the seven fields either literally or as a whole-field `*`. The
 * match with the fewest `*` wins, the first line on a tie (a strict `<`);
 * no match gives vfio_pci. modprobe.d is read by nobody but `modprobe -b`,
 * which then refuses a blacklisted module, and the start fails.
 *
 * The text file is parsed once per context (only its vfio_pci: lines are
 * kept); each pick is then a scan of those few lines. Why the pick differs
 * is told from the selected candidate's side: where its alias comes from,
 * and how libvirt's matcher sees that module's lines.
 */
#include <errno.h>
#include <string.h>

#include "vv-private.h"

/* libvirt reads the file whole with this limit and fails past it. */
#define VV_LIBVIRT_ALIAS_MAX (8 * 1024 * 1024)
#define VV_LIBVIRT_ALIAS_PREFIX "vfio_pci:"

/* One `alias vfio_pci:... MODULE` line, its fields as libvirt splits them. */
typedef struct {
	guint line;
	char *pattern;
	char *module;
	char *field[VV_ALIAS_FIELDS]; /* NULL for a line libvirt cannot split: it never matches */
	guint stars;
} vv_libvirt_alias;

struct vv_libvirt_aliases {
	char *file;
	GError *error;     /* why the file cannot be read; NULL when it was */
	GPtrArray *lines;  /* vv_libvirt_alias, in file order */
};

struct vv_libvirt_pick {
	const char *file;  /* the context's (it outlives the selection) */
	char *module;
	guint line;
	char *pattern;
	vv_libvirt_pick_reason reason;
	char *chosen;      /* the selected module, NULL: none */
	guint chosen_line; /* its best line libvirt matches (tie-order), 0: none */
	const char *error; /* why the file cannot be read (the context's) */
	char *description; /* made on first request */
	char *model;       /* the selection's driver, for <driver model='...'/>; NULL: no suggestion */
	char *suggestion;
};

/* The device's seven fields as its modalias writes them ("%08X", "%02X"). */
typedef char vv_libvirt_device[VV_ALIAS_FIELDS][9];

static const char *const vv_libvirt_tags[VV_ALIAS_FIELDS] = { "v", "d", "sv", "sd", "bc", "sc", "i" };

static void
vv_libvirt_alias_free(vv_libvirt_alias *alias)
{
	g_free(alias->pattern);
	g_free(alias->module);
	for (guint i = 0; i < VV_ALIAS_FIELDS; i++)
		g_free(alias->field[i]);
	g_free(alias);
}

void
vv_libvirt_aliases_free(vv_libvirt_aliases *aliases)
{
	if (!aliases)
		return;
	g_free(aliases->file);
	g_clear_error(&aliases->error);
	g_ptr_array_unref(aliases->lines);
	g_free(aliases);
}

/* Split "v...d...sv...sd...bc...sc...i..." (after the prefix) as libvirt
 * does: skip the leading "v", then each value runs up to the first
 * occurrence of the next tag; the interface is the rest, a trailing `*`
 * included. A line without every tag is one libvirt cannot use. */
static gboolean
vv_libvirt_split_fields(const char *text, char **field)
{
	const char *p = text;

	if (*p != 'v')
		return FALSE;
	p++;
	for (guint i = 1; i < VV_ALIAS_FIELDS; i++) {
		const char *tag = strstr(p, vv_libvirt_tags[i]);

		if (!tag)
			return FALSE;
		field[i - 1] = g_strndup(p, tag - p);
		p = tag + strlen(vv_libvirt_tags[i]);
	}
	field[VV_ALIAS_FIELDS - 1] = g_strdup(p);
	return TRUE;
}

static void
vv_libvirt_add_line(GPtrArray *lines, guint number, const char *pattern, const char *module)
{
	vv_libvirt_alias *alias = g_new0(vv_libvirt_alias, 1);

	alias->line = number;
	alias->pattern = g_strdup(pattern);
	alias->module = g_strdup(module);
	if (!vv_libvirt_split_fields(pattern + strlen(VV_LIBVIRT_ALIAS_PREFIX), alias->field)) {
		for (guint i = 0; i < VV_ALIAS_FIELDS; i++)
			g_clear_pointer(&alias->field[i], g_free);
	}
	for (guint i = 0; i < VV_ALIAS_FIELDS; i++)
		alias->stars += alias->field[i] && g_str_equal(alias->field[i], "*");
	g_ptr_array_add(lines, alias);
}

/* Keep the `alias vfio_pci:PATTERN MODULE` lines of TEXT (LENGTH bytes,
 * NUL-terminated), numbered from 1. Only those few lines are split: a
 * distribution's file has tens of thousands of others. */
static void
vv_libvirt_parse(GPtrArray *lines, char *text, gsize length)
{
	static const char prefix[] = "alias " VV_LIBVIRT_ALIAS_PREFIX;
	char *end = text + length;
	guint number = 0;

	for (char *line = text; line < end;) {
		char *next = memchr(line, '\n', end - line);

		if (next)
			*next = '\0';
		number++;
		if (strncmp(line, prefix, sizeof(prefix) - 1) == 0) {
			g_auto(GStrv) words = g_strsplit_set(line, " \t", -1);
			const char *word[3] = { NULL };
			guint n = 0;

			for (guint i = 0; words[i]; i++) {
				if (!*words[i])
					continue;
				if (n < 3)
					word[n] = words[i];
				n++;
			}
			if (n == 3)
				vv_libvirt_add_line(lines, number, word[1], word[2]);
		}
		if (!next)
			break;
		line = next + 1;
	}
}

/* The context's parsed modules.alias, read on first use. */
static vv_libvirt_aliases *
vv_libvirt_aliases_get(vv_ctx *ctx)
{
	vv_libvirt_aliases *aliases = ctx->libvirt_aliases;
	g_autofree char *text = NULL;
	gsize length = 0;

	if (aliases)
		return aliases;
	aliases = g_new0(vv_libvirt_aliases, 1);
	aliases->file = g_build_filename(ctx->modules_dir, "modules.alias", NULL);
	aliases->lines = g_ptr_array_new_with_free_func((GDestroyNotify)vv_libvirt_alias_free);
	text = vv_file_read(ctx, aliases->file, VV_LIBVIRT_ALIAS_MAX, VV_READ_SIZED, &length, &aliases->error);
	if (text)
		vv_libvirt_parse(aliases->lines, text, length);
	ctx->libvirt_aliases = aliases;
	return aliases;
}

/* libvirt's field compare: equal text, or the whole field is `*`. */
static gboolean
vv_libvirt_matches(const vv_libvirt_alias *alias, const vv_libvirt_device device)
{
	if (!alias->field[0])
		return FALSE;
	for (guint i = 0; i < VV_ALIAS_FIELDS; i++)
		if (!g_str_equal(alias->field[i], "*") && !g_str_equal(alias->field[i], device[i]))
			return FALSE;
	return TRUE;
}

static void
vv_libvirt_device_fields(vv_device *device, vv_libvirt_device field)
{
	guint32 class = vv_device_get_class(device);

	g_snprintf(field[0], sizeof(field[0]), "%08X", vv_device_get_vendor_id(device));
	g_snprintf(field[1], sizeof(field[1]), "%08X", vv_device_get_device_id(device));
	g_snprintf(field[2], sizeof(field[2]), "%08X", vv_device_get_subsystem_vendor_id(device));
	g_snprintf(field[3], sizeof(field[3]), "%08X", vv_device_get_subsystem_device_id(device));
	g_snprintf(field[4], sizeof(field[4]), "%02X", (class >> 16) & 0xff);
	g_snprintf(field[5], sizeof(field[5]), "%02X", (class >> 8) & 0xff);
	g_snprintf(field[6], sizeof(field[6]), "%02X", class & 0xff);
}

/* libvirt's pick: the match with the fewest `*`, the first on a tie. */
static const vv_libvirt_alias *
vv_libvirt_best(GPtrArray *lines, const vv_libvirt_device device)
{
	const vv_libvirt_alias *best = NULL;

	for (guint i = 0; i < lines->len; i++) {
		const vv_libvirt_alias *alias = g_ptr_array_index(lines, i);

		if (vv_libvirt_matches(alias, device) && (!best || alias->stars < best->stars))
			best = alias;
	}
	return best;
}

/* Why libvirt does not pick SELECTED from modules.alias, told from that
 * module's own lines: which of them libvirt matches, which only a glob
 * would. BEST is libvirt's pick (NULL: vfio_pci by default). */
static vv_libvirt_pick_reason
vv_libvirt_explain_miss(GPtrArray *lines, const vv_libvirt_device device, const char *key, const vv_candidate *selected,
			const vv_libvirt_alias *best, guint *selected_line)
{
	const vv_libvirt_alias *own = NULL;
	gboolean globbed = FALSE;

	switch (vv_candidate_get_source(selected)) {
	case VV_ALIAS_SOURCE_BUILTIN:
		return VV_LIBVIRT_PICK_BUILTIN;
	case VV_ALIAS_SOURCE_CONFIG:
		return VV_LIBVIRT_PICK_MODPROBE_ALIAS;
	case VV_ALIAS_SOURCE_POLICY:
		return VV_LIBVIRT_PICK_POLICY;
	case VV_ALIAS_SOURCE_MODULES_ALIAS:
		break;
	}
	for (guint i = 0; i < lines->len; i++) {
		const vv_libvirt_alias *alias = g_ptr_array_index(lines, i);

		if (!vv_names_equal_folded(alias->module, vv_candidate_get_module(selected)))
			continue;
		if (vv_libvirt_matches(alias, device)) {
			if (!own || alias->stars < own->stars)
				own = alias;
		} else if (vv_alias_matches(alias->pattern, key)) {
			globbed = TRUE;
		}
	}
	if (own) {
		*selected_line = own->line;
		/* BEST cannot be NULL here: OWN matches. */
		return best && own->stars == best->stars ? VV_LIBVIRT_PICK_TIE_ORDER : VV_LIBVIRT_PICK_FEWER_STARS;
	}
	return globbed ? VV_LIBVIRT_PICK_GLOB_FIELD : VV_LIBVIRT_PICK_NOT_IN_TEXT;
}

static char *
vv_libvirt_describe(const vv_libvirt_pick *pick)
{
	const char *module = pick->module;
	const char *chosen = pick->chosen;

	switch (pick->reason) {
	case VV_LIBVIRT_PICK_SAME:
		if (pick->line)
			return g_strdup_printf(_("libvirt >= 10 picks %1$s too, from line %2$u of %3$s."),
					       module, pick->line, pick->file);
		return g_strdup_printf(_("libvirt >= 10 finds no matching line in %1$s and binds %2$s too."),
				       pick->file, module);
	case VV_LIBVIRT_PICK_NO_MODULES_ALIAS:
		return g_strdup_printf(_("libvirt >= 10 would fail to pick a driver: %1$s does not exist, and libvirt reads no other alias source."),
				       pick->file);
	case VV_LIBVIRT_PICK_UNREADABLE:
		return g_strdup_printf(_("libvirt >= 10 would fail to pick a driver: %1$s"), pick->error);
	case VV_LIBVIRT_PICK_BLACKLISTED:
		return g_strdup_printf(_("libvirt >= 10 would load %1$s, which modprobe.d blacklists: `modprobe -b %1$s` loads nothing, and libvirt fails the start or the detach."),
				       module);
	case VV_LIBVIRT_PICK_NO_MODULE:
		return g_strdup_printf(_("libvirt >= 10 would load %1$s, which this host does not have (neither a module nor built in), and libvirt fails the start or the detach."),
				       module);
	case VV_LIBVIRT_PICK_NOTHING_SELECTED:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s, while vfio-variant selects no driver for this device."),
				       module);
	case VV_LIBVIRT_PICK_POLICY:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s, while the policy chooses %2$s: libvirt does not read vfio-variant's policy."),
				       module, chosen);
	case VV_LIBVIRT_PICK_GLOB_FIELD:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s: the alias of %2$s matches this device only as a glob, and libvirt compares each field literally or as a whole-field `*`."),
				       module, chosen);
	case VV_LIBVIRT_PICK_BUILTIN:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s: %2$s is built into the kernel, and built-in aliases are not in %3$s."),
				       module, chosen, pick->file);
	case VV_LIBVIRT_PICK_MODPROBE_ALIAS:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s: %2$s matches through a modprobe.d alias, and libvirt does not read modprobe.d."),
				       module, chosen);
	case VV_LIBVIRT_PICK_NOT_IN_TEXT:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s: the alias of %2$s is in modules.alias.bin but not in %3$s, which is out of date."),
				       module, chosen, pick->file);
	case VV_LIBVIRT_PICK_TIE_ORDER:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s: %2$s matches with as many `*` fields, and libvirt takes the earlier line (%3$u, against %4$u), while vfio-variant ranks field by field and then by module name."),
				       module, chosen, pick->line, pick->chosen_line);
	case VV_LIBVIRT_PICK_FEWER_STARS:
		return g_strdup_printf(_("libvirt >= 10 would bind %1$s: its line has fewer `*` fields than any line of %2$s, and libvirt counts only whole-field `*`."),
				       module, chosen);
	}
	return g_strdup("");
}

void
vv_libvirt_pick_free(vv_libvirt_pick *pick)
{
	if (!pick)
		return;
	g_free(pick->module);
	g_free(pick->pattern);
	g_free(pick->chosen);
	g_free(pick->description);
	g_free(pick->model);
	g_free(pick->suggestion);
	g_free(pick);
}

vv_libvirt_pick *
vv_libvirt_pick_new(vv_ctx *ctx, const vv_selection *selection)
{
	vv_libvirt_aliases *aliases = vv_libvirt_aliases_get(ctx);
	const vv_candidate *selected = vv_selection_get_selected(selection);
	vv_libvirt_pick *pick = g_new0(vv_libvirt_pick, 1);
	vv_libvirt_device device;
	const vv_libvirt_alias *best;

	pick->file = aliases->file;
	pick->chosen = selected ? g_strdup(vv_candidate_get_module(selected)) : NULL;
	if (aliases->error) {
		pick->error = aliases->error->message;
		pick->reason = g_error_matches(aliases->error, VV_ERROR, VV_ERROR_NOT_FOUND) ?
				       VV_LIBVIRT_PICK_NO_MODULES_ALIAS : VV_LIBVIRT_PICK_UNREADABLE;
		goto described;
	}

	vv_libvirt_device_fields(vv_selection_get_device(selection), device);
	best = vv_libvirt_best(aliases->lines, device);
	pick->module = g_strdup(best ? best->module : VV_VFIO_PCI_MODULE);
	if (best) {
		pick->line = best->line;
		pick->pattern = g_strdup(best->pattern);
	}

	/* A line's module is one depmod indexed; the vfio_pci libvirt falls
	 * back to may be absent altogether. */
	if (!best && !vv_moddb_is_builtin_module(ctx->moddb, pick->module) && !vv_module_exists(ctx, pick->module))
		pick->reason = VV_LIBVIRT_PICK_NO_MODULE;
	else if (vv_moddb_is_blacklisted(ctx->moddb, pick->module) && !vv_moddb_is_builtin_module(ctx->moddb, pick->module))
		pick->reason = VV_LIBVIRT_PICK_BLACKLISTED;
	else if (!selected)
		pick->reason = VV_LIBVIRT_PICK_NOTHING_SELECTED;
	else if (vv_names_equal_folded(vv_candidate_get_module(selected), pick->module))
		pick->reason = VV_LIBVIRT_PICK_SAME;
	else if (vv_policy_get_action(vv_selection_get_policy(selection)) != VV_POLICY_AUTO)
		pick->reason = VV_LIBVIRT_PICK_POLICY;
	else
		pick->reason = vv_libvirt_explain_miss(aliases->lines, device, vv_selection_get_key(selection),
						       selected, best, &pick->chosen_line);

described:
	if (selected && pick->reason != VV_LIBVIRT_PICK_SAME) {
		const char *name = vv_candidate_get_driver(selected);

		if (!name)
			name = vv_candidate_is_generic(selected) ? VV_VFIO_PCI_DRIVER : vv_candidate_get_module(selected);
		pick->model = g_strdup(name);
		pick->suggestion = g_markup_printf_escaped("<driver model='%s'/>", name);
	}
	return pick;
}

VV_EXPORT const char *vv_libvirt_pick_get_module(const vv_libvirt_pick *pick) { return pick->module; }
VV_EXPORT guint vv_libvirt_pick_get_line(const vv_libvirt_pick *pick) { return pick->line; }
VV_EXPORT const char *vv_libvirt_pick_get_pattern(const vv_libvirt_pick *pick) { return pick->pattern; }
VV_EXPORT const char *vv_libvirt_pick_get_file(const vv_libvirt_pick *pick) { return pick->file; }
VV_EXPORT gboolean vv_libvirt_pick_is_same(const vv_libvirt_pick *pick) { return pick->reason == VV_LIBVIRT_PICK_SAME; }
VV_EXPORT vv_libvirt_pick_reason vv_libvirt_pick_get_reason(const vv_libvirt_pick *pick) { return pick->reason; }
VV_EXPORT const char *
vv_libvirt_pick_describe(const vv_libvirt_pick *pick)
{
	if (!pick->description)
		((vv_libvirt_pick *)pick)->description = vv_libvirt_describe(pick);
	return pick->description;
}
const char *vv_libvirt_pick_get_model(const vv_libvirt_pick *pick) { return pick->model; }
VV_EXPORT const char *vv_libvirt_pick_get_suggestion(const vv_libvirt_pick *pick) { return pick->suggestion; }

VV_EXPORT gboolean
vv_libvirt_pick_fails(const vv_libvirt_pick *pick)
{
	return pick->reason == VV_LIBVIRT_PICK_NO_MODULES_ALIAS || pick->reason == VV_LIBVIRT_PICK_UNREADABLE ||
	       pick->reason == VV_LIBVIRT_PICK_BLACKLISTED || pick->reason == VV_LIBVIRT_PICK_NO_MODULE;
}

VV_EXPORT const char *
vv_libvirt_pick_reason_to_string(vv_libvirt_pick_reason reason)
{
	switch (reason) {
	case VV_LIBVIRT_PICK_SAME: return "same";
	case VV_LIBVIRT_PICK_NO_MODULES_ALIAS: return "no-modules-alias";
	case VV_LIBVIRT_PICK_UNREADABLE: return "modules-alias-unreadable";
	case VV_LIBVIRT_PICK_BLACKLISTED: return "blacklisted";
	case VV_LIBVIRT_PICK_NOTHING_SELECTED: return "nothing-selected";
	case VV_LIBVIRT_PICK_POLICY: return "policy";
	case VV_LIBVIRT_PICK_GLOB_FIELD: return "glob-field";
	case VV_LIBVIRT_PICK_BUILTIN: return "builtin";
	case VV_LIBVIRT_PICK_MODPROBE_ALIAS: return "modprobe-alias";
	case VV_LIBVIRT_PICK_NOT_IN_TEXT: return "not-in-text";
	case VV_LIBVIRT_PICK_TIE_ORDER: return "tie-order";
	case VV_LIBVIRT_PICK_FEWER_STARS: return "fewer-stars";
	case VV_LIBVIRT_PICK_NO_MODULE: return "no-module";
	}
	return "unknown";
}
