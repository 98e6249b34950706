/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-open-check BDF: what a VMM does with a device vfio-variant detached,
 * run inside the test VM. Each step prints one line; exit 0 when all pass.
 *   open /dev/vfio/vfio, VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION(type1),
 *   open /dev/vfio/GROUP, VFIO_GROUP_GET_STATUS (viable),
 *   VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU(type1), VFIO_GROUP_GET_DEVICE_FD,
 *   VFIO_DEVICE_GET_INFO.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

static int
fail(const char *step)
{
	printf("vfio-open-check: %s: FAILED: %s\n", step, strerror(errno));
	return 1;
}

int
main(int argc, char **argv)
{
	char link[PATH_MAX], target[PATH_MAX], group_path[PATH_MAX];
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int container, group, device, version;
	ssize_t length;
	long iommu;

	if (argc != 2 || strchr(argv[1], '/')) {
		fprintf(stderr, "usage: vfio-open-check DOMAIN:BUS:SLOT.FUNCTION\n");
		return 2;
	}
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", argv[1]);
	length = readlink(link, target, sizeof(target) - 1);
	if (length < 0)
		return fail("read the iommu_group link");
	target[length] = '\0';
	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s", basename(target));

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	version = ioctl(container, VFIO_GET_API_VERSION);
	if (version != VFIO_API_VERSION) {
		printf("vfio-open-check: VFIO_GET_API_VERSION: FAILED: %d, expected %d\n", version, VFIO_API_VERSION);
		return 1;
	}
	iommu = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU :
		ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0 ? VFIO_TYPE1_IOMMU : 0;
	if (!iommu) {
		printf("vfio-open-check: VFIO_CHECK_EXTENSION: FAILED: no type1 IOMMU (is vfio_iommu_type1 loaded?)\n");
		return 1;
	}
	printf("vfio-open-check: API version %d, IOMMU type %ld\n", version, iommu);

	group = open(group_path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return fail(group_path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
		return fail("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("vfio-open-check: %s: FAILED: the group is not viable (flags 0x%x)\n", group_path, status.flags);
		return 1;
	}
	printf("vfio-open-check: %s is viable\n", group_path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, iommu) < 0)
		return fail("VFIO_SET_IOMMU");
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (device < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD");
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &info) < 0)
		return fail("VFIO_DEVICE_GET_INFO");
	printf("vfio-open-check: device fd for %s: flags 0x%x%s, %u regions, %u irqs\n", argv[1], info.flags,
	       (info.flags & VFIO_DEVICE_FLAGS_PCI) ? " (PCI)" : "", info.num_regions, info.num_irqs);
	close(device);
	close(group);
	close(container);
	printf("vfio-open-check: OK\n");
	return 0;
}
