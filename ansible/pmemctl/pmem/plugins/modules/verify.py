#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify
short_description: Prove a pmem range holds data, with pmemctl verify
description:
  - Runs C(pmemctl verify PATH --mode MODE --json) and fails the task when the
    result is C(fail), returning the report either way.
  - C(scan) and C(check) only read; C(rw) tests each window and puts it back;
    C(destructive) and C(stamp) overwrite the range and need I(force).
  - In check mode, C(scan) and C(check) run; the writing modes report what they
    would change and do not run.
version_added: 0.1.0
extends_documentation_fragment:
  - pmemctl.pmem.pmemctl
author: pmemctl developers
options:
  path:
    description: The target, C(/dev/pmemN), C(/dev/daxN.M) or a file.
    type: path
    required: true
  mode:
    description: What to prove.
    type: str
    choices: [scan, rw, destructive, stamp, check]
    default: scan
  force:
    description: Let C(destructive) and C(stamp) overwrite the range.
    type: bool
    default: false
  length:
    description: How many bytes (default to the end), as pmemctl reads sizes (C(4K), C(1G)).
    type: str
  offset:
    description: Where the range starts.
    type: str
  record:
    description:
      - Record the result in pmemctl's state file, for C(pmemctl export).
      - A record is a log entry, not a change of the host's configuration, so
        a read-only mode with I(record) still reports C(changed=false).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Scan the first pmem device and record the result
  pmemctl.pmem.verify:
    path: /dev/pmem0
    record: true

- name: Test every window of a DAX file and put it back
  pmemctl.pmem.verify:
    path: /mnt/pmem/data
    mode: rw
"""

RETURN = r"""
report:
  description: C(pmemctl verify --json)'s report.
  returned: when pmemctl ran
  type: dict
  sample: {"mode": "scan", "result": "pass", "bytes_checked": 268435456, "mismatch_count": 0}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pmemctl.pmem.plugins.module_utils.pmemctl import run_json

WRITING = ("rw", "destructive", "stamp")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            mode=dict(type="str", default="scan", choices=["scan", "rw", "destructive", "stamp", "check"]),
            force=dict(type="bool", default=False),
            length=dict(type="str"),
            offset=dict(type="str"),
            record=dict(type="bool", default=False),
            pmemctl=dict(type="str", default="pmemctl"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    # destructive and stamp leave the range changed; rw puts it back; a
    # record is a log entry (a second run of a playbook changes nothing).
    changed = p["mode"] in ("destructive", "stamp")
    if module.check_mode and p["mode"] in ("destructive", "stamp") and not p["force"]:
        # What pmemctl itself would answer, without running it.
        module.fail_json(msg="pmemctl: verify --mode %s: overwrites the range: pass --force" % p["mode"])
    if module.check_mode and p["mode"] in WRITING:
        module.exit_json(changed=changed, msg="check mode: %s would run" % p["mode"])
    args = ["verify", p["path"], "--mode", p["mode"]]
    for name in ("length", "offset"):
        if p[name] is not None:
            args += ["--" + name, p[name]]
    if p["force"]:
        args.append("--force")
    if p["record"] and not module.check_mode:
        args.append("--record")
    rc, report, err = run_json(module, args, ok_codes=(0, 1))
    if rc == 1 or (report or {}).get("result") != "pass":
        module.fail_json(msg=err.strip() or "verify: %s" % (report or {}).get("result"), report=report, rc=rc)
    module.exit_json(changed=changed and not module.check_mode, report=report)


if __name__ == "__main__":
    main()
