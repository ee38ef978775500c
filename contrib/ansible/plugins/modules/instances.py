#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: postmulti developers
# MIT License (see LICENSE in the postmulti repository)
"""The postmulti.postmulti.instances module: a manifest handed to
postmulti --apply (or --plan in check mode), and its JSON answer returned."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instances
short_description: Converge the Postfix instances of a host with postmulti
description:
  - Declares the Postfix instances a host runs, in start order, and hands them
    as a manifest to C(postmulti --apply) on the target, which creates, imports,
    names, groups, enables, disables and edits them until the host matches.
  - In check mode the manifest goes to C(postmulti --plan) instead, which
    reports what would change and changes nothing.
  - Every decision is postmulti's; the module only translates its options into
    the manifest and postmulti's JSON answer into the result.
  - Needs postmulti 0.2.0 or later on the target (Postfix's own postmulti has
    no C(--plan) or C(--apply)).
version_added: 0.2.0
author:
  - postmulti developers (!UNKNOWN)
requirements:
  - postmulti 0.2.0 or later on the target
attributes:
  check_mode:
    support: full
    description: Runs C(postmulti --plan), which changes nothing and reports what C(--apply) would do.
  diff_mode:
    support: full
    description: Returns the before and after text of every file postmulti writes (or would write).
  platform:
    platforms: posix
    support: full
    description: Runs where postmulti runs.
options:
  instances:
    description:
      - The instances of the host, in start order, one manifest C([[instance]]) entry each.
      - Instances on the host that are not listed are left alone and returned in
        RV(unmanaged), unless O(prune) says otherwise.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The instance's name (C(multi_instance_name)); it starts with C(postfix-).
        type: str
        required: true
      group:
        description:
          - The instance's group (C(multi_instance_group)).
        type: str
      enabled:
        description:
          - Whether the instance is enabled (C(multi_instance_enable)), so that
            C(postfix start) starts it.
        type: bool
        default: true
      template:
        description:
          - A directory of C(main.cf) and C(master.cf) prototypes for the
            instance, used only when postmulti creates it.
        type: path
      main_cf:
        description:
          - Parameters to set in the instance's C(main.cf) as C(postconf -e)
            would; parameters not listed are left as they are.
          - Values are strings; a YAML boolean or null is refused, so write
            C('no'), C('yes') or C('') quoted. Integers are written in decimal.
        type: dict
      directories:
        description:
          - Where the instance lives; each directory not given is the one
            postmulti derives from the name (for example C(/etc/postfix-out)).
        type: dict
        suboptions:
          config_directory:
            description: The instance's configuration directory.
            type: path
          queue_directory:
            description: The instance's queue directory.
            type: path
          data_directory:
            description: The instance's data directory.
            type: path
  prune:
    description:
      - What happens to instances on the host that O(instances) does not list.
      - V(none) leaves them alone, V(deport) deports them, and V(destroy)
        destroys them when they are stopped and their queues are empty.
      - When not set, the manifest has no C(prune) key and postmulti's default
        (leaving them alone) applies.
    type: str
    choices: [none, deport, destroy]
  reload:
    description:
      - Reload the running instances whose C(main.cf) the apply changed
        (C(postmulti --apply --reload)). In check mode the reloads are
        reported (C(postmulti --plan --reload)), not done.
    type: bool
    default: false
  start:
    description:
      - Start the enabled instances that are stopped (C(postmulti --apply --start)).
        In check mode the starts are reported, not done.
    type: bool
    default: false
extends_documentation_fragment:
  - postmulti.postmulti.common
notes:
  - The manifest goes to postmulti on its standard input; no file is written
    on the target.
seealso:
  - module: postmulti.postmulti.facts
"""

EXAMPLES = r"""
- name: Two instances, an outbound relay and a disabled inbound one
  postmulti.postmulti.instances:
    instances:
      - name: postfix-out
        group: mta
        main_cf:
          relayhost: "[relay.example.com]:587"
          inet_interfaces: "127.0.0.1"
      - name: postfix-in
        group: mta
        enabled: false
        template: /etc/postfix/templates/inbound
    reload: true

- name: Only these instances, deport any other
  postmulti.postmulti.instances:
    instances:
      - name: postfix-out
    prune: deport

- name: An instance of an alternate primary, in directories of its own
  postmulti.postmulti.instances:
    config_directory: /srv/mail/etc/postfix
    postmulti_path: /usr/local/sbin/postmulti
    instances:
      - name: postfix-test
        directories:
          config_directory: /srv/mail/etc/postfix-test
          queue_directory: /srv/mail/spool/postfix-test
          data_directory: /srv/mail/lib/postfix-test
"""

RETURN = r"""
actions:
  description:
    - What postmulti did (or in check mode would do), in order, as its C(-j)
      output lists them.
  returned: success
  type: list
  elements: dict
  contains:
    kind:
      description:
        - The action, one of C(init), C(create), C(import), C(assign), C(enable),
          C(disable), C(set), C(reorder), C(deport), C(destroy), C(reload) and C(start).
      type: str
      sample: set
    instance:
      description: The instance's name (C(-) for the primary, its configuration directory when it has none).
      type: str
      sample: postfix-out
    config_directory:
      description: The instance's configuration directory.
      type: str
      sample: /etc/postfix-out
    description:
      description: The action as C(postmulti --plan) prints it.
      type: str
      sample: "set postfix-out: relayhost = [relay.example.com]:587 (not set)"
    parameter:
      description: For C(set), the main.cf parameter.
      type: str
      returned: when kind is set
      sample: relayhost
    old:
      description: For C(set), the value before, null when main.cf did not set it.
      type: str
      returned: when kind is set
    new:
      description: For C(set), the value after.
      type: str
      returned: when kind is set
unmanaged:
  description: Instances on the host that O(instances) does not list (their names or, without one, configuration directories).
  returned: success
  type: list
  elements: str
  sample: [postfix-old]
diff:
  description: In diff mode, the before and after text of each file written (or that would be written), headed by its path.
  returned: success, in diff mode
  type: list
  elements: dict
stderr:
  description: postmulti's standard error (its warnings, or its error message on failure).
  returned: always
  type: str
rc:
  description: postmulti's exit status.
  returned: failure
  type: int
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.postmulti.postmulti.plugins.module_utils.postmulti import (
    COMMON_ARGUMENT_SPEC,
    Postmulti,
    PostmultiError,
    build_manifest,
    diff_from_files,
)

# The exit statuses of --plan (0: the host matches, 2: changes pending) and
# of --apply (0) that are not errors.
PLAN_SUCCESS = (0, 2)
APPLY_SUCCESS = (0,)


def argument_spec():
    """The module's options, as documented above."""
    directories = dict(
        config_directory=dict(type="path"),
        queue_directory=dict(type="path"),
        data_directory=dict(type="path"),
    )
    instance = dict(
        name=dict(type="str", required=True),
        group=dict(type="str"),
        enabled=dict(type="bool", default=True),
        template=dict(type="path"),
        main_cf=dict(type="dict"),
        directories=dict(type="dict", options=directories),
    )
    spec = dict(
        instances=dict(type="list", elements="dict", required=True, options=instance),
        prune=dict(type="str", choices=["none", "deport", "destroy"]),
        reload=dict(type="bool", default=False),
        start=dict(type="bool", default=False),
    )
    spec.update(COMMON_ARGUMENT_SPEC)
    return spec


def main():
    """Hands the manifest to postmulti and returns its answer."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        manifest = build_manifest(module.params["instances"], module.params["prune"])
    except PostmultiError as error:
        module.fail_json(msg=str(error))
    postmulti = Postmulti(module)
    if module.check_mode:
        args, success = ["--plan", "-", "-j"], PLAN_SUCCESS
    else:
        args, success = ["--apply", "-", "-j"], APPLY_SUCCESS
    if module.params["reload"]:
        args.append("--reload")
    if module.params["start"]:
        args.append("--start")
    rc, out, err = postmulti.run(args, data=manifest)
    if rc not in success:
        postmulti.fail(rc, out, err)
    try:
        answer = json.loads(out)
    except ValueError as error:
        module.fail_json(
            msg="postmulti printed no JSON document (%s)" % error, rc=rc, stdout=out, stderr=err
        )
    postmulti.warn(err)
    # No rc: Ansible takes a result with a non-zero rc (--plan's 2) for a
    # failure.
    result = dict(
        changed=answer["changed"],
        actions=answer["actions"],
        unmanaged=answer["unmanaged"],
        stderr=err,
    )
    if module._diff:
        result["diff"] = diff_from_files(answer["files"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
