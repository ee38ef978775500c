#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: postmulti developers
# MIT License (see LICENSE in the postmulti repository)
"""The postmulti.postmulti.facts module: postmulti -l -j as facts."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: facts
short_description: Gather the Postfix instances of a host as facts
description:
  - Lists the host's Postfix instances with C(postmulti -l -j) and returns
    them as the fact C(postmulti), a list in listing order, the primary
    instance first.
  - Fails, with postmulti's warnings as the message, when an instance is
    broken (its C(main.cf) missing or invalid, or in conflict with another),
    since the list would be incomplete.
  - Needs postmulti 0.2.0 or later on the target.
version_added: 0.2.0
author:
  - postmulti developers (!UNKNOWN)
requirements:
  - postmulti 0.2.0 or later on the target
attributes:
  check_mode:
    support: full
    description: Changes nothing in any mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  facts:
    support: full
    description: Returns the fact C(postmulti).
  platform:
    platforms: posix
    support: full
    description: Runs where postmulti runs.
extends_documentation_fragment:
  - postmulti.postmulti.common
seealso:
  - module: postmulti.postmulti.instances
"""

EXAMPLES = r"""
- name: Gather the instances
  postmulti.postmulti.facts:

- name: Show the running ones
  ansible.builtin.debug:
    msg: "{{ item.name }} runs as {{ item.pid }}"
  loop: "{{ ansible_facts.postmulti | selectattr('running') | list }}"
  when: not item.primary
"""

RETURN = r"""
ansible_facts:
  description: The facts.
  returned: always
  type: dict
  contains:
    postmulti:
      description: The instances, in listing order, the primary first.
      returned: always
      type: list
      elements: dict
      contains:
        name:
          description: The instance's name, null when it has none (as the primary usually).
          type: str
          sample: postfix-out
        group:
          description: The instance's group, null when it has none.
          type: str
          sample: mta
        enabled:
          description: Whether the instance is enabled.
          type: bool
        directories:
          description: The instance's C(config_directory), C(queue_directory) and C(data_directory).
          type: dict
          sample:
            config_directory: /etc/postfix-out
            queue_directory: /var/spool/postfix-out
            data_directory: /var/lib/postfix-out
        running:
          description: Whether the instance's master daemon runs.
          type: bool
        pid:
          description: The master daemon's process id, null when it is not running.
          type: int
        primary:
          description: Whether this is the primary instance.
          type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.postmulti.postmulti.plugins.module_utils.postmulti import (
    COMMON_ARGUMENT_SPEC,
    Postmulti,
    PostmultiError,
    facts_from_listing,
)


def main():
    """Lists the instances and returns them as facts."""
    module = AnsibleModule(argument_spec=dict(COMMON_ARGUMENT_SPEC), supports_check_mode=True)
    postmulti = Postmulti(module)
    rc, out, err = postmulti.run(["-l", "-j"])
    if rc != 0:
        postmulti.fail(rc, out, err)
    try:
        instances = facts_from_listing(out)
    except PostmultiError as error:
        module.fail_json(msg=str(error), rc=rc, stdout=out, stderr=err)
    postmulti.warn(err)
    module.exit_json(changed=False, ansible_facts=dict(postmulti=instances))


if __name__ == "__main__":
    main()
