# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)
"""Runs pmemctl with --json for the modules of this collection: each module
is a thin wrapper, and pmemctl does the work and says what it did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# A namespace's usable size is smaller than its region, or than the size
# asked for, by its page map and alignment: this much smaller still counts
# as the size asked for.
NAMESPACE_SLACK = 1 / 16.0

SUFFIX = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}


def run_json(module, args, ok_codes=(0,)):
    """Runs `pmemctl ARGS --json`; returns (rc, document, stderr).

    A code outside ok_codes fails the task with pmemctl's own one-line
    message, which names what failed and why.
    """
    binary = module.params.get("pmemctl") or "pmemctl"
    path = module.get_bin_path(binary, required=False) or binary
    rc, out, err = module.run_command([path] + list(args) + ["--json"])
    if rc not in ok_codes:
        module.fail_json(
            msg=err.strip() or "pmemctl %s failed (exit %d)" % (" ".join(args), rc),
            rc=rc,
            stderr=err,
        )
    try:
        doc = json.loads(out) if out.strip() else None
    except ValueError as e:
        module.fail_json(msg="pmemctl %s printed no JSON: %s" % (" ".join(args), e), rc=rc)
    return rc, doc, err


def size_of(text):
    """A kernel-style size (memparse): 4096, 0x1000, 4K, 1G; None if not one."""
    m = re.match(r"^(0x[0-9a-fA-F]+|\d+)([KMGTkmgt]?)$", text.strip())
    if not m:
        return None
    base = int(m.group(1), 16) if m.group(1).lower().startswith("0x") else int(m.group(1))
    return base * SUFFIX[m.group(2).upper()]
