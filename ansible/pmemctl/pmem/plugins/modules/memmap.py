#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: memmap
short_description: Reserve RAM as persistent memory with memmap= in GRUB's configuration
description:
  - Plans C(memmap=SIZE!START) ranges inside usable RAM with
    C(pmemctl plan memmap) and puts them into C(GRUB_CMDLINE_LINUX) of
    C(/etc/default/grub), then runs C(update-grub).
  - A configuration that already holds I(count) pmem reservations of I(size)
    is left alone; other pmem C(memmap=) parameters there are replaced.
  - The reservation takes effect at the next boot; I(reboot_required) says
    whether the running kernel's command line differs.
  - Supports check mode and C(--diff) (the GRUB file before and after).
version_added: 0.1.0
extends_documentation_fragment:
  - pmemctl.pmem.pmemctl
author: pmemctl developers
options:
  size:
    description: The size of each range (C(4G), C(512M)).
    type: str
    required: true
  count:
    description: How many ranges of I(size).
    type: int
    default: 1
  align:
    description: Alignment of each range's start and size (C(128M), C(1G)).
    type: str
    default: 128M
  keep:
    description: RAM the system keeps (pmemctl's default when not given).
    type: str
  state:
    description: C(present) reserves, C(absent) removes every pmem C(memmap=) parameter.
    type: str
    choices: [present, absent]
    default: present
  grub_file:
    description: The GRUB defaults file to edit.
    type: path
    default: /etc/default/grub
  update_grub:
    description: Run C(update-grub) after a change.
    type: bool
    default: true
  dmesg:
    description: Plan from a saved kernel log instead of the host's.
    type: path
"""

EXAMPLES = r"""
- name: Reserve 4 GiB of RAM as persistent memory
  pmemctl.pmem.memmap:
    size: 4G
  register: reservation

- name: Boot into it
  ansible.builtin.reboot:
  when: reservation.reboot_required
"""

RETURN = r"""
param:
  description: The C(memmap=) parameters the configuration holds now.
  returned: always
  type: str
  sample: memmap=4G!12G
reboot_required:
  description: Whether the running kernel was booted with other pmem C(memmap=) parameters.
  returned: always
  type: bool
plan:
  description: C(pmemctl plan memmap --json)'s plan, when one was made.
  returned: when a reservation was planned
  type: dict
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pmemctl.pmem.plugins.module_utils.pmemctl import run_json, size_of

LINE = re.compile(r'^(\s*GRUB_CMDLINE_LINUX\s*=\s*)(["\']?)(.*?)\2\s*$')
PMEM = re.compile(r"^memmap=([^!$#]+)!(.+)$")


def pmem_params(words):
    return [w for w in words if PMEM.match(w)]


def running_params():
    try:
        with open("/proc/cmdline") as f:
            return pmem_params(f.read().split())
    except IOError:
        return []


def main():
    module = AnsibleModule(
        argument_spec=dict(
            size=dict(type="str", required=True),
            count=dict(type="int", default=1),
            align=dict(type="str", default="128M"),
            keep=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            grub_file=dict(type="path", default="/etc/default/grub"),
            update_grub=dict(type="bool", default=True),
            dmesg=dict(type="path"),
            pmemctl=dict(type="str", default="pmemctl"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        with open(p["grub_file"]) as f:
            before = f.read()
    except IOError as e:
        module.fail_json(msg="%s: %s" % (p["grub_file"], e))
    lines = before.split("\n")
    # The last GRUB_CMDLINE_LINUX= wins in a shell file; one is added when none.
    at = max([i for i, l in enumerate(lines) if LINE.match(l)] or [-1])
    words = LINE.match(lines[at]).group(3).split() if at >= 0 else []
    held = pmem_params(words)
    others = [w for w in words if w not in held]
    want = size_of(p["size"])
    if want is None:
        module.fail_json(msg="size: '%s' is not a size" % p["size"])
    plan = None
    if p["state"] == "absent":
        params = []
    elif len(held) == p["count"] and all(size_of(PMEM.match(w).group(1)) == want for w in held):
        params = held  # a fitting reservation is there already
    else:
        args = ["plan", "memmap", p["size"], "--count", str(p["count"]), "--align", p["align"]]
        if p["keep"]:
            args += ["--keep", p["keep"]]
        if p["dmesg"]:
            args += ["--dmesg", p["dmesg"]]
        rc, plan, err = run_json(module, args)
        params = plan["param"].split()
    changed = params != held
    after = before
    if changed:
        value = " ".join(others + params)
        line = 'GRUB_CMDLINE_LINUX="%s"' % value
        if at >= 0:
            lines[at] = line
        else:
            lines.insert(len(lines) - 1 if lines and lines[-1] == "" else len(lines), line)
        after = "\n".join(lines)
    result = dict(
        changed=changed,
        param=" ".join(params),
        reboot_required=sorted(params) != sorted(running_params()),
        diff=dict(before=before, after=after, before_header=p["grub_file"], after_header=p["grub_file"]),
    )
    if plan is not None:
        result["plan"] = plan
    if changed and not module.check_mode:
        module.atomic_move(write_temp(module, after, p["grub_file"]), p["grub_file"])
        if p["update_grub"]:
            binary = module.get_bin_path("update-grub") or module.get_bin_path("grub-mkconfig")
            if not binary:
                module.fail_json(msg="no update-grub or grub-mkconfig to apply the change", **result)
            cmd = [binary] if binary.endswith("update-grub") else [binary, "-o", "/boot/grub/grub.cfg"]
            rc, out, err = module.run_command(cmd)
            if rc != 0:
                module.fail_json(msg="%s failed: %s" % (binary, err.strip()), **result)
    module.exit_json(**result)


def write_temp(module, text, beside):
    import os
    import tempfile

    fd, path = tempfile.mkstemp(dir=os.path.dirname(beside) or ".", prefix=".pmemctl-grub-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


if __name__ == "__main__":
    main()
