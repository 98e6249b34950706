// SPDX-License-Identifier: GPL-2.0
/*
 * vv_test_vfio_pci: a VFIO PCI variant driver for vfio-variant's VM test
 * suite (tests/vm). It adds nothing to vfio-pci: it is the 6.1 vfio_pci.c
 * reduced to what a variant needs, so that the suite binds a real variant
 * on a real kernel.
 *
 * What the suite relies on:
 *  - the module is vv_test_vfio_pci but the pci_driver is "vv-test-vfio-pci":
 *    driver_override takes the driver name, and the module name must not work;
 *  - its id table is override-only (PCI_DRIVER_OVERRIDE_DEVICE_VFIO), so
 *    modpost publishes vfio_pci: aliases and the driver never binds by itself;
 *  - refuse=WHAT makes probe return -ENODEV for the devices WHAT names, to
 *    exercise the fallback to vfio-pci. WHAT is a comma-separated list of
 *    PCI addresses ("0000:00:03.0") or vendor:device pairs ("1234:11e8").
 *    Writable at run time: /sys/module/vv_test_vfio_pci/parameters/refuse.
 *  - from 6.12 on (Kbuild), a third entry with a glob alias (tests/trixie).
 *
 * Built against the installed Debian 6.1 headers at test time:
 *   make -C /lib/modules/KVER/build M=$PWD modules
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#define VV_TEST_DRIVER_NAME "vv-test-vfio-pci"

static char refuse[256];
module_param_string(refuse, refuse, sizeof(refuse), 0644);
MODULE_PARM_DESC(refuse,
		 "Comma-separated PCI addresses or vendor:device pairs (hex) whose probe fails with -ENODEV");

/* Does the refuse= list name PDEV? */
static bool vv_test_refuses(struct pci_dev *pdev)
{
	char list[sizeof(refuse)];
	char ids[10];
	char *cursor = list, *item;
	bool found = false;

	kernel_param_lock(THIS_MODULE);
	strscpy(list, refuse, sizeof(list));
	kernel_param_unlock(THIS_MODULE);

	snprintf(ids, sizeof(ids), "%04x:%04x", pdev->vendor, pdev->device);
	while (!found && (item = strsep(&cursor, ",")) != NULL) {
		item = strim(item);
		if (!*item)
			continue;
		found = !strcasecmp(item, pci_name(pdev)) || !strcasecmp(item, ids);
	}
	return found;
}

static int vv_test_open_device(struct vfio_device *core_vdev)
{
	struct vfio_pci_core_device *vdev =
		container_of(core_vdev, struct vfio_pci_core_device, vdev);
	int ret;

	ret = vfio_pci_core_enable(vdev);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(vdev);
	return 0;
}

static const struct vfio_device_ops vv_test_ops = {
	.name		= VV_TEST_DRIVER_NAME,
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= vv_test_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
};

static int vv_test_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vfio_pci_core_device *vdev;
	int ret;

	if (vv_test_refuses(pdev)) {
		pci_info(pdev, "refused by the refuse= parameter\n");
		return -ENODEV;
	}

	vdev = vfio_alloc_device(vfio_pci_core_device, vdev, &pdev->dev, &vv_test_ops);
	if (IS_ERR(vdev))
		return PTR_ERR(vdev);

	dev_set_drvdata(&pdev->dev, vdev);
	ret = vfio_pci_core_register_device(vdev);
	if (ret)
		goto out_put_vdev;
	return 0;

out_put_vdev:
	vfio_put_device(&vdev->vdev);
	return ret;
}

static void vv_test_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(vdev);
	vfio_put_device(&vdev->vdev);
}

static const struct pci_device_id vv_test_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(0x1234, 0x11e8) }, /* QEMU edu */
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(0x8086, 0x10d3) }, /* QEMU e1000e (82574L) */
#ifdef VV_TEST_GLOB_ALIAS
	/* QEMU virtio-rng-pci,disable-legacy=on (1af4:1044, class 00ff00),
	 * with its class given exactly: modpost then writes
	 * "bc00scFFi00*", a glob inside the last field (see Kbuild). */
	{ .vendor = 0x1af4, .device = 0x1044, .subvendor = PCI_ANY_ID, .subdevice = PCI_ANY_ID,
	  .class = 0x00ff00, .class_mask = 0xffffff, .override_only = PCI_ID_F_VFIO_DRIVER_OVERRIDE },
#endif
	{}
};
MODULE_DEVICE_TABLE(pci, vv_test_table);

static struct pci_driver vv_test_driver = {
	.name			= VV_TEST_DRIVER_NAME,
	.id_table		= vv_test_table,
	.probe			= vv_test_probe,
	.remove			= vv_test_remove,
	.err_handler		= &vfio_pci_core_err_handlers,
	.driver_managed_dma	= true,
};
module_pci_driver(vv_test_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO PCI variant driver for vfio-variant's VM tests (edu, e1000e)");
