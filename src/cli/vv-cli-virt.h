/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the CLI's libvirt commands share (built only with libvirt). */
#pragma once

#include "vv-cli.h"
#include "virt/vv-virt.h"

/* vv-cli-virt-exit.c: the exit status of ERROR (VV_VIRT_ERROR's table;
 * another domain's through vv_cli_exit_status()), and what to do, for the
 * codes that have a hint (NULL otherwise). */
int vv_cli_virt_exit_status(const GError *error);
const char *vv_cli_virt_hint(const GError *error);
