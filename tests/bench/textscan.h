/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reference the benchmark compares with: libvirt >= 10's way of choosing
 * a VFIO variant driver (see docs and notes/libvirt.md), written again from
 * its description. Not part of the library, and not a correct chooser: it
 * is what peers do, kept here to be measured against.
 */
#pragma once

/* Re-read MODULES_DIR/modules.alias and return the module (newly allocated,
 * g_free() it) of the `alias vfio_pci:` line that matches MODALIAS
 * ("pci:v...") with the fewest "*" fields, the first such line on a tie.
 * A field matches only when it is exactly "*" or equal to the device's.
 * NULL when nothing matches or the file cannot be read. */
char *vv_textscan_select(const char *modules_dir, const char *modalias);

/* The number of `alias vfio_pci:` lines in MODULES_DIR/modules.alias, -1
 * when it cannot be read. */
int vv_textscan_count_aliases(const char *modules_dir);
