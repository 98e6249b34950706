/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the harnesses that need a host share: a context on the fixture host
 * named by VV_FUZZ_HOST (a sysroot built for the tests), with its state in
 * a temporary directory, and writing an input to a file there.
 */
#pragma once

#include <vfio-variant/vfio-variant.h>

/* The context, once per process; STATE_DIR receives the temporary state
 * directory, CONFIG_FILE (when not NULL) is the policy file to read. */
vv_ctx *vv_fuzz_ctx(const char *config_file, char **state_dir);

/* A fresh temporary directory, removed at exit. */
char *vv_fuzz_tmpdir(void);

/* Replace PATH's content by DATA. */
void vv_fuzz_write(const char *path, const uint8_t *data, size_t size);
