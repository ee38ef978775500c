# -*- coding: utf-8 -*-
# Copyright: postmulti developers
# MIT License (see LICENSE in the postmulti repository)
"""Shared by the postmulti.postmulti modules: finding and checking the
postmulti binary, running it, and translating between Ansible's data and
postmulti's manifest (TOML) and JSON output. No decision about instances is
taken here: postmulti takes them all."""

from __future__ import annotations

import json
import os
import re

# The oldest postmulti whose --version, --plan, --apply and -j this
# collection speaks.
MINIMUM_VERSION = (0, 2, 0)

# The options every module of the collection takes.
COMMON_ARGUMENT_SPEC = dict(
    postmulti_path=dict(type="path"),
    config_directory=dict(type="path"),
)

# The keys of an entry of the instances option, in manifest order.
INSTANCE_KEYS = ("name", "group", "enabled", "template")

# The keys of an entry's directories.
DIRECTORY_KEYS = ("config_directory", "queue_directory", "data_directory")

# Escapes of a TOML basic string that have a short form.
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


class PostmultiError(Exception):
    """A problem the module reports as its failure message."""


def toml_string(value):
    """The TOML basic string (with its quotes) whose value is `value`.

    Quotes, backslashes and control characters are escaped; every other
    character, astral ones included, is written as it is (TOML files are
    UTF-8). A lone surrogate (which no UTF-8 text can hold) is refused.
    """
    out = ['"']
    for char in value:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append("\\u%04X" % code)
        elif 0xD800 <= code <= 0xDFFF:
            raise PostmultiError(
                "%r holds a lone surrogate (U+%04X), which is not text" % (value, code)
            )
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def main_cf_value(instance, parameter, value):
    """The text of one main_cf value: a string as it is, an integer in
    decimal; anything else (YAML's yes/no booleans, null, lists) is refused,
    since Postfix's own spelling cannot be guessed from it."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    if isinstance(value, bool):
        kind, hint = "the boolean %s" % str(value).lower(), " (for example '%s')" % ("yes" if value else "no")
    elif value is None:
        kind, hint = "null", " ('' for an empty value)"
    else:
        kind, hint = "a %s" % type(value).__name__, ""
    raise PostmultiError(
        "instance %s: main_cf value of %s is %s, not a string: quote it in YAML%s"
        % (instance, parameter, kind, hint)
    )


def build_manifest(instances, prune=None):
    """The TOML manifest for the instances option (a list of dicts with the
    keys of INSTANCE_KEYS, main_cf and directories, None where not given)
    and the prune option."""
    lines = []
    if prune is not None:
        lines.append("prune = %s" % toml_string(prune))
    for instance in instances:
        name = instance["name"]
        lines.append("")
        lines.append("[[instance]]")
        for key in INSTANCE_KEYS:
            value = instance.get(key)
            if value is None:
                continue
            if isinstance(value, bool):
                lines.append("%s = %s" % (key, "true" if value else "false"))
            else:
                lines.append("%s = %s" % (key, toml_string(value)))
        main_cf = instance.get("main_cf")
        if main_cf is not None:
            lines.append("[instance.main_cf]")
            for parameter, value in main_cf.items():
                lines.append(
                    "%s = %s"
                    % (
                        toml_string(str(parameter)),
                        toml_string(main_cf_value(name, parameter, value)),
                    )
                )
        directories = instance.get("directories")
        if directories is not None:
            lines.append("[instance.directories]")
            for key in DIRECTORY_KEYS:
                if directories.get(key) is not None:
                    lines.append("%s = %s" % (key, toml_string(directories[key])))
    return "\n".join(lines).lstrip("\n") + "\n"


def parse_version(text):
    """The (major, minor, patch) of `postmulti --version`'s output
    (`postmulti X.Y.Z`), or None when it is not that."""
    match = re.match(r"\Apostmulti (\d+)\.(\d+)\.(\d+)\s*\Z", text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups())


def diff_from_files(files):
    """Ansible's diff list from the `files` of postmulti's JSON document:
    one before/after pair per file, headed by its path."""
    return [
        dict(
            before=entry["before"],
            after=entry["after"],
            before_header=entry["path"],
            after_header=entry["path"],
        )
        for entry in files
    ]


def facts_from_listing(text):
    """The instances of `postmulti -l -j` (one JSON object per line), in
    listing order, as the facts module returns them: `-` (no name or group)
    becomes null, `y`/`n` a boolean, and the three directories a dict."""
    facts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise PostmultiError(
                "postmulti -l -j printed line %d that is not JSON (%s): %s"
                % (number, error, line)
            )
        facts.append(
            dict(
                name=_dash_is_none(entry["name"]),
                group=_dash_is_none(entry["group"]),
                enabled=entry["enabled"] == "y",
                directories=dict((key, entry[key]) for key in DIRECTORY_KEYS),
                running=entry["running"],
                pid=entry["pid"],
                primary=entry["primary"],
            )
        )
    return facts


def _dash_is_none(value):
    """None for the `-` that the listing shows for no name or group."""
    return None if value == "-" else value


class Postmulti(object):
    """The postmulti binary of a module's target, checked once for its
    version, with the module's `-c DIR`."""

    def __init__(self, module):
        self.module = module
        self._check_config_directory()
        self.path = self._find()
        self._check_version()

    # Fails the module unless config_directory (when given) is an absolute
    # path, as postmulti's -c wants: one starting with '-' would otherwise
    # be read by postmulti's parser as an option after -c, not as its value.
    def _check_config_directory(self):
        directory = self.module.params.get("config_directory")
        if directory is not None and not directory.startswith("/"):
            self.module.fail_json(
                msg="config_directory %r is not an absolute path" % directory
            )

    # The binary at postmulti_path, or on the target's PATH (and the sbin
    # directories Ansible adds); fails the module when there is none.
    def _find(self):
        path = self.module.params.get("postmulti_path")
        if path is not None:
            if not self._is_executable(path):
                self.module.fail_json(
                    msg="postmulti_path %s is not an executable file" % path
                )
            return path
        found = self.module.get_bin_path("postmulti")
        if found is None:
            self.module.fail_json(
                msg="postmulti was not found on the target's PATH or in the sbin "
                "directories: install postmulti %s or later, or set postmulti_path"
                % _dotted(MINIMUM_VERSION)
            )
        return found

    # Whether `path` is a regular file this user may execute.
    @staticmethod
    def _is_executable(path):
        return os.path.isfile(path) and os.access(path, os.X_OK)

    # Fails the module unless `postmulti --version` names MINIMUM_VERSION or
    # later (Postfix's own postmulti has no --version and fails).
    def _check_version(self):
        rc, out, err = self.module.run_command(
            [self.path, "--version"], expand_user_and_vars=False
        )
        version = parse_version(out) if rc == 0 else None
        if version is None:
            printed = (out + err).strip()
            self.module.fail_json(
                msg="%s is not postmulti %s or later: '%s --version' exited %d %s "
                "(Postfix's own postmulti has no --version)"
                % (
                    self.path,
                    _dotted(MINIMUM_VERSION),
                    self.path,
                    rc,
                    "and printed %r" % printed if printed else "without output",
                ),
                rc=rc,
                stdout=out,
                stderr=err,
            )
        if version < MINIMUM_VERSION:
            self.module.fail_json(
                msg="%s is postmulti %s; this collection needs postmulti %s or later"
                % (self.path, _dotted(version), _dotted(MINIMUM_VERSION))
            )

    def run(self, args, data=None):
        """Runs postmulti with `-c DIR` (when config_directory is set) and
        `args`, feeding `data` on standard input; returns (rc, stdout,
        stderr). Never through a shell, and each argument exactly as given:
        no second expansion of `~` or `$VAR` (the argument spec already
        expands path options once)."""
        command = [self.path]
        config_directory = self.module.params.get("config_directory")
        if config_directory is not None:
            command += ["-c", config_directory]
        command += args
        return self.module.run_command(
            command, data=data, binary_data=True, expand_user_and_vars=False
        )

    def fail(self, rc, out, err, **extra):
        """Fails the module with postmulti's own message."""
        message = err.strip() or "postmulti exited %d without a message" % rc
        self.module.fail_json(msg=message, rc=rc, stdout=out, stderr=err, **extra)

    def warn(self, err):
        """Passes postmulti's warnings (its standard error of a successful
        run) on as Ansible warnings."""
        for line in err.splitlines():
            if line.strip():
                self.module.warn(line)


def _dotted(version):
    """`X.Y.Z` of a version tuple."""
    return ".".join(str(part) for part in version)
