/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the CLI's libvirt commands share (built only with libvirt). */
#pragma once

#include "vv-cli.h"
#include "virt/vv-virt.h"
