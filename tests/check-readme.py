#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The README's quick start is true on the demo host.

Every output block of README.md is checked against a real run:
- a segment `$ build/src/cli/vfio-variant ARGS` runs the CLI on the demo
  host read-only (`--config my.conf` is the README's own ini block);
- the segment `$ vfio-variant status` runs after a `detach` of the same
  device on a copy of the demo host under the simulated kernel;
- the lines `vfio-variant hook: guest1: ...` come from a guest's life
  under the hook (libvirt 9.0's own sysfs writes made between the stages,
  as tests/hook/test-hook.sh makes them), on another copy.
Each README line must appear in the real output in the same order; `...`
stands for lines left out, `…` for the checkout's path; times, dates and
sysroot paths are compared as placeholders. Prints TAP.
Usage: check-readme.py SOURCE_ROOT VFIO_VARIANT VFIO_VARIANT_HOOK HOSTS_DIR FAKEKERNEL
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

root, cli, hookbin, hosts, fakekernel = sys.argv[1:6]
cli, hookbin, hosts, fakekernel = (os.path.abspath(p) for p in (cli, hookbin, hosts, fakekernel))
readme = open(os.path.join(root, 'README.md'), encoding='utf-8').read()
work = tempfile.mkdtemp(prefix='vv-readme.')
env = dict(os.environ, LC_ALL='C', VV_TESTSUITE='1')
# Under AddressSanitizer its runtime must come first among the preloads
# (as tests/sim-lib.sh does).
asan = re.search(r'(\S*libasan\.so\S*) \(', subprocess.run(['ldd', cli], capture_output=True, text=True).stdout)
preload_libs = (asan.group(1) + ':' if asan else '') + fakekernel
env.pop('LANGUAGE', None)

# The fake kernel's facts for the ConnectX VF of the demo host
# (tests/fakekernel/README.md): mlx5_core is its host driver,
# mlx5_vfio_pci its variant.
FAKEKERNEL_CONF = """[driver vfio-pci]
module=vfio_pci
vfio=true

[driver mlx5_vfio_pci]
module=mlx5_vfio_pci
vfio=true
override_only_ids=15b3:101e

[driver mlx5_core]
module=mlx5_core
ids=15b3:101d;15b3:101e
"""
GUEST_XML = """<domain type='kvm'>
  <name>guest1</name>
  <uuid>6b1c0a5e-1f3d-4c2a-9e55-0d3c8f6a7b21</uuid>
  <memory unit='KiB'>2097152</memory>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x2'/></source>
    </hostdev>
  </devices>
</domain>
"""


def blocks(text):
    """The fenced blocks: (info string, lines)."""
    found, current, info = [], None, ''
    for line in text.split('\n'):
        if line.startswith('```'):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                found.append((info, current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def normalise(line, sysroot=None):
    if sysroot:
        line = line.replace(sysroot, '')
    line = re.sub(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', 'DATE', line)
    line = re.sub(r'\d+\.\d ms', 'N ms', line)
    return line.rstrip()


def in_order(expected, actual):
    """'' when every expected line (… a wildcard, ... a gap) is in actual, in order."""
    position = 0
    for line in (normalise(l) for l in expected):
        if line == '...':
            continue
        pattern = re.compile('^' + '.*'.join(re.escape(p) for p in line.split('…')) + '$')
        while position < len(actual) and not pattern.match(actual[position]):
            position += 1
        if position == len(actual):
            return 'not found in order: %r\n# output:\n# %s' % (line, '\n# '.join(actual))
        position += 1
    return ''


def run(args, cwd=None, preload=False, stdin=None, sysroot=None):
    e = dict(env)
    if preload:
        e.update(LD_PRELOAD=preload_libs, VV_FAKEKERNEL_ROOT=sysroot,
                 VV_FAKEKERNEL_LOG=sysroot + '.log')
    p = subprocess.run(args, cwd=cwd, env=e, input=stdin, capture_output=True, text=True)
    # The README writes the build tree as build/ (…/build/tests/demo); it may
    # be another directory (build-asan).
    return [normalise(l, sysroot).replace(demo_build + '/', '/CHECKOUT/build/')
            for l in (p.stdout + p.stderr).splitlines()]


def fresh(name):
    sysroot = os.path.join(work, name)
    shutil.copytree(os.path.join(hosts, 'demo'), sysroot, symlinks=True)
    with open(os.path.join(sysroot, 'fakekernel.conf'), 'w') as f:
        f.write(FAKEKERNEL_CONF)
    open(sysroot + '.log', 'w').close()
    return sysroot


def libvirt_writes(sysroot, bdf, to_vfio):
    """libvirt 9.0 between the stages: the same writes through the fake kernel."""
    dev = '%s/sys/bus/pci/devices/%s' % (sysroot, bdf)
    if to_vfio:
        script = "echo vfio-pci > '%s/driver_override'; echo %s > '%s/driver/unbind'; " \
            "echo %s > '%s/sys/bus/pci/drivers_probe'" % (dev, bdf, dev, bdf, sysroot)
    else:
        script = "echo %s > '%s/driver/unbind'; echo > '%s/driver_override'; " \
            "echo %s > '%s/sys/bus/pci/drivers_probe'" % (bdf, dev, dev, bdf, sysroot)
    subprocess.run(['bash', '-c', script], check=True, env=dict(
        env, LD_PRELOAD=preload_libs, VV_FAKEKERNEL_ROOT=sysroot, VV_FAKEKERNEL_LOG=sysroot + '.log'))


cases = []
ini = [lines for info, lines in blocks(readme) if info == 'ini']
with open(os.path.join(work, 'my.conf'), 'w') as f:
    f.write('\n'.join(ini[0]) + '\n' if ini else '')
demo_build = os.path.dirname(hosts)  # HOSTS_DIR is BUILD/tests

for info, lines in blocks(readme):
    if info:
        continue
    # Split into segments at each "$ " line.
    segments, current = [], None
    for line in lines:
        if line.startswith('$ '):
            current = (line[2:], [])
            segments.append(current)
        elif current is not None:
            current[1].append(line)
    for command, expected in segments:
        words = command.split()
        if words[0] == 'build/src/cli/vfio-variant':
            args = [cli] + [os.path.join(demo_build, w[len('build/'):]) if w.startswith('build/') else w
                            for w in words[1:]]
            actual = run(args, cwd=work)
            cases.append(('README: ' + command, in_order(expected, actual)))
        elif command == 'vfio-variant status':
            sysroot = fresh('status')
            detached = run([cli, '--sysroot', sysroot, 'detach', '0000:01:00.2'], preload=True, sysroot=sysroot)
            actual = run([cli, '--sysroot', sysroot, 'status'], preload=True, sysroot=sysroot)
            cases.append(('README: vfio-variant status after a detach (simulated kernel)',
                          in_order(expected, actual) and in_order(expected, actual) + '\n# detach: ' + ' | '.join(detached)))
        else:
            cases.append(('README: ' + command, 'no rule of tests/check-readme.py runs this command'))
    hook_lines = [l for l in lines if l.startswith('vfio-variant hook: ')]
    if hook_lines:
        sysroot = fresh('hook')
        actual = []
        hook = [hookbin, '--sysroot', sysroot, '--libvirt-version', '9.0.0', 'qemu', 'guest1']
        for stage, between in (('prepare begin', True), ('start begin', None),
                               ('stopped end', False), ('release end', None)):
            actual += run(hook + stage.split() + ['-'], preload=True, stdin=GUEST_XML, sysroot=sysroot)
            if between is not None:
                libvirt_writes(sysroot, '0000:01:00.2', between)
        cases.append(("README: a guest's life under the hook (simulated kernel, libvirt 9.0)",
                      in_order(hook_lines, actual)))

wanted = ['build/src/cli/vfio-variant --sysroot build/tests/demo list',
          'build/src/cli/vfio-variant --sysroot build/tests/demo explain 0000:01:00.2',
          'vfio-variant status', "a guest's life"]
for w in wanted:
    if not any(w in label for label, _ in cases):
        cases.append(('README shows ' + w, 'no such output block in README.md'))

print('1..%d' % len(cases))
failed = 0
for n, (label, problem) in enumerate(cases, 1):
    if problem:
        failed += 1
        print('not ok %d - %s: %s' % (n, label, problem))
    else:
        print('ok %d - %s' % (n, label))
shutil.rmtree(work)
sys.exit(1 if failed else 0)
