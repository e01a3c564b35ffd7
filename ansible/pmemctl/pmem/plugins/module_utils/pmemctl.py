# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)
"""Runs pmemctl with --json for the modules of this collection: each module
is a thin wrapper, and pmemctl does the work and says what it did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


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
