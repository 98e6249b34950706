/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PCI device model, read from sysfs once when the object is made. */
#include <stdio.h>
#include <string.h>

#include "vv-private.h"

struct vv_device {
	gint ref;
	vv_ctx *ctx;
	char *address;
	char *nodedev_name;
	guint16 vendor, device, subsystem_vendor, subsystem_device;
	guint32 class;
	char *modalias;
	char *driver;
	char *driver_module;
	char *driver_override;
	gboolean vfio_bound;
	int iommu_group;
	GPtrArray *group_members;
	gboolean bridge;
	char *physfn;
	GPtrArray *virtfns;
	guint sriov_numvfs, sriov_totalvfs;

	gboolean names_read;
	char *vendor_name;
	char *product_name;
};

static gboolean
vv_device_read_id(vv_device *device, const char *file, guint32 max, guint32 *value, GError **error)
{
	g_autofree char *path = vv_sysfs_device_file(device->ctx, device->address, file);

	if (!vv_sysfs_read_u32(device->ctx, path, value, error))
		return FALSE;
	if (*value > max) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%1$s holds 0x%2$x, which is out of range."), path, *value);
		return FALSE;
	}
	return TRUE;
}

/* The ids, from modalias in one read (one sysfs read costs microseconds,
 * and a host may have thousands of VFs); from the single-value files only
 * when modalias is missing or malformed. */
static gboolean
vv_device_read_ids(vv_device *device, GError **error)
{
	g_autofree char *path = vv_sysfs_device_file(device->ctx, device->address, "modalias");
	unsigned int vendor, product, subsystem_vendor, subsystem_device, base, sub, interface;
	guint32 value;
	int consumed = 0;

	device->modalias = vv_sysfs_read_attribute(device->ctx, path, NULL);
	if (device->modalias &&
	    sscanf(device->modalias, "pci:v%8Xd%8Xsv%8Xsd%8Xbc%2Xsc%2Xi%2X%n", &vendor, &product,
		   &subsystem_vendor, &subsystem_device, &base, &sub, &interface, &consumed) == 7 &&
	    consumed == (int)strlen(device->modalias) && vendor <= G_MAXUINT16 && product <= G_MAXUINT16 &&
	    subsystem_vendor <= G_MAXUINT16 && subsystem_device <= G_MAXUINT16) {
		device->vendor = vendor;
		device->device = product;
		device->subsystem_vendor = subsystem_vendor;
		device->subsystem_device = subsystem_device;
		device->class = base << 16 | sub << 8 | interface;
		return TRUE;
	}

	if (!vv_device_read_id(device, "vendor", G_MAXUINT16, &value, error))
		return FALSE;
	device->vendor = value;
	if (!vv_device_read_id(device, "device", G_MAXUINT16, &value, error))
		return FALSE;
	device->device = value;
	if (!vv_device_read_id(device, "subsystem_vendor", G_MAXUINT16, &value, error))
		return FALSE;
	device->subsystem_vendor = value;
	if (!vv_device_read_id(device, "subsystem_device", G_MAXUINT16, &value, error))
		return FALSE;
	device->subsystem_device = value;
	if (!vv_device_read_id(device, "class", 0xffffff, &device->class, error))
		return FALSE;
	g_free(device->modalias);
	device->modalias = g_strdup_printf("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
					   device->vendor, device->device,
					   device->subsystem_vendor, device->subsystem_device,
					   (device->class >> 16) & 0xff, (device->class >> 8) & 0xff,
					   device->class & 0xff);
	return TRUE;
}

static void
vv_device_read_driver(vv_device *device)
{
	g_autofree char *driver_link = vv_sysfs_device_file(device->ctx, device->address, "driver");
	g_autofree char *override = vv_sysfs_device_file(device->ctx, device->address, "driver_override");
	g_autofree char *vfio_dev = vv_sysfs_device_file(device->ctx, device->address, "vfio-dev");

	device->driver = vv_sysfs_link_name(device->ctx, driver_link);
	if (device->driver) {
		g_autofree char *driver_dir = vv_sysfs_driver_dir(device->ctx, device->driver);
		g_autofree char *module_link = g_build_filename(driver_dir, "module", NULL);

		device->driver_module = vv_sysfs_link_name(device->ctx, module_link);
	}

	/* The kernel shows an unset override as "(null)". */
	device->driver_override = vv_sysfs_read_attribute(device->ctx, override, NULL);
	if (device->driver_override &&
	    (!*device->driver_override || g_str_equal(device->driver_override, "(null)")))
		g_clear_pointer(&device->driver_override, g_free);

	device->vfio_bound = device->driver && vv_sysfs_is_dir(device->ctx, vfio_dev);
}

/* ADDRESS's IOMMU group number from its iommu_group link alone, -1 when it
 * has none (or the device is gone): all the binding engine reads before it
 * takes the group's lock. */
int
vv_device_read_iommu_group(const vv_ctx *ctx, const char *address)
{
	g_autofree char *link = vv_sysfs_device_file(ctx, address, "iommu_group");
	g_autofree char *group = vv_sysfs_link_name(ctx, link);
	guint64 number;

	if (group && g_ascii_string_to_unsigned(group, 10, 0, G_MAXINT, &number, NULL))
		return number;
	return -1;
}

static void
vv_device_read_group(vv_device *device)
{
	device->group_members = vv_list_new(g_free);
	device->iommu_group = vv_device_read_iommu_group(device->ctx, device->address);
	if (device->iommu_group >= 0) {
		g_autofree char *dir = NULL;
		g_autoptr(GPtrArray) names = NULL;

		dir = vv_sysfs_group_devices_dir(device->ctx, device->iommu_group);
		names = vv_sysfs_list(device->ctx, dir);
		for (guint i = 0; i < names->len; i++)
			g_ptr_array_add(device->group_members, g_steal_pointer(&names->pdata[i]));
	}
}

/* A header type other than "normal" (0) is a bridge or a CardBus bridge.
 * Only that byte is read: config space reads can be slow (each one traps
 * to the hypervisor in a VM), and a VF is always of the normal type. */
static void
vv_device_read_bridge(vv_device *device)
{
	g_autofree char *path = vv_sysfs_device_file(device->ctx, device->address, "config");
	guint8 base_class = device->class >> 16, sub_class = device->class >> 8;
	guint8 header_type;

	if (device->physfn)
		return;
	if (vv_sysfs_read_byte(device->ctx, path, 0x0e, &header_type))
		device->bridge = (header_type & 0x7f) != 0;
	else
		device->bridge = base_class == 0x06 && (sub_class == 0x04 || sub_class == 0x07);
}

/* Only a VF has physfn and only a PF has sriov_totalvfs; its VFs are the
 * links virtfn0 .. virtfn(numvfs-1). Both counts are the kernel's u16: a
 * larger one is no kernel's, and is not looped over. */
static gboolean
vv_device_read_sriov(vv_device *device, GError **error)
{
	g_autofree char *dir = vv_sysfs_device_dir(device->ctx, device->address);
	g_autofree char *physfn = g_build_filename(dir, "physfn", NULL);
	g_autofree char *numvfs = NULL;
	g_autofree char *totalvfs = NULL;

	device->virtfns = vv_list_new(g_free);
	device->physfn = vv_sysfs_link_name(device->ctx, physfn);
	if (!device->physfn) {
		totalvfs = g_build_filename(dir, "sriov_totalvfs", NULL);
		if (!vv_sysfs_read_decimal(device->ctx, totalvfs, VV_SRIOV_MAX, &device->sriov_totalvfs, error))
			return FALSE;
	}
	if (device->sriov_totalvfs) {
		numvfs = g_build_filename(dir, "sriov_numvfs", NULL);
		if (!vv_sysfs_read_decimal(device->ctx, numvfs, device->sriov_totalvfs, &device->sriov_numvfs, error))
			return FALSE;
	}
	for (guint i = 0; i < device->sriov_numvfs; i++) {
		g_autofree char *name = g_strdup_printf("virtfn%u", i);
		g_autofree char *link = g_build_filename(dir, name, NULL);
		char *vf = vv_sysfs_link_name(device->ctx, link);

		if (vf)
			g_ptr_array_add(device->virtfns, vf);
	}
	return TRUE;
}

static vv_device *
vv_device_read(vv_ctx *ctx, char *address, GError **error)
{
	g_autoptr(vv_device) device = g_new0(vv_device, 1);
	g_autofree char *dir = NULL;

	device->ref = 1;
	device->ctx = vv_ctx_ref(ctx);
	device->address = address;
	device->nodedev_name = vv_address_to_nodedev_name(address);

	dir = vv_sysfs_device_dir(ctx, address);
	if (!vv_sysfs_is_dir(ctx, dir)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("There is no PCI device %1$s on this host (%2$s is missing)."),
			    address, dir);
		return NULL;
	}

	if (!vv_device_read_ids(device, error))
		return NULL;
	vv_device_read_driver(device);
	vv_device_read_group(device);
	if (!vv_device_read_sriov(device, error))
		return NULL;
	vv_device_read_bridge(device);
	return g_steal_pointer(&device);
}

VV_EXPORT vv_device *
vv_device_new(vv_ctx *ctx, const char *name, GError **error)
{
	char *address = vv_address_parse(name, error);

	return address ? vv_device_read(ctx, address, error) : NULL;
}

VV_EXPORT GPtrArray *
vv_ctx_list_devices(vv_ctx *ctx, GError **error)
{
	g_autofree char *dir = vv_sysfs_devices_dir(ctx);
	g_autoptr(GPtrArray) names = vv_sysfs_list(ctx, dir);
	g_autoptr(GPtrArray) devices = vv_list_new((GDestroyNotify)vv_device_unref);

	for (guint i = 0; i < names->len; i++) {
		g_autoptr(GError) local = NULL;
		char *address = vv_address_parse(g_ptr_array_index(names, i), &local);
		vv_device *device;

		if (!address) {
			g_debug("skipping %s: %s", (char *)g_ptr_array_index(names, i), local->message);
			continue;
		}
		device = vv_device_read(ctx, address, error);
		if (!device)
			return NULL;
		g_ptr_array_add(devices, device);
	}
	return g_steal_pointer(&devices);
}

VV_EXPORT vv_device *
vv_device_ref(vv_device *device)
{
	g_atomic_int_inc(&device->ref);
	return device;
}

VV_EXPORT void
vv_device_unref(vv_device *device)
{
	if (!device || !g_atomic_int_dec_and_test(&device->ref))
		return;
	vv_ctx_unref(device->ctx);
	g_free(device->address);
	g_free(device->nodedev_name);
	g_free(device->modalias);
	g_free(device->driver);
	g_free(device->driver_module);
	g_free(device->driver_override);
	g_clear_pointer(&device->group_members, g_ptr_array_unref);
	g_free(device->physfn);
	g_clear_pointer(&device->virtfns, g_ptr_array_unref);
	g_free(device->vendor_name);
	g_free(device->product_name);
	g_free(device);
}

vv_ctx *
vv_device_get_ctx(const vv_device *device)
{
	return device->ctx;
}

VV_EXPORT const char *vv_device_get_address(const vv_device *device) { return device->address; }
VV_EXPORT const char *vv_device_get_nodedev_name(const vv_device *device) { return device->nodedev_name; }
VV_EXPORT guint16 vv_device_get_vendor_id(const vv_device *device) { return device->vendor; }
VV_EXPORT guint16 vv_device_get_device_id(const vv_device *device) { return device->device; }
VV_EXPORT guint16 vv_device_get_subsystem_vendor_id(const vv_device *device) { return device->subsystem_vendor; }
VV_EXPORT guint16 vv_device_get_subsystem_device_id(const vv_device *device) { return device->subsystem_device; }
VV_EXPORT guint32 vv_device_get_class(const vv_device *device) { return device->class; }
VV_EXPORT const char *vv_device_get_modalias(const vv_device *device) { return device->modalias; }
VV_EXPORT const char *vv_device_get_driver(const vv_device *device) { return device->driver; }
VV_EXPORT const char *vv_device_get_driver_module(const vv_device *device) { return device->driver_module; }
VV_EXPORT const char *vv_device_get_driver_override(const vv_device *device) { return device->driver_override; }
VV_EXPORT gboolean vv_device_is_vfio_bound(const vv_device *device) { return device->vfio_bound; }
VV_EXPORT int vv_device_get_iommu_group(const vv_device *device) { return device->iommu_group; }
VV_EXPORT const GPtrArray *vv_device_get_group_members(const vv_device *device) { return device->group_members; }
VV_EXPORT gboolean vv_device_is_bridge(const vv_device *device) { return device->bridge; }
VV_EXPORT const char *vv_device_get_physfn(const vv_device *device) { return device->physfn; }
VV_EXPORT const GPtrArray *vv_device_get_virtfns(const vv_device *device) { return device->virtfns; }
VV_EXPORT guint vv_device_get_sriov_numvfs(const vv_device *device) { return device->sriov_numvfs; }
VV_EXPORT guint vv_device_get_sriov_totalvfs(const vv_device *device) { return device->sriov_totalvfs; }

/* Names are looked up on first use: loading pci.ids costs milliseconds and
 * most callers (selection, binding) never need it. */
static void
vv_device_read_names(vv_device *device)
{
	if (device->names_read)
		return;
	device->names_read = TRUE;
	device->vendor_name = vv_pciids_vendor_name(device->ctx, device->vendor);
	device->product_name = vv_pciids_product_name(device->ctx, device->vendor, device->device);
}

VV_EXPORT const char *
vv_device_get_vendor_name(vv_device *device)
{
	vv_device_read_names(device);
	return device->vendor_name;
}

VV_EXPORT const char *
vv_device_get_product_name(vv_device *device)
{
	vv_device_read_names(device);
	return device->product_name;
}
