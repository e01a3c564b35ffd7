# -*- coding: utf-8 -*-
# GNU General Public License v2.0 only (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The option every module that runs pmemctl has."""

    DOCUMENTATION = r"""
options:
  pmemctl:
    description: The pmemctl command to run (a name on the PATH, or a path).
    type: str
    default: pmemctl
"""
