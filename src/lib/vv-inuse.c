/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Does the host visibly use a device? Taking a device away from a driver
 * that carries the host's network or file systems cuts the machine off or
 * loses data, so detach refuses unless forced. Visible use is:
 *   - a network interface of the device that is up (operstate "up", or
 *     IFF_UP in flags: an interface can be up with its link down);
 *   - a block device of it (or a partition) that is mounted, used as swap,
 *     or held by another block device (device-mapper, md).
 * "Of the device" means below its directory in sysfs: the class links
 * (class/net/NAME, class/block/NAME) are resolved, which covers every
 * layout (NVMe namespaces, SCSI disks behind an HBA, virtio children).
 */
#include <stdlib.h>
#include <string.h>

#include "vv-private.h"

#define VV_IFF_UP 0x1
/* proc's tables report no size; a host with many mounts has a mountinfo of
 * a few MiB at most (about 150 bytes a mount). */
#define VV_INUSE_TABLE_MAX (64 * 1024 * 1024)

/* Entries of sys/class/CLASS whose device lies below DEVICE_DIR. */
static GPtrArray *
vv_inuse_class_members(vv_ctx *ctx, const char *class, const char *device_dir)
{
	g_autofree char *class_dir = vv_sysfs_class_file(ctx, class, NULL, NULL);
	g_autoptr(GPtrArray) names = vv_sysfs_list(ctx, class_dir);
	GPtrArray *members = g_ptr_array_new_with_free_func(g_free);
	size_t length = strlen(device_dir);

	for (guint i = 0; i < names->len; i++) {
		g_autofree char *link = vv_sysfs_entry(class_dir, g_ptr_array_index(names, i));
		g_autofree char *resolved = vv_sysfs_realpath(ctx, link);

		if (resolved && strncmp(resolved, device_dir, length) == 0 && resolved[length] == '/')
			g_ptr_array_add(members, g_strdup(g_ptr_array_index(names, i)));
	}
	return members;
}

/* The interface in DIR is up. */
static gboolean
vv_inuse_net_up(vv_ctx *ctx, const char *dir)
{
	g_autofree char *operstate = vv_sysfs_entry(dir, "operstate");
	g_autofree char *flags_path = vv_sysfs_entry(dir, "flags");
	g_autofree char *state = vv_sysfs_read_attribute(ctx, operstate, NULL);
	guint32 flags = 0;

	if (state && g_str_equal(state, "up"))
		return TRUE;
	return vv_sysfs_read_u32(ctx, flags_path, &flags, NULL) && (flags & VV_IFF_UP);
}

/* The mount table of the sysroot's host: mountinfo gives major:minor and
 * the source, the older mounts file only the source. */
static char *
vv_inuse_read_mounts(vv_ctx *ctx, gboolean *is_mountinfo)
{
	g_autofree char *mountinfo = vv_sysfs_proc_file(ctx, "self", "mountinfo");
	g_autofree char *mounts = vv_sysfs_proc_file(ctx, NULL, "mounts");
	char *text = NULL;

	text = vv_file_read(ctx, mountinfo, VV_INUSE_TABLE_MAX, 0, NULL, NULL);
	*is_mountinfo = text != NULL;
	return text ? text : vv_file_read(ctx, mounts, VV_INUSE_TABLE_MAX, 0, NULL, NULL);
}

/* Is block device NAME (major:minor DEV, may be NULL) in the mount table? */
static char *
vv_inuse_mount_point(const char *table, gboolean is_mountinfo, const char *name, const char *dev)
{
	g_auto(GStrv) lines = g_strsplit(table ? table : "", "\n", -1);
	g_autofree char *source = g_strconcat("/dev/", name, NULL);

	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) fields = g_strsplit(lines[i], " ", -1);
		guint n = g_strv_length(fields);

		if (is_mountinfo) {
			/* ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER */
			guint dash = 6;

			while (dash < n && !g_str_equal(fields[dash], "-"))
				dash++;
			if (n < 5)
				continue;
			if ((dev && g_str_equal(fields[2], dev)) ||
			    (dash + 2 < n && g_str_equal(fields[dash + 2], source)))
				return g_strdup(fields[4]);
		} else if (n >= 2 && g_str_equal(fields[0], source)) {
			return g_strdup(fields[1]);
		}
	}
	return NULL;
}

static gboolean
vv_inuse_swap(vv_ctx *ctx, const char *name)
{
	g_autofree char *swaps = vv_sysfs_proc_file(ctx, NULL, "swaps");
	g_autofree char *text = NULL;
	g_autofree char *source = g_strconcat("/dev/", name, " ", NULL);

	text = vv_file_read(ctx, swaps, VV_INUSE_TABLE_MAX, 0, NULL, NULL);
	return text && strstr(text, source);
}

/* The same checks for callers outside the library (the qemu hook refuses
 * to give a guest what the host uses, as vv_detach() does). */
VV_EXPORT GPtrArray *
vv_ctx_find_host_uses(vv_ctx *ctx, const char *device, GError **error)
{
	g_autofree char *address = vv_address_parse(device, error);
	g_autofree char *device_dir = NULL;

	if (!address)
		return NULL;
	device_dir = vv_sysfs_device_dir(ctx, address);
	if (!vv_sysfs_is_dir(ctx, device_dir)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND, _("There is no PCI device %1$s (no %2$s)."),
			    address, device_dir);
		return NULL;
	}
	return vv_inuse_find(ctx, address);
}

/* One translated phrase per visible use of ADDRESS (a public list of
 * strings); empty when none. */
GPtrArray *
vv_inuse_find(vv_ctx *ctx, const char *address)
{
	g_autofree char *device_link = vv_sysfs_device_dir(ctx, address);
	g_autoptr(GPtrArray) uses = vv_list_new(g_free);
	g_autoptr(GHashTable) interfaces = NULL;
	g_autofree GStrv names = NULL;
	g_autoptr(GPtrArray) disks = NULL;
	g_autofree char *table = NULL;
	g_autofree char *device_dir = vv_sysfs_realpath(ctx, device_link);
	gboolean is_mountinfo;

	if (!device_dir)
		return g_steal_pointer(&uses);

	/* Interfaces by name -> directory: class/net's links cover children
	 * (virtio0/net/...), the device's own net/ a partial copy of a host
	 * that lacks class/net. */
	interfaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	{
		g_autofree char *own_dir = vv_sysfs_entry(device_dir, "net");
		g_autofree char *class_dir = vv_sysfs_class_file(ctx, "net", NULL, NULL);
		g_autoptr(GPtrArray) own = vv_sysfs_list(ctx, own_dir);
		g_autoptr(GPtrArray) linked = vv_inuse_class_members(ctx, "net", device_dir);

		for (guint i = 0; i < own->len; i++)
			g_hash_table_replace(interfaces, g_strdup(own->pdata[i]),
					     vv_sysfs_entry(own_dir, own->pdata[i]));
		for (guint i = 0; i < linked->len; i++)
			g_hash_table_replace(interfaces, g_strdup(linked->pdata[i]),
					     vv_sysfs_entry(class_dir, linked->pdata[i]));
	}
	names = (GStrv)g_hash_table_get_keys_as_array(interfaces, NULL);
	qsort(names, g_strv_length(names), sizeof(char *), vv_name_compare);
	for (guint i = 0; names[i]; i++)
		if (vv_inuse_net_up(ctx, g_hash_table_lookup(interfaces, names[i])))
			g_ptr_array_add(uses, g_strdup_printf(_("its network interface %s is up"), names[i]));

	table = vv_inuse_read_mounts(ctx, &is_mountinfo);
	disks = vv_inuse_class_members(ctx, "block", device_dir);
	for (guint i = 0; i < disks->len; i++) {
		const char *name = g_ptr_array_index(disks, i);
		g_autofree char *dev_path = vv_sysfs_class_file(ctx, "block", name, "dev");
		g_autofree char *holders_path = vv_sysfs_class_file(ctx, "block", name, "holders");
		g_autofree char *dev = vv_sysfs_read_attribute(ctx, dev_path, NULL);
		g_autofree char *point = vv_inuse_mount_point(table, is_mountinfo, name, dev);
		g_autoptr(GPtrArray) holders = vv_sysfs_list(ctx, holders_path);

		if (point)
			g_ptr_array_add(uses, g_strdup_printf(_("its block device %1$s is mounted on %2$s"), name, point));
		if (vv_inuse_swap(ctx, name))
			g_ptr_array_add(uses, g_strdup_printf(_("its block device %s is used as swap"), name));
		if (holders->len > 0)
			g_ptr_array_add(uses, g_strdup_printf(_("its block device %1$s is held by %2$s"),
								 name, (char *)g_ptr_array_index(holders, 0)));
	}
	return g_steal_pointer(&uses);
}

/*
 * A process that has the VFIO group's character device open (a running
 * guest's qemu, or any VFIO user): its "PID (comm)", or NULL when none is
 * seen. Read from the links SYSROOT/proc/PID/fd/N; on the live host a
 * process whose fds cannot be read (another user's, without root) is not
 * seen. The kernel refuses a host driver's probe in a group held this way
 * (since 5.19), and the guest loses the group's viability otherwise.
 */
char *
vv_inuse_group_opener(vv_ctx *ctx, int group)
{
	g_autofree char *proc = vv_sysfs_proc_file(ctx, NULL, NULL);
	g_autofree char *target = g_strdup_printf("/dev/vfio/%d", group);
	g_autoptr(GPtrArray) pids = vv_sysfs_list(ctx, proc);

	if (group < 0)
		return NULL;
	for (guint i = 0; i < pids->len; i++) {
		const char *pid = g_ptr_array_index(pids, i);
		g_autofree char *fd_dir = NULL;
		g_autoptr(GPtrArray) fds = NULL;

		if (!*pid || pid[strspn(pid, "0123456789")])
			continue;
		fd_dir = vv_sysfs_proc_file(ctx, pid, "fd");
		fds = vv_sysfs_list(ctx, fd_dir);
		for (guint j = 0; j < fds->len; j++) {
			g_autofree char *link = vv_sysfs_entry(fd_dir, g_ptr_array_index(fds, j));
			g_autofree char *points = vv_sysfs_read_link(ctx, link);

			if (g_strcmp0(points, target) == 0) {
				g_autofree char *comm_path = vv_sysfs_proc_file(ctx, pid, "comm");
				g_autofree char *comm = vv_sysfs_read_attribute(ctx, comm_path, NULL);

				return comm ? g_strdup_printf("%s (%s)", pid, comm) : g_strdup(pid);
			}
		}
	}
	return NULL;
}
