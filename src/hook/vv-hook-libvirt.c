/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which libvirt runs the hook, without asking libvirt: the daemon waits
 * for its hook, so a hook that calls back into it (virConnectGetLibVersion)
 * deadlocks the daemon.
 *
 * libvirt runs a hook as a child of its daemon (libvirtd, or virtqemud
 * with the split daemons), and every daemon is linked against libvirt.so.0
 * (the drivers live in it). Its real file name carries the version:
 * libvirt's build names it libvirt.so.0.(MAJOR*1000+MINOR).MICRO, so
 * libvirt.so.0.9000.0 is 9.0.0 (Debian 12's libvirt0) and
 * libvirt.so.0.11003.0 is 11.3.0 (Debian 13). /proc/PID/maps names the
 * file the process has mapped, symbolic links resolved. That is one read
 * of a small file: cheap on the path of every guest start. It is the
 * version the daemon RUNS: after a package upgrade, before the daemon is
 * restarted, the file on disk and dpkg say the new version, while the map
 * still names the old file (marked "(deleted)"), which is the code that
 * will detach and reattach the devices. The daemon's binary has no
 * version in its name, and running it (`libvirtd --version`) would start
 * the program the hook must not disturb; its name in /proc/PID/comm says
 * only which daemon it is, which the log reports.
 *
 * The hook's parent is the daemon; when a script (the single-script
 * /etc/libvirt/hooks/qemu, say) runs the hook, the daemon is further up,
 * so the first few ancestors are read, the first that maps libvirt.so.0
 * wins. The process tree is always the real one (/proc/PID/stat); under a
 * --sysroot, the maps are read from SYSROOT/proc/PID/maps, so that a test
 * can lay out what a daemon would map. Nothing found: the version is
 * unknown, and the hook acts as for libvirt 9.0, whose workarounds are
 * safe on every version (they only cost rebinds). So does a map the hook
 * may not read (reading another process's map takes ptrace read access:
 * a daemon confined by AppArmor or without CAP_SYS_PTRACE may deny it).
 */
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>

#include "vv-hook.h"

/* Ancestors looked at: the daemon, or a script or two between. */
#define VV_HOOK_LIBVIRT_DEPTH 6
/* A daemon's map is a few hundred lines; more than this is not read. */
#define VV_HOOK_LIBVIRT_MAPS_MAX (4 * 1024 * 1024)

void
vv_hook_libvirt_clear(vv_hook_libvirt *libvirt)
{
	g_clear_pointer(&libvirt->source, g_free);
	libvirt->known = FALSE;
	libvirt->version = 0;
}

/* At most MAX bytes of PATH, NULL when it cannot be read; /proc files
 * have no size, so it is read to its end. */
static char *
vv_hook_libvirt_read(const char *path, gsize max)
{
	g_autoptr(GString) text = g_string_new(NULL);
	char buffer[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = read(fd, buffer, sizeof(buffer));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || text->len + (gsize)n > max) {
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		g_string_append_len(text, buffer, n);
	}
	close(fd);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

gboolean
vv_hook_libvirt_parse_version(const char *text, guint *version)
{
	g_auto(GStrv) parts = g_strsplit(text, ".", -1);
	guint64 value[3];

	if (g_strv_length(parts) != 3)
		return FALSE;
	for (guint i = 0; i < 3; i++)
		if (!g_ascii_string_to_unsigned(parts[i], 10, 0, 999, &value[i], NULL))
			return FALSE;
	if (value[0] == 0)
		return FALSE;
	*version = value[0] * 1000000 + value[1] * 1000 + value[2];
	return TRUE;
}

/* "…/libvirt.so.0.11003.0" or "… (deleted)": the version, 0 if none. */
static guint
vv_hook_libvirt_from_file_name(const char *path)
{
	const char *base = strrchr(path, '/');
	g_autofree char *name = g_strdup(base ? base + 1 : path);
	char *end;
	guint64 number, micro;

	if (g_str_has_suffix(name, " (deleted)"))
		name[strlen(name) - strlen(" (deleted)")] = '\0';
	if (!g_str_has_prefix(name, "libvirt.so.0."))
		return 0;
	number = g_ascii_strtoull(name + strlen("libvirt.so.0."), &end, 10);
	if (*end != '.' || end == name + strlen("libvirt.so.0.") || number < 1000 || number >= 1000000)
		return 0;
	if (!g_ascii_string_to_unsigned(end + 1, 10, 0, 999, &micro, NULL))
		return 0;
	return number * 1000 + micro;
}

/* The libvirt.so.0 that PID's map names, 0 if none; *FILE its path. */
static guint
vv_hook_libvirt_of_process(const char *sysroot, pid_t pid, char **file)
{
	g_autofree char *path = g_strdup_printf("%s/proc/%d/maps", sysroot ? sysroot : "", (int)pid);
	g_autofree char *maps = vv_hook_libvirt_read(path, VV_HOOK_LIBVIRT_MAPS_MAX);
	g_auto(GStrv) lines = NULL;

	if (!maps)
		return 0;
	lines = g_strsplit(maps, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		/* address perms offset dev inode   path */
		const char *slash = strchr(lines[i], '/');
		guint version;

		if (!slash || !(version = vv_hook_libvirt_from_file_name(slash)))
			continue;
		*file = g_strdup(slash);
		return version;
	}
	return 0;
}

/* PID's parent, from the real /proc/PID/stat; 0 when unknown. The name
 * in it may hold spaces and parentheses: the state and the parent follow
 * the last ')'. */
static pid_t
vv_hook_libvirt_parent_of(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *stat = vv_hook_libvirt_read(path, 64 * 1024);
	const char *close_paren = stat ? strrchr(stat, ')') : NULL;
	char state;
	int parent;

	if (!close_paren || sscanf(close_paren + 1, " %c %d", &state, &parent) != 2 || parent < 0)
		return 0;
	return parent;
}

static char *
vv_hook_libvirt_comm_of(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/comm", (int)pid);
	char *comm = vv_hook_libvirt_read(path, 4096);

	return comm ? g_strchomp(comm) : g_strdup("?");
}

void
vv_hook_libvirt_detect(const char *sysroot, const char *forced, vv_hook_libvirt *libvirt)
{
	pid_t pid = getppid();

	vv_hook_libvirt_clear(libvirt);
	if (forced) {
		if (vv_hook_libvirt_parse_version(forced, &libvirt->version)) {
			libvirt->known = TRUE;
			libvirt->source = g_strdup_printf(_("given as --libvirt-version %s"), forced);
		} else {
			libvirt->source = g_strdup_printf(_("--libvirt-version %s is not MAJOR.MINOR.MICRO"), forced);
		}
		return;
	}
	for (guint depth = 0; depth < VV_HOOK_LIBVIRT_DEPTH && pid > 1; depth++) {
		g_autofree char *file = NULL;
		guint version = vv_hook_libvirt_of_process(sysroot, pid, &file);

		if (version) {
			g_autofree char *comm = vv_hook_libvirt_comm_of(pid);

			libvirt->known = TRUE;
			libvirt->version = version;
			libvirt->source = g_strdup_printf(_("%1$s mapped by process %2$d (%3$s)"), file, (int)pid, comm);
			return;
		}
		pid = vv_hook_libvirt_parent_of(pid);
	}
	libvirt->source = g_strdup(_("no parent process maps libvirt.so.0 (was the hook run by hand, or is /proc hidden?)"));
}

gboolean
vv_hook_libvirt_at_least(const vv_hook_libvirt *libvirt, guint major, guint minor)
{
	/* Unknown: as for 9.0, the oldest this project supports. */
	guint version = libvirt->known ? libvirt->version : 9000000;

	return version >= major * 1000000 + minor * 1000;
}

char *
vv_hook_libvirt_to_string(const vv_hook_libvirt *libvirt)
{
	if (!libvirt->known)
		return g_strdup(_("unknown"));
	return g_strdup_printf("%u.%u.%u", libvirt->version / 1000000, libvirt->version / 1000 % 1000,
			       libvirt->version % 1000);
}

static gint
vv_hook_libvirt_compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The modprobe.d file whose `blacklist MODULE` line libvirt's
 * `modprobe -b` obeys, for the message only: the directories kmod reads,
 * in its order, under SYSROOT; NULL when none says so (the library knew
 * it from another source). Module names compare with '-' and '_' alike. */
char *
vv_hook_libvirt_blacklist_file(const char *sysroot, const char *module)
{
	static const char *const dirs[] = {
		"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
		"/usr/lib/modprobe.d",
	};
	g_autofree char *wanted = g_strdelimit(g_strdup(module), "-", '_');

	for (guint d = 0; d < G_N_ELEMENTS(dirs); d++) {
		g_autofree char *dir_path = g_strconcat(sysroot ? sysroot : "", dirs[d], NULL);
		g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
		g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
		const char *name;

		if (!dir)
			continue;
		while ((name = g_dir_read_name(dir)))
			if (g_str_has_suffix(name, ".conf"))
				g_ptr_array_add(names, g_strdup(name));
		g_ptr_array_sort(names, vv_hook_libvirt_compare_names);
		for (guint i = 0; i < names->len; i++) {
			g_autofree char *path = g_build_filename(dir_path, g_ptr_array_index(names, i), NULL);
			g_autofree char *text = vv_hook_libvirt_read(path, 1024 * 1024);
			g_auto(GStrv) lines = text ? g_strsplit(text, "\n", -1) : NULL;

			for (guint l = 0; lines && lines[l]; l++) {
				g_auto(GStrv) words = g_strsplit_set(g_strstrip(lines[l]), " \t", -1);
				guint n = 0;
				char *field[2] = { NULL, NULL };

				for (guint w = 0; words[w] && n < 2; w++)
					if (*words[w])
						field[n++] = words[w];
				if (n == 2 && g_str_equal(field[0], "blacklist") &&
				    g_str_equal(g_strdelimit(field[1], "-", '_'), wanted))
					return g_strconcat(dirs[d], "/", (char *)g_ptr_array_index(names, i), NULL);
			}
		}
	}
	return NULL;
}
