#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cxl_region
short_description: Turn free CXL persistent capacity into a region and a namespace
description:
  - Makes sure the host has a CXL persistent-memory region holding a namespace
    of I(mode) (and at least I(size), when given).
  - When none does, C(pmemctl plan cxl --json) plans the C(cxl create-region)
    and C(ndctl create-namespace) commands for free capacity, and the module
    runs them in order.
  - A host whose fitting region exists already is left alone; a host with
    no free capacity and no fitting region fails with pmemctl's reason.
  - Supports check mode (the commands that would run are returned).
version_added: 0.1.0
extends_documentation_fragment:
  - pmemctl.pmem.pmemctl
author: pmemctl developers
requirements:
  - cxl and ndctl (the ndctl package)
options:
  size:
    description: The region's size (C(4G)); all free capacity behind one decoder when not given.
    type: str
  mode:
    description: The namespace's mode.
    type: str
    choices: [fsdax, devdax]
    default: fsdax
  root:
    description: Read a captured system tree instead of the host's (for planning only).
    type: path
"""

EXAMPLES = r"""
- name: All free CXL persistent capacity as fsdax
  pmemctl.pmem.cxl_region:

- name: 64 GiB of it as device-DAX
  pmemctl.pmem.cxl_region:
    size: 64G
    mode: devdax
"""

RETURN = r"""
region:
  description: pmemctl's description of the fitting region (C(pmemctl list --json)), when one exists.
  returned: when a fitting region exists, or was made
  type: dict
commands:
  description: The commands run, or that would run in check mode.
  returned: always
  type: list
  elements: str
plan:
  description: C(pmemctl plan cxl --json)'s plan, when one was made.
  returned: when no fitting region existed
  type: dict
"""

import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pmemctl.pmem.plugins.module_utils.pmemctl import NAMESPACE_SLACK, run_json, size_of


def fitting(inventory, mode, want):
    """The first CXL persistent region with a namespace of mode (and size)."""
    for region in (inventory or {}).get("regions", []):
        if region.get("provider") != "CXL" or not region.get("persistent"):
            continue
        if want is not None and region.get("size", 0) < want * (1 - NAMESPACE_SLACK):
            continue
        if any(ns.get("mode") == mode for ns in region.get("namespaces", [])):
            return region
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            size=dict(type="str"),
            mode=dict(type="str", default="fsdax", choices=["fsdax", "devdax"]),
            root=dict(type="path"),
            pmemctl=dict(type="str", default="pmemctl"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["root"] and not module.check_mode:
        module.fail_json(msg="root: a captured tree can only be planned for (check mode)")
    want = None
    if p["size"]:
        want = size_of(p["size"])
        if want is None:
            module.fail_json(msg="size: '%s' is not a size" % p["size"])
    where = ["--root", p["root"]] if p["root"] else []
    rc, inventory, err = run_json(module, ["list"] + where)
    region = fitting(inventory, p["mode"], want)
    if region is not None:
        module.exit_json(changed=False, region=region, commands=[])
    rc, plan, err = run_json(module, ["plan", "cxl"] + ([p["size"]] if p["size"] else []) + ["--mode", p["mode"]] + where)
    result = dict(changed=True, plan=plan, commands=plan["commands"])
    if module.check_mode:
        module.exit_json(**result)
    for command in plan["commands"]:
        rc, out, err = module.run_command(shlex.split(command))
        if rc != 0:
            module.fail_json(msg="%s: %s" % (command, err.strip() or "exit %d" % rc), rc=rc, **result)
    rc, inventory, err = run_json(module, ["list"])
    region = fitting(inventory, p["mode"], None)
    if region is None:
        module.fail_json(msg="the commands ran, but pmemctl list shows no CXL %s region" % p["mode"], **result)
    result["region"] = region
    module.exit_json(**result)


if __name__ == "__main__":
    main()
