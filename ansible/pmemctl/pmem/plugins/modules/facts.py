#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: facts
short_description: Persistent memory of a host as facts, from pmemctl list
description:
  - Runs C(pmemctl list --json) and returns its document as the C(pmem) fact
    (regions, namespaces, mounts, CXL, warnings), without a local C(.fact) file.
  - Changes nothing; check mode runs it too.
version_added: 0.1.0
extends_documentation_fragment:
  - pmemctl.pmem.pmemctl
author: pmemctl developers
options:
  root:
    description:
      - Read a captured tree (a sosreport) under this directory instead of the host.
    type: path
notes:
  - Needs C(pmemctl) on the managed host (the C(pmemctl) Debian package).
"""

EXAMPLES = r"""
- name: What persistent memory does each host have?
  pmemctl.pmem.facts:

- name: Hosts with a DAX-capable namespace
  ansible.builtin.debug:
    msg: "{{ ansible_facts.pmem.regions | map(attribute='namespaces') | flatten | selectattr('dax') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    pmem:
      description: C(pmemctl list --json)'s document.
      returned: always
      type: dict
      sample: {"regions": [{"start": 1073741824, "size": 268435456, "provider": "e820"}], "warnings": []}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pmemctl.pmem.plugins.module_utils.pmemctl import run_json


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path"),
            pmemctl=dict(type="str", default="pmemctl"),
        ),
        supports_check_mode=True,
    )
    args = ["list"]
    if module.params["root"]:
        args += ["--root", module.params["root"]]
    # list exits 1 when a memmap= request did not become pmem: still facts.
    rc, doc, err = run_json(module, args, ok_codes=(0, 1))
    module.exit_json(changed=False, ansible_facts={"pmem": doc}, rc=rc)


if __name__ == "__main__":
    main()
