/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qemu hook's stages. libvirt (9.0, src/qemu/qemu_process.c) starts a
 * guest as: 'prepare begin' hook -> hostdev detach (managed hostdevs to
 * vfio-pci; an unmanaged one must already be on vfio-pci, or on any VFIO
 * driver from 9.7) -> command line -> 'start begin' hook -> QEMU forked ->
 * /dev/vfio/N copied into its namespace, cgroup ACLs, labels. It stops
 * one as: 'stopped end' hook -> hostdev reattach -> 'release end' hook;
 * a start that fails at any point after 'prepare' runs the stop path too.
 *
 *   prepare begin  plan each PCI hostdev: <driver model> (or our
 *                  <metadata>) first, then the policy, then the selection
 *                  (an unmanaged device the administrator put on a variant
 *                  keeps it); load its module; refuse, naming the device
 *                  and the cause, a device that can never work (policy
 *                  deny, not assignable, a group kept non-viable by a
 *                  device outside the domain, an unmanaged device still on
 *                  its host driver). Save the plan. Then, below libvirt
 *                  9.7, move unmanaged devices that are on a variant to
 *                  vfio-pci, so that libvirt accepts them.
 *   start begin    move each hostdev that is on a VFIO driver to its
 *                  planned one (vfio-pci from libvirt 9.0, or what
 *                  libvirt >= 10 chose); a driver that refuses gives way
 *                  to vfio-pci (fallback mode) or fails the start (strict
 *                  mode: the device goes back to vfio-pci, and libvirt's
 *                  stop path returns it to its host driver).
 *   stopped end    below libvirt 10, move variant-bound hostdevs to
 *                  vfio-pci: libvirt 9.x then skips its own reset and
 *                  unbinds a driver it knows.
 *
 * Which libvirt runs the hook: vv-hook-libvirt.c; unknown counts as 9.0.
 *   release end    managed: check that the native driver seen at
 *                  'prepare' is back (load its module, reprobe, if not),
 *                  then a device declared in VFIO mode (mode=vfio) goes
 *                  back to its VFIO driver (vv_apply());
 *                  unmanaged: back to the state the administrator left.
 *                  The plan goes.
 *
 * Domains without PCI hostdevs cost one XML parse and nothing else; other
 * operations do not even read standard input. Every move goes through the
 * library (the group lock held across the sysfs writes, the record with
 * requester "hook" and the domain) and is logged on stderr, which libvirt
 * keeps in its log and shows when a start fails.
 */
#include <string.h>

#include "vv-hook.h"

typedef enum {
	VV_HOOK_PREPARE,
	VV_HOOK_START,
	VV_HOOK_STOPPED,
	VV_HOOK_RELEASE,
	VV_HOOK_IGNORED,
} vv_hook_stage;

typedef struct {
	vv_ctx *ctx;
	const vv_hook_domain *domain;
	const char *stage; /* "prepare begin" */
	vv_hook_libvirt libvirt; /* the daemon that runs the hook */
} vv_hook;

/* The libvirt 9.0 workarounds, each only where that libvirt needs it:
 *  - from 9.7, libvirt accepts an unmanaged hostdev on any VFIO driver
 *    (one with vfio-dev/), so the round trip variant -> vfio-pci at
 *    'prepare begin' and back at 'start begin' is needless;
 *  - from 10.0, libvirt binds variants of its own choosing to managed
 *    hostdevs, and its reattach handles a device on any VFIO driver: it
 *    never resets one, clears driver_override, unbinds and reprobes
 *    whatever the driver (read in 11.3, src/util/virpci.c and
 *    virhostdev.c). 9.7 .. 9.x are not known to do so (they bind only
 *    vfio-pci themselves): there the move to vfio-pci at 'stopped end'
 *    stays.
 * An unknown version counts as 9.0: every workaround runs, as before. */
static gboolean
vv_hook_libvirt_takes_unmanaged_variant(const vv_hook *hook)
{
	return vv_hook_libvirt_at_least(&hook->libvirt, 9, 7);
}

static gboolean
vv_hook_libvirt_reattaches_variant(const vv_hook *hook)
{
	return vv_hook_libvirt_at_least(&hook->libvirt, 10, 0);
}

/* One line of the hook's log, which libvirt keeps. Everything in it is
 * escaped (vv_text_escape()): a domain's <name>, a stage, an error that
 * quotes input can neither start a line of its own, forging an entry, nor
 * send a terminal's escape sequence to whoever reads the log. */
static void
vv_hook_print(const char *domain, const char *stage, const char *message)
{
	g_autofree char *shown_domain = vv_text_escape(domain);
	g_autofree char *shown_stage = vv_text_escape(stage);
	g_autofree char *shown_message = vv_text_escape(message);

	/* TRANSLATORS: "vfio-variant hook: DOMAIN: STAGE: MESSAGE" */
	g_printerr(_("vfio-variant hook: %1$s: %2$s: %3$s\n"), shown_domain, shown_stage, shown_message);
}

static void G_GNUC_PRINTF(2, 3)
vv_hook_log(const vv_hook *hook, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	vv_hook_print(hook->domain->name, hook->stage, message);
}

/* ERROR's code in the hook's words (vv-hook-hint.c), on a line of its own. */
static void
vv_hook_log_hint(const vv_hook *hook, const GError *error)
{
	const char *hint = vv_hook_hint(error);

	if (hint)
		vv_hook_log(hook, "%s", hint);
}

static void
vv_hook_log_error(const vv_hook *hook, const GError *error)
{
	vv_hook_log(hook, "%s", error->message);
	vv_hook_log_hint(hook, error);
}

/* The plan entry's device as sysfs shows it now; NULL, logged with its
 * hint, when it cannot be read (gone, or its files malformed). */
static vv_device *
vv_hook_entry_device(const vv_hook *hook, const vv_hook_plan_entry *entry)
{
	g_autoptr(GError) error = NULL;
	vv_device *device = vv_device_new(hook->ctx, entry->address, &error);

	if (!device)
		vv_hook_log_error(hook, error);
	return device;
}

static double
vv_hook_ms_since(gint64 start)
{
	return (g_get_monotonic_time() - start) / 1000.0;
}

/* The library's account of a move: each sysfs write and module load, then
 * what it says about it. */
static void
vv_hook_log_result(const vv_hook *hook, const char *address, const vv_bind_result *result, gint64 start)
{
	const char *const *actions = (const char *const *)vv_bind_result_get_actions(result)->pdata;
	const char *const *messages = (const char *const *)vv_bind_result_get_messages(result)->pdata;

	for (guint i = 0; actions[i]; i++)
		vv_hook_log(hook, "%s: %s", address, actions[i]);
	for (guint i = 0; messages[i]; i++)
		vv_hook_log(hook, "%s", messages[i]);
	vv_hook_log(hook, _("%1$s: on %2$s (%3$.1f ms)"), address,
		    vv_bind_result_get_driver(result) ? vv_bind_result_get_driver(result) : _("no driver"),
		    vv_hook_ms_since(start));
}

static vv_bind_options *
vv_hook_options(const vv_hook *hook, const vv_hook_plan_entry *entry)
{
	vv_bind_options *options = vv_bind_options_new();

	vv_bind_options_set_requester(options, VV_REQUESTER_HOOK);
	vv_bind_options_set_domain(options, hook->domain->name, entry->managed);
	if (entry->native_known)
		vv_bind_options_set_native(options, entry->native_driver, entry->native_module, entry->native_override);
	return options;
}

static gboolean
vv_hook_is_hostdev_of(const vv_hook_domain *domain, const char *address, gboolean managed_only)
{
	for (guint i = 0; i < domain->hostdevs->len; i++) {
		const vv_hook_hostdev *hostdev = g_ptr_array_index(domain->hostdevs, i);

		if (g_str_equal(hostdev->address, address) && (hostdev->managed || !managed_only))
			return TRUE;
	}
	return FALSE;
}

/* ---- prepare begin ------------------------------------------------------ */

/* Members of the group that keep it from VFIO, but for the domain's own
 * managed hostdevs, which libvirt detaches with this one. */
static char *
vv_hook_group_blockers(const vv_hook *hook, const vv_selection *selection)
{
	const GPtrArray *blockers = vv_selection_get_group_blockers(selection);
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; i < blockers->len; i++) {
		const vv_group_blocker *blocker = g_ptr_array_index(blockers, i);

		if (vv_hook_is_hostdev_of(hook->domain, vv_group_blocker_get_address(blocker), TRUE))
			continue;
		if (text->len)
			g_string_append(text, ", ");
		g_string_append_printf(text, _("%1$s (bound to %2$s)"), vv_group_blocker_get_address(blocker),
				       vv_group_blocker_get_driver(blocker));
	}
	return text->len ? g_string_free(g_steal_pointer(&text), FALSE) : NULL;
}

/* <driver model='NAME'/> or our metadata's driver='NAME': a legal name of
 * a VFIO driver (vv_ctx_is_vfio_driver(): vfio_pci, or a module whose
 * vfio_pci: aliases say it is one, or a driver of such a module). */
static gboolean
vv_hook_check_model(const vv_hook *hook, const vv_hook_hostdev *hostdev, GError **error)
{
	g_autofree char *what = g_strdup_printf(_("%1$s of %2$s"), hostdev->model_source, hostdev->address);

	if (!vv_name_check(hostdev->model, VV_NAME_DRIVER, what, error))
		return FALSE;
	if (!vv_ctx_is_vfio_driver(hook->ctx, hostdev->model)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE,
			    _("%1$s: %2$s names %3$s, which is not a VFIO driver (neither vfio-pci nor a module with vfio_pci: aliases); the hook gives a guest only a VFIO driver, and loaded nothing. Name a VFIO driver there, or remove it and let vfio-variant choose."),
			    hostdev->address, hostdev->model_source, hostdev->model);
		return FALSE;
	}
	return TRUE;
}

/* What the host visibly uses (a file system mounted, swap, an interface
 * up), the checks 'vfio-variant detach' makes: a guest start must not take
 * it away, unless the policy says host-use=allow for the device. Only for
 * a device still on its host driver: on a VFIO driver the host has none. */
static gboolean
vv_hook_check_host_use(const vv_hook *hook, vv_device *device, const vv_policy *policy, GError **error)
{
	const char *address = vv_device_get_address(device);
	g_autoptr(GPtrArray) uses = NULL;
	g_autofree char *list = NULL;

	if (vv_device_is_vfio_bound(device))
		return TRUE;
	if (!(uses = vv_ctx_find_host_uses(hook->ctx, address, error)))
		return FALSE;
	if (uses->len == 0)
		return TRUE;
	list = g_strjoinv("; ", (char **)uses->pdata);
	if (vv_policy_get_host_use(policy) == VV_HOST_USE_ALLOW) {
		vv_hook_log(hook, _("%1$s goes to the guest although the host uses it (%2$s): the policy allows it (host-use=allow)."),
			    address, list);
		return TRUE;
	}
	g_set_error(error, VV_ERROR, VV_ERROR_IN_USE,
		    _("%1$s is used by the host: %2$s. Starting the guest would take it from the host. Stop using it first, or allow it with host-use=allow under [device %1$s] in %3$s."),
		    address, list, vv_policy_get_file(policy) ? vv_policy_get_file(policy) : _("the policy file"));
	return FALSE;
}

/* libvirt >= 10 picks the driver itself for a managed hostdev without
 * <driver model> (our <metadata> is nothing to it), when it binds the
 * device between 'prepare begin' and 'start begin'. When it cannot load
 * its pick (modprobe.d blacklists it) or cannot pick at all (no
 * modules.alias), it fails the start with a bare modprobe error, and the
 * hook never gets a say: fail here instead, naming the cause and the
 * line that lets the guest start. */
static gboolean
vv_hook_check_libvirt_pick(const vv_hook *hook, const vv_hook_hostdev *hostdev, vv_device *device,
			   const vv_selection *selection, const vv_hook_plan_entry *entry, GError **error)
{
	const vv_libvirt_pick *pick;
	const char *module;
	g_autofree char *suggestion = NULL;
	g_autofree char *version = NULL;
	g_autofree char *file = NULL;

	if (!hostdev->managed || !vv_hook_libvirt_at_least(&hook->libvirt, 10, 0) ||
	    g_strcmp0(hostdev->model_source, "<driver model>") == 0)
		return TRUE;
	pick = vv_selection_get_libvirt_pick(selection);
	if (!vv_libvirt_pick_fails(pick))
		return TRUE;
	module = vv_libvirt_pick_get_module(pick);
	/* Already on its pick: libvirt binds nothing and loads nothing. */
	if (module && g_strcmp0(vv_device_get_driver_module(device), module) == 0)
		return TRUE;
	suggestion = g_strdup_printf("<driver model='%s'/>", entry->driver);
	version = vv_hook_libvirt_to_string(&hook->libvirt);
	if (vv_libvirt_pick_get_reason(pick) == VV_LIBVIRT_PICK_BLACKLISTED) {
		g_autofree char *whence = vv_libvirt_pick_get_line(pick) ?
			g_strdup_printf(_("modules.alias line %1$u: %2$s"), vv_libvirt_pick_get_line(pick),
					vv_libvirt_pick_get_pattern(pick)) :
			g_strdup(_("no line of modules.alias matches the device, so libvirt takes the generic driver"));

		file = vv_hook_libvirt_blacklist_file(vv_ctx_get_sysroot(hook->ctx), module);
		g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
			    _("libvirt %1$s would fail to start the domain %2$s: the managed hostdev %3$s has no <driver model>, so libvirt picks its driver itself, %4$s (%5$s), but %6$s blacklists that module: libvirt's `modprobe -b %4$s` loads nothing and the start fails with \"module is missing from /sys/module\". Add %7$s inside this <hostdev> (virsh edit %2$s) to start it on %8$s, vfio-variant's choice."),
			    version, hook->domain->name, entry->address, module, whence,
			    file ? file : "modprobe.d", suggestion, entry->driver);
		return FALSE;
	}
	g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
		    _("libvirt %1$s would fail to start the domain %2$s: the managed hostdev %3$s has no <driver model>, so libvirt picks its driver itself, and %4$s Add %5$s inside this <hostdev> (virsh edit %2$s) to start it on %6$s, vfio-variant's choice."),
		    version, hook->domain->name, entry->address, vv_libvirt_pick_describe(pick), suggestion, entry->driver);
	return FALSE;
}

/* Work out ENTRY for HOSTDEV, or say why the guest cannot have it. */
static gboolean
vv_hook_plan_hostdev(const vv_hook *hook, const vv_hook_hostdev *hostdev, vv_hook_plan_entry *entry,
		     GError **error)
{
	const char *address = hostdev->address;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_selection) selection = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *blockers = NULL;
	const vv_policy *policy;
	const vv_candidate *selected;
	const char *current, *name;

	/* The driver the XML names, checked before anything is read or
	 * loaded: as root, the hook would load any module and bind any driver
	 * (a host driver's too) or write "..", "/" or "" to driver_override. */
	if (hostdev->model && !vv_hook_check_model(hook, hostdev, error))
		return FALSE;
	if (!(device = vv_device_new(hook->ctx, address, error)) ||
	    !(selection = vv_selection_new(hook->ctx, device, error)))
		return FALSE;
	policy = vv_selection_get_policy(selection);
	selected = vv_selection_get_selected(selection);
	entry->mode = vv_policy_get_hook_mode(policy);
	current = vv_device_get_driver(device);

	if (vv_policy_get_action(policy) == VV_POLICY_DENY) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("%1$s: %2$s"), address,
			    vv_selection_get_summary(selection));
		return FALSE;
	}
	if (vv_selection_get_unassignable(selection)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("%1$s cannot be given to a guest: %2$s."),
			    address, vv_unassignable_describe(vv_selection_get_unassignable(selection)));
		return FALSE;
	}
	if ((blockers = vv_hook_group_blockers(hook, selection))) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE,
			    _("%1$s cannot be given to a guest: its IOMMU group %2$d is not viable, because %3$s would keep DMA outside VFIO. Unbind those devices, or give them to this domain as managed hostdevs too."),
			    address, vv_device_get_iommu_group(device), blockers);
		return FALSE;
	}
	if (hostdev->managed && !vv_hook_check_host_use(hook, device, policy, error))
		return FALSE;
	record = vv_record_load(hook->ctx, address, &local);
	if (!record && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}

	if (!hostdev->managed) {
		/* libvirt uses an unmanaged device as the administrator left it. */
		if (!vv_device_is_vfio_bound(device)) {
			g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE,
				    _("%1$s is a managed='no' hostdev but it is on %2$s, not on a VFIO driver. Detach it first (vfio-variant nodedev-detach %3$s), or make the hostdev managed='yes'."),
				    address, current ? current : _("no driver"), vv_device_get_nodedev_name(device));
			return FALSE;
		}
		entry->admin_driver = g_strdup(current);
		entry->admin_module = g_strdup(vv_device_get_driver_module(device));
		entry->admin_requester = record ? vv_record_get_requester(record) : VV_REQUESTER_CLI;
	} else if (record && vv_record_is_complete(record)) {
		/* Detached by vfio-variant before: its record knows the host driver. */
		entry->native_known = TRUE;
		entry->native_driver = g_strdup(vv_record_get_original_driver(record));
		entry->native_module = g_strdup(vv_record_get_original_module(record));
		entry->native_override = g_strdup(vv_record_get_original_override(record));
	} else if (!vv_device_is_vfio_bound(device)) {
		entry->native_known = TRUE;
		entry->native_driver = g_strdup(current);
		entry->native_module = g_strdup(vv_device_get_driver_module(device));
		entry->native_override = g_strdup(vv_device_get_driver_override(device));
	}

	if (hostdev->model) {
		name = hostdev->model;
		entry->source = g_strdup(hostdev->model_source);
	} else if (!hostdev->managed && g_strcmp0(current, VV_VFIO_PCI_DRIVER) != 0) {
		name = current;
		entry->source = g_strdup("admin");
	} else if (selected) {
		name = vv_candidate_get_module(selected);
		entry->source = g_strdup(vv_policy_get_action(policy) == VV_POLICY_AUTO ? "selection" : "policy");
	} else {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("%1$s: %2$s"), address,
			    vv_selection_get_summary(selection));
		return FALSE;
	}
	/* Loaded now: its driver name is known, and a module that cannot load
	 * fails the start here rather than half way through it. */
	entry->module = g_strdup(name);
	entry->driver = vv_ctx_load_driver(hook->ctx, name, address, error);
	return entry->driver != NULL && vv_hook_check_libvirt_pick(hook, hostdev, device, selection, entry, error);
}

/* An unmanaged hostdev back where the administrator left it, with the
 * record as it was (requester, no domain): at 'release end', and when a
 * 'prepare begin' that moved it to vfio-pci for libvirt fails. */
static gboolean
vv_hook_restore_admin(const vv_hook *hook, const vv_hook_plan_entry *entry)
{
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();

	vv_bind_options_set_driver(options, entry->admin_module ? entry->admin_module : entry->admin_driver);
	vv_bind_options_set_requester(options, entry->admin_requester);
	vv_bind_options_set_flags(options, VV_BIND_STRICT);
	if (!(result = vv_rebind(hook->ctx, entry->address, options, &error))) {
		vv_hook_log(hook, _("%1$s: cannot return it to %2$s, where the administrator left it: %3$s"),
			    entry->address, entry->admin_driver, error->message);
		return FALSE;
	}
	vv_hook_log_result(hook, entry->address, result, start);
	return TRUE;
}

static int
vv_hook_prepare(const vv_hook *hook)
{
	g_autoptr(vv_hook_plan) plan = vv_hook_plan_new(hook->domain);
	g_autoptr(GError) error = NULL;
	gboolean refused = FALSE;
	guint moved = 0;

	/* libvirt refuses a domain that lists a device twice, but the hook
	 * runs first: it must neither plan nor move anything for it. */
	for (guint i = 0; i < hook->domain->hostdevs->len; i++) {
		const vv_hook_hostdev *hostdev = g_ptr_array_index(hook->domain->hostdevs, i);

		for (guint j = 0; j < i; j++) {
			const vv_hook_hostdev *earlier = g_ptr_array_index(hook->domain->hostdevs, j);

			if (g_str_equal(earlier->address, hostdev->address)) {
				vv_hook_log(hook, _("the guest cannot start: %1$s is listed twice among its hostdevs (as managed='%2$s' and managed='%3$s'); list each device once."),
					    hostdev->address, earlier->managed ? "yes" : "no", hostdev->managed ? "yes" : "no");
				refused = TRUE;
			}
		}
	}
	if (refused)
		return 1;

	for (guint i = 0; i < hook->domain->hostdevs->len; i++) {
		const vv_hook_hostdev *hostdev = g_ptr_array_index(hook->domain->hostdevs, i);
		vv_hook_plan_entry *entry = vv_hook_plan_add(plan, hostdev->address, hostdev->managed);
		g_autoptr(GError) problem = NULL;
		gint64 start = g_get_monotonic_time();

		if (!vv_hook_plan_hostdev(hook, hostdev, entry, &problem)) {
			vv_hook_log(hook, _("the guest cannot start: %s"), problem->message);
			vv_hook_log_hint(hook, problem);
			refused = TRUE;
			continue;
		}
		vv_hook_log(hook, _("%1$s (%2$s): plan %3$s (from %4$s, %5$s mode), native driver %6$s (%7$.1f ms)"),
			    entry->address, entry->managed ? "managed" : "unmanaged", entry->driver, entry->source,
			    vv_hook_mode_to_string(entry->mode),
			    !entry->managed ? _("not ours to restore (unmanaged)") :
			    !entry->native_known ? _("unknown (already on a VFIO driver)") :
			    entry->native_driver ? entry->native_driver : _("none"),
			    vv_hook_ms_since(start));
	}
	if (refused)
		return 1;
	if (!vv_hook_plan_save(hook->ctx, plan, &error)) {
		vv_hook_log(hook, _("the guest cannot start: %s"), error->message);
		return 1;
	}

	/* libvirt 9.0 accepts an unmanaged device only on vfio-pci. */
	for (guint i = 0; i < plan->entries->len && !vv_hook_libvirt_takes_unmanaged_variant(hook); i++) {
		vv_hook_plan_entry *entry = g_ptr_array_index(plan->entries, i);
		g_autoptr(vv_bind_options) options = NULL;
		g_autoptr(vv_bind_result) result = NULL;
		gint64 start = g_get_monotonic_time();

		if (entry->managed || g_strcmp0(entry->admin_driver, VV_VFIO_PCI_DRIVER) == 0)
			continue;
		options = vv_hook_options(hook, entry);
		vv_bind_options_set_flags(options, VV_BIND_GENERIC | VV_BIND_STRICT);
		if ((result = vv_rebind(hook->ctx, entry->address, options, &error))) {
			vv_hook_log_result(hook, entry->address, result, start);
			moved = i + 1;
			continue;
		}
		vv_hook_log(hook, _("the guest cannot start: %1$s cannot be moved to vfio-pci for libvirt: %2$s"),
			    entry->address, error->message);
		for (guint j = 0; j < moved; j++) {
			vv_hook_plan_entry *back = g_ptr_array_index(plan->entries, j);

			if (!back->managed && g_strcmp0(back->admin_driver, VV_VFIO_PCI_DRIVER) != 0 &&
			    !vv_hook_restore_admin(hook, back))
				return 1; /* the plan stays: 'release end' tries again */
		}
		g_clear_error(&error);
		if (!vv_hook_plan_remove(hook->ctx, plan->uuid, &error))
			vv_hook_log_error(hook, error);
		return 1;
	}
	return 0;
}

/* ---- the later stages ---------------------------------------------------- */

/* The plan of 'prepare'; without one (the hook was installed while the
 * guest ran, or /run was emptied), only what the records say is ours. */
static vv_hook_plan *
vv_hook_load_plan(const vv_hook *hook)
{
	g_autoptr(GError) error = NULL;
	vv_hook_plan *plan = vv_hook_plan_load(hook->ctx, hook->domain->uuid, &error);

	if (!plan && !g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND))
		vv_hook_log_error(hook, error);
	return plan;
}

/* A plan from the records naming this domain. A record that cannot be
 * read (incomplete, a symlink, unreadable) may name this domain: that
 * hostdev is not given back, and *OK is cleared. */
static vv_hook_plan *
vv_hook_plan_from_records(const vv_hook *hook, gboolean *ok)
{
	vv_hook_plan *plan = vv_hook_plan_new(hook->domain);

	vv_hook_log(hook, _("no plan from 'prepare begin' (was the hook installed while the guest was starting or running?); acting only on the devices whose record names this domain"));
	for (guint i = 0; i < hook->domain->hostdevs->len; i++) {
		const vv_hook_hostdev *hostdev = g_ptr_array_index(hook->domain->hostdevs, i);
		g_autoptr(GError) error = NULL;
		g_autoptr(vv_record) record = vv_record_load(hook->ctx, hostdev->address, &error);
		vv_hook_plan_entry *entry;

		if (!record && !g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND)) {
			vv_hook_log(hook, _("%1$s is left where it is: %2$s"), hostdev->address, error->message);
			*ok = FALSE;
			continue;
		}
		if (!record || g_strcmp0(vv_record_get_domain(record), hook->domain->name) != 0 || !hostdev->managed)
			continue;
		entry = vv_hook_plan_add(plan, hostdev->address, TRUE);
		entry->native_known = TRUE;
		entry->native_driver = g_strdup(vv_record_get_original_driver(record));
		entry->native_module = g_strdup(vv_record_get_original_module(record));
		entry->native_override = g_strdup(vv_record_get_original_override(record));
	}
	return plan;
}

static void
vv_hook_save_stage(const vv_hook *hook, vv_hook_plan *plan, const char *stage)
{
	g_autoptr(GError) error = NULL;

	g_free(plan->stage);
	plan->stage = g_strdup(stage);
	if (!vv_hook_plan_save(hook->ctx, plan, &error))
		vv_hook_log_error(hook, error);
}

static int
vv_hook_start(const vv_hook *hook)
{
	g_autoptr(vv_hook_plan) plan = vv_hook_load_plan(hook);

	if (!plan) {
		vv_hook_log(hook, _("no plan from 'prepare begin' (was the hook installed while the guest was starting?); the devices stay where libvirt put them"));
		return 0;
	}
	for (guint i = 0; i < plan->entries->len; i++) {
		vv_hook_plan_entry *entry = g_ptr_array_index(plan->entries, i);
		g_autoptr(vv_bind_options) options = vv_hook_options(hook, entry);
		g_autoptr(vv_bind_result) result = NULL;
		g_autoptr(vv_device) device = NULL;
		g_autoptr(GError) error = NULL;
		gint64 start = g_get_monotonic_time();
		gboolean strict = entry->mode == VV_HOOK_MODE_STRICT;

		if (!(device = vv_hook_entry_device(hook, entry))) {
			if (strict)
				return 1;
			continue;
		}
		if (!vv_device_is_vfio_bound(device)) {
			vv_hook_log(hook, _("%1$s is on %2$s, not on a VFIO driver: libvirt did not detach it; it is left alone."),
				    entry->address, vv_device_get_driver(device) ? vv_device_get_driver(device) : _("no driver"));
			continue;
		}
		/* 'prepare' planned a VFIO driver; a plan that says otherwise
		 * was not written by it. */
		if (!vv_ctx_is_vfio_driver(hook->ctx, entry->module ? entry->module : entry->driver)) {
			vv_hook_log(hook, _("%1$s: the plan names %2$s, which is not a VFIO driver; the device stays on %3$s."),
				    entry->address, entry->module ? entry->module : entry->driver ? entry->driver : "(none)",
				    vv_device_get_driver(device));
			if (strict)
				return 1;
			continue;
		}
		vv_bind_options_set_driver(options, entry->module ? entry->module : entry->driver);
		if (strict)
			vv_bind_options_set_flags(options, VV_BIND_STRICT);
		if (!(result = vv_rebind(hook->ctx, entry->address, options, &error))) {
			if (strict) {
				vv_hook_log(hook, _("the guest does not start (strict mode): %s"), error->message);
				vv_hook_log_hint(hook, error);
				return 1;
			}
			vv_hook_log(hook, _("%1$s (fallback mode: the guest starts with the device where it is)"),
				    error->message);
			continue;
		}
		vv_hook_log_result(hook, entry->address, result, start);
	}
	vv_hook_save_stage(hook, plan, "started");
	return 0;
}

static int
vv_hook_stopped(const vv_hook *hook)
{
	g_autoptr(vv_hook_plan) plan = vv_hook_load_plan(hook);
	gboolean read_all = TRUE;
	int status = 0;

	if (!plan)
		plan = vv_hook_plan_from_records(hook, &read_all);
	if (!read_all)
		status = 1;
	for (guint i = 0; i < plan->entries->len; i++) {
		vv_hook_plan_entry *entry = g_ptr_array_index(plan->entries, i);
		g_autoptr(vv_bind_options) options = vv_hook_options(hook, entry);
		g_autoptr(vv_bind_result) result = NULL;
		g_autoptr(vv_device) device = NULL;
		g_autoptr(GError) error = NULL;
		gint64 start = g_get_monotonic_time();

		if (!(device = vv_hook_entry_device(hook, entry))) {
			status = 1;
			continue;
		}
		if (!vv_device_is_vfio_bound(device) || g_strcmp0(vv_device_get_driver(device), VV_VFIO_PCI_DRIVER) == 0)
			continue;
		if (vv_hook_libvirt_reattaches_variant(hook)) {
			vv_hook_log(hook, _("%1$s stays on %2$s: libvirt >= 10 reattaches a device from any VFIO driver without resetting it."),
				    entry->address, vv_device_get_driver(device));
			continue;
		}
		vv_bind_options_set_flags(options, VV_BIND_GENERIC | VV_BIND_STRICT);
		if (!(result = vv_rebind(hook->ctx, entry->address, options, &error))) {
			g_autoptr(vv_device) now = vv_device_new(hook->ctx, entry->address, NULL);

			/* A move cut short (a hook killed in 'start begin') is
			 * settled first by the library, which may give the device
			 * back to its host driver: then nothing is left to do, and
			 * libvirt's reattach finds it there. */
			if (now && !vv_device_is_vfio_bound(now)) {
				vv_hook_log(hook, _("%1$s: an earlier move of it was cut short and is now settled: it is on %2$s, no longer on a VFIO driver, so it needs no move to vfio-pci (%3$.1f ms)."),
					    entry->address, vv_device_get_driver(now) ? vv_device_get_driver(now) : _("no driver"),
					    vv_hook_ms_since(start));
				continue;
			}
			vv_hook_log(hook, _("%s libvirt may reset it under its variant driver."), error->message);
			status = 1;
			continue;
		}
		vv_hook_log_result(hook, entry->address, result, start);
	}
	if (plan->entries->len)
		vv_hook_save_stage(hook, plan, "stopped");
	return status;
}

/* A managed hostdev: the native driver seen at 'prepare' must be back. */
static gboolean
vv_hook_release_native(const vv_hook *hook, const vv_hook_plan_entry *entry)
{
	g_autoptr(vv_bind_options) options = vv_hook_options(hook, entry);
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();

	if (!(device = vv_hook_entry_device(hook, entry)))
		return FALSE;
	/* Only a missing record is "no record": one that cannot be read
	 * proves nothing, and is refused rather than taken for none. */
	record = vv_record_load(hook->ctx, entry->address, &error);
	if (!record && !g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		vv_hook_log(hook, _("%1$s is left on %2$s: %3$s"), entry->address,
			    vv_device_get_driver(device) ? vv_device_get_driver(device) : _("no driver"), error->message);
		return FALSE;
	}
	g_clear_error(&error);
	if (!entry->native_known && !record) {
		vv_hook_log(hook, _("%1$s is on %2$s; its native driver was not known at 'prepare' (it was on a VFIO driver already), so libvirt's reattach stands."),
			    entry->address, vv_device_get_driver(device) ? vv_device_get_driver(device) : _("no driver"));
		return TRUE;
	}
	/* Nothing to repair, nothing to forget: no write at all. */
	if (!record && g_strcmp0(vv_device_get_driver(device), entry->native_driver) == 0 &&
	    g_strcmp0(vv_device_get_driver_override(device), entry->native_override) == 0) {
		vv_hook_log(hook, _("%1$s is back on its native driver %2$s (%3$.1f ms)"), entry->address,
			    entry->native_driver ? entry->native_driver : _("none"), vv_hook_ms_since(start));
		return TRUE;
	}
	if (!(result = vv_reattach(hook->ctx, entry->address, options, &error))) {
		vv_hook_log_error(hook, error);
		return FALSE;
	}
	vv_hook_log_result(hook, entry->address, result, start);
	return TRUE;
}

/* A device declared in VFIO mode (mode=vfio) lives on VFIO: libvirt's
 * reattach gave it to its host driver, and it goes back to its VFIO
 * driver now, as at its add or at boot. */
static gboolean
vv_hook_release_declared(const vv_hook *hook, const vv_hook_plan_entry *entry)
{
	/* No domain in the record: the guest is gone, the device is the
	 * declaration's. */
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_policy) policy = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();

	if (!(device = vv_device_new(hook->ctx, entry->address, &error)) ||
	    !(policy = vv_policy_new(hook->ctx, device, &error))) {
		vv_hook_log_error(hook, error);
		return FALSE;
	}
	if (vv_policy_get_device_mode(policy) != VV_DEVICE_MODE_VFIO)
		return TRUE;
	vv_bind_options_set_requester(options, VV_REQUESTER_HOOK);
	if (!(result = vv_apply(hook->ctx, entry->address, options, &error))) {
		vv_hook_log_error(hook, error);
		return FALSE;
	}
	vv_hook_log(hook, _("%s is declared in VFIO mode: back to its VFIO driver."), entry->address);
	vv_hook_log_result(hook, entry->address, result, start);
	return TRUE;
}

static gboolean
vv_hook_release_managed(const vv_hook *hook, const vv_hook_plan_entry *entry)
{
	return vv_hook_release_native(hook, entry) && vv_hook_release_declared(hook, entry);
}

static int
vv_hook_release(const vv_hook *hook)
{
	g_autoptr(vv_hook_plan) plan = vv_hook_load_plan(hook);
	g_autoptr(GError) error = NULL;
	gboolean ok = TRUE;

	if (!plan)
		plan = vv_hook_plan_from_records(hook, &ok);
	for (guint i = 0; i < plan->entries->len; i++) {
		const vv_hook_plan_entry *entry = g_ptr_array_index(plan->entries, i);

		if (entry->managed)
			ok &= vv_hook_release_managed(hook, entry);
		else if (entry->admin_driver)
			ok &= vv_hook_restore_admin(hook, entry);
	}
	/* Kept after a failure: the next 'release end' of this domain (or a
	 * person reading it) knows what was planned. */
	if (ok && !vv_hook_plan_remove(hook->ctx, hook->domain->uuid, &error)) {
		vv_hook_log_error(hook, error);
		ok = FALSE;
	}
	return ok ? 0 : 1;
}

/* ---- entry -------------------------------------------------------------- */

static vv_hook_stage
vv_hook_stage_of(const char *operation, const char *subop)
{
	if (g_str_equal(operation, "prepare") && g_str_equal(subop, "begin"))
		return VV_HOOK_PREPARE;
	if (g_str_equal(operation, "start") && g_str_equal(subop, "begin"))
		return VV_HOOK_START;
	if (g_str_equal(operation, "stopped") && g_str_equal(subop, "end"))
		return VV_HOOK_STOPPED;
	if (g_str_equal(operation, "release") && g_str_equal(subop, "end"))
		return VV_HOOK_RELEASE;
	return VV_HOOK_IGNORED;
}

int
vv_hook_qemu(const vv_roots *roots, const char *libvirt_version, const char *name, const char *operation, const char *subop,
	     const char *extra, int input_fd)
{
	vv_hook_stage stage = vv_hook_stage_of(operation, subop);
	g_autoptr(GBytes) input = NULL;
	g_autoptr(vv_hook_domain) domain = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *stage_name = g_strdup_printf("%s %s", operation, subop);
	vv_hook hook = { .stage = stage_name };
	gint64 start = g_get_monotonic_time();
	int status = 1;

	/* Other operations: nothing, and stdin is not even read. */
	if (stage == VV_HOOK_IGNORED)
		return 0;
	if (!(input = vv_hook_read_input(input_fd, &error)) || !(domain = vv_hook_domain_parse(input, &error))) {
		g_autofree char *message = g_strdup_printf(_("refused: %s"), error->message);

		vv_hook_print(name, stage_name, message);
		return 1;
	}
	if (domain->hostdevs->len == 0)
		return 0;
	hook.domain = domain;
	if (!(ctx = vv_roots_open(roots, &error))) {
		vv_hook_log_error(&hook, error);
		return 1;
	}
	hook.ctx = ctx;
	vv_hook_libvirt_detect(roots->sysroot, libvirt_version, &hook.libvirt);
	/* Said once per guest start, where the plan is made. */
	if (stage == VV_HOOK_PREPARE) {
		g_autofree char *version = vv_hook_libvirt_to_string(&hook.libvirt);

		if (hook.libvirt.known)
			vv_hook_log(&hook, _("libvirt %1$s runs this hook (%2$s)"), version, hook.libvirt.source);
		else
			vv_hook_log(&hook, _("the version of libvirt that runs this hook is unknown: %1$s; acting as for libvirt 9.0 (every workaround for it runs, which is safe on any version)"),
				    hook.libvirt.source);
	}
	switch (stage) {
	case VV_HOOK_PREPARE: status = vv_hook_prepare(&hook); break;
	case VV_HOOK_START: status = vv_hook_start(&hook); break;
	case VV_HOOK_STOPPED: status = vv_hook_stopped(&hook); break;
	case VV_HOOK_RELEASE: status = vv_hook_release(&hook); break;
	case VV_HOOK_IGNORED: break;
	}
	vv_hook_log(&hook, _("%1$s, %2$u PCI hostdev(s), %3$.1f ms in the hook"), status ? _("failed") : _("done"),
		    domain->hostdevs->len, vv_hook_ms_since(start));
	vv_hook_libvirt_clear(&hook.libvirt);
	return status;
}
