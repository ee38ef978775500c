# -*- coding: utf-8 -*-
# Copyright: postmulti developers
# MIT License (see LICENSE in the postmulti repository)
"""The options every module of the postmulti.postmulti collection takes
(module_utils' COMMON_ARGUMENT_SPEC), documented once."""

from __future__ import annotations


class ModuleDocFragment(object):
    """postmulti.postmulti.common: config_directory and postmulti_path."""

    DOCUMENTATION = r"""
options:
  config_directory:
    description:
      - The configuration directory of an alternate primary instance (C(postmulti -c)),
        an absolute path.
      - By default the primary is C(/etc/postfix).
    type: path
  postmulti_path:
    description:
      - The postmulti binary to run.
      - By default it is looked up on the target's E(PATH) and in the sbin directories.
    type: path
"""
