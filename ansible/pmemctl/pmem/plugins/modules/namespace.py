#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: namespace
short_description: A libnvdimm namespace of a given mode and size, through ndctl
description:
  - Makes sure a libnvdimm namespace of I(mode) (and I(size), I(map)) exists,
    with C(ndctl create-namespace); or that I(namespace) is gone.
  - With I(namespace), that namespace is reconfigured in place when its mode,
    map or size differ, with C(ndctl create-namespace --force --reconfig); this
    is how a C(memmap=) range, whose one namespace the kernel makes, becomes
    C(devdax) or C(sector).
  - Without it, a namespace of I(region) (or of any pmem region) that already
    has the mode, map and size asked for is left alone; otherwise one is made
    in I(region) from free capacity.
  - Idempotent by mode, map and size; supports check mode (the C(ndctl)
    command that would run is returned in I(commands)).
  - Reconfiguring or destroying a namespace destroys the data on it.
version_added: 0.1.0
author: pmemctl developers
requirements:
  - ndctl
options:
  mode:
    description: The namespace's mode.
    type: str
    choices: [fsdax, devdax, sector, raw]
    default: fsdax
  size:
    description: The namespace's size (C(4G)); the whole free capacity, or the whole namespace, when not given.
    type: str
  map:
    description: Where the page map of an C(fsdax) or C(devdax) namespace lives (C(mem) or C(dev)); ndctl's default when not given.
    type: str
    choices: [mem, dev]
  region:
    description: The region (C(region0)) to look in and to make a namespace in.
    type: str
  namespace:
    description: One namespace (C(namespace0.0)) to configure, or to destroy with I(state=absent).
    type: str
  state:
    description: C(present) or C(absent) (I(namespace) is required for C(absent)).
    type: str
    choices: [present, absent]
    default: present
  ndctl:
    description: The ndctl command to run.
    type: str
    default: ndctl
"""

EXAMPLES = r"""
- name: The memmap= range as device-DAX
  pmemctl.pmem.namespace:
    namespace: namespace0.0
    mode: devdax

- name: An 8 GiB fsdax namespace in region1
  pmemctl.pmem.namespace:
    region: region1
    size: 8G
"""

RETURN = r"""
namespace:
  description: ndctl's description of the namespace (C(ndctl list -N)), when it exists.
  returned: when state is present and not in check mode, or when nothing changes
  type: dict
  sample: {"dev": "namespace0.0", "mode": "fsdax", "map": "mem", "size": 268435456, "blockdev": "pmem0"}
commands:
  description: The ndctl commands run, or that would run in check mode.
  returned: always
  type: list
  elements: list
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pmemctl.pmem.plugins.module_utils.pmemctl import NAMESPACE_SLACK, size_of


def ndctl(module, args):
    binary = module.get_bin_path(module.params["ndctl"], required=True)
    rc, out, err = module.run_command([binary] + args)
    if rc != 0:
        module.fail_json(msg="ndctl %s: %s" % (" ".join(args), err.strip() or "exit %d" % rc), rc=rc)
    try:
        return json.loads(out) if out.strip() else None
    except ValueError as e:
        module.fail_json(msg="ndctl %s printed no JSON: %s" % (" ".join(args), e))


def as_list(doc, key):
    """ndctl prints one object bare, several in a list, and nothing at all."""
    if doc is None:
        return []
    if isinstance(doc, dict):
        return doc.get(key, [doc]) if key in doc or "dev" in doc else []
    return doc


def namespaces(module, region):
    args = ["list", "--namespaces"] + (["--region", region] if region else [])
    return [n for n in as_list(ndctl(module, args), "namespaces") if n.get("dev")]


def fits(ns, p, want):
    if ns.get("mode") != p["mode"]:
        return False
    if p["map"] and p["mode"] in ("fsdax", "devdax") and ns.get("map") != p["map"]:
        return False
    if want is not None:
        got = ns.get("size", 0)
        if got > want or got < want * (1 - NAMESPACE_SLACK):
            return False
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", default="fsdax", choices=["fsdax", "devdax", "sector", "raw"]),
            size=dict(type="str"),
            map=dict(type="str", choices=["mem", "dev"]),
            region=dict(type="str"),
            namespace=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            ndctl=dict(type="str", default="ndctl"),
        ),
        required_if=[("state", "absent", ["namespace"])],
        supports_check_mode=True,
    )
    p = module.params
    want = None
    if p["size"]:
        want = size_of(p["size"])
        if want is None:
            module.fail_json(msg="size: '%s' is not a size" % p["size"])
    found = namespaces(module, p["region"])
    named = [n for n in found if n["dev"] == p["namespace"]] if p["namespace"] else None
    if p["namespace"] and not named and p["state"] == "present":
        module.fail_json(msg="namespace: no %s%s" % (p["namespace"], " in " + p["region"] if p["region"] else ""))

    command = None
    current = None
    if p["state"] == "absent":
        if named:
            command = ["destroy-namespace", "--force", p["namespace"]]
    elif named:
        current = named[0]
        if not fits(current, p, want):
            command = ["create-namespace", "--force", "--reconfig", p["namespace"], "--mode", p["mode"]]
    else:
        fitting = [n for n in found if fits(n, p, want)]
        if fitting:
            current = fitting[0]
        else:
            command = ["create-namespace", "--mode", p["mode"]]
            if p["region"]:
                command += ["--region", p["region"]]
    if command and command[0] == "create-namespace":
        if p["map"] and p["mode"] in ("fsdax", "devdax"):
            command += ["--map", p["map"]]
        if p["size"]:
            command += ["--size", p["size"]]

    result = dict(changed=command is not None, commands=[["ndctl"] + command] if command else [])
    if command and not module.check_mode:
        made = ndctl(module, command)
        if command[0] == "create-namespace":
            current = made
    if current is not None:
        result["namespace"] = current
    module.exit_json(**result)


if __name__ == "__main__":
    main()
