/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error domain of the libvirt side (vv-virt.h lists its codes). */
#include "vv-virt.h"

G_DEFINE_QUARK(vv-virt-error-quark, vv_virt_error)
