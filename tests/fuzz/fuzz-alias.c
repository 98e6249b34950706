/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness: the ranking and matching of `vfio_pci:` alias
 * patterns (src/lib/vv-alias.c), which read every pattern of a module index.
 * The input is a pattern, then after the first newline a modalias key.
 * Beyond not crashing: vv_alias_matches() answers exactly as fnmatch()
 * (its literal-head shortcut must never change the answer), and a rank
 * stays within the seven fields.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vv-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_strndup((const char *)data, size);
	char *newline = strchr(text, '\n');
	const char *pattern = text;
	const char *key = newline ? newline + 1 : "";
	vv_alias_rank rank, again;
	guint sum = 0, exact = 0;

	if (newline)
		*newline = '\0';
	if (vv_alias_matches(pattern, key) != (fnmatch(pattern, key, 0) == 0))
		abort();
	if (!vv_alias_rank_pattern(pattern, &rank)) {
		if (rank.specificity || rank.exact_fields)
			abort();
		return 0;
	}
	for (guint i = 0; i < VV_ALIAS_FIELDS; i++) {
		if (rank.field[i] > VV_FIELD_EXACT)
			abort();
		sum += rank.field[i];
		exact += rank.field[i] == VV_FIELD_EXACT;
	}
	if (sum != rank.specificity || exact != rank.exact_fields)
		abort();
	/* Ranking is a function of the pattern alone. */
	if (!vv_alias_rank_pattern(pattern, &again) || vv_alias_rank_compare(&rank, &again) != 0)
		abort();
	return 0;
}
