# -*- coding: utf-8 -*-
# Copyright: postmulti developers
# MIT License (see LICENSE in the postmulti repository)
"""Unit tests of the translations in module_utils/postmulti.py: manifests
read back with Python's own TOML parser (tomllib, Python 3.11), versions,
listings and diffs; and how postmulti is run. Runs with `python -m unittest` (and under pytest)."""

from __future__ import annotations

import json
import random
import sys
import unittest

from ansible_collections.postmulti.postmulti.plugins.module_utils.postmulti import (
    Postmulti,
    PostmultiError,
    build_manifest,
    diff_from_files,
    facts_from_listing,
    parse_version,
    toml_string,
)

try:
    import tomllib
except ImportError:  # Python < 3.11: the TOML tests are skipped.
    tomllib = None

# Characters a TOML writer gets wrong: quotes, backslashes, every control
# character, DEL, non-ASCII, the last BMP characters and astral ones.
TRICKY = (
    ['"', "\\", "\\u0041", "'''", '"""', "#", "=", "[", "]", "\u00e9", "\u2028", "\ufeff"]
    + [chr(code) for code in range(0x20)]
    + ["\x7f", "\x80", "\x9f", "\ufffd", "\uffff", "\U0001f600", "\U0010ffff", "\U00010000"]
)


def instance(name, **fields):
    """An entry of the instances option as Ansible's argument spec hands it
    over: every key present, None where not given."""
    entry = dict(name=name, group=None, enabled=True, template=None, main_cf=None, directories=None)
    entry.update(fields)
    return entry


@unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
class TomlStringTest(unittest.TestCase):
    """toml_string writes basic strings that TOML reads back unchanged."""

    # Parses `key = <toml_string(value)>` and returns the value read back.
    def round_trip(self, value):
        return tomllib.loads("key = %s\n" % toml_string(value))["key"]

    def test_tricky_characters_alone_and_together(self):
        for text in TRICKY + ["".join(TRICKY), ""]:
            self.assertEqual(self.round_trip(text), text, repr(text))

    def test_random_strings(self):
        generator = random.Random(13)
        for _trial in range(2000):
            text = "".join(
                generator.choice(TRICKY) if generator.random() < 0.5 else chr(generator.randrange(0x110000))
                for _position in range(generator.randrange(12))
            )
            text = "".join(char for char in text if not 0xD800 <= ord(char) <= 0xDFFF)
            self.assertEqual(self.round_trip(text), text, repr(text))

    def test_astral_characters_are_not_surrogate_pairs(self):
        # json.dumps would write \\ud83d\\ude00, which TOML refuses.
        self.assertEqual(toml_string("\U0001f600"), '"\U0001f600"')

    def test_lone_surrogate_is_refused(self):
        with self.assertRaises(PostmultiError):
            toml_string("a\udc80b")


@unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
class ManifestTest(unittest.TestCase):
    """build_manifest writes the manifest of the documented format."""

    def test_every_key(self):
        manifest = build_manifest(
            [
                instance(
                    "postfix-out",
                    group="mta",
                    template="/etc/postfix/templates/out",
                    main_cf={"relayhost": "[relay.example.com]:587", "message_size_limit": 10240000},
                    directories=dict(
                        config_directory="/srv/etc/postfix-out",
                        queue_directory=None,
                        data_directory="/srv/lib/postfix-out",
                    ),
                ),
                instance("postfix-in", enabled=False),
            ],
            prune="deport",
        )
        self.assertEqual(
            tomllib.loads(manifest),
            {
                "prune": "deport",
                "instance": [
                    {
                        "name": "postfix-out",
                        "group": "mta",
                        "enabled": True,
                        "template": "/etc/postfix/templates/out",
                        "main_cf": {"relayhost": "[relay.example.com]:587", "message_size_limit": "10240000"},
                        "directories": {
                            "config_directory": "/srv/etc/postfix-out",
                            "data_directory": "/srv/lib/postfix-out",
                        },
                    },
                    {"name": "postfix-in", "enabled": False},
                ],
            },
        )

    def test_nothing_given_is_left_out(self):
        self.assertEqual(
            build_manifest([instance("postfix-a")]),
            '[[instance]]\nname = "postfix-a"\nenabled = true\n',
        )
        self.assertEqual(tomllib.loads(build_manifest([])), {})

    def test_hostile_strings_stay_values(self):
        hostile = 'x"\n[[instance]]\nname = "postfix-evil'
        manifest = build_manifest(
            [instance(hostile, group=hostile, main_cf={hostile: hostile + "\U0001f600\x7f"})]
        )
        self.assertEqual(
            tomllib.loads(manifest)["instance"],
            [
                {
                    "name": hostile,
                    "group": hostile,
                    "enabled": True,
                    "main_cf": {hostile: hostile + "\U0001f600\x7f"},
                }
            ],
        )

    def test_yaml_booleans_and_nulls_are_refused(self):
        for value, hint in ((False, "the boolean false"), (True, "the boolean true"), (None, "null"), ([1], "a list")):
            with self.assertRaises(PostmultiError) as caught:
                build_manifest([instance("postfix-a", main_cf={"biff": value})])
            self.assertIn("instance postfix-a: main_cf value of biff is %s" % hint, str(caught.exception))


class VersionTest(unittest.TestCase):
    """parse_version reads `postmulti --version`."""

    def test_versions(self):
        self.assertEqual(parse_version("postmulti 0.2.0\n"), (0, 2, 0))
        self.assertEqual(parse_version("postmulti 10.0.12"), (10, 0, 12))
        self.assertLess(parse_version("postmulti 0.1.9"), (0, 2, 0))
        for text in ("", "postmulti", "postfix 3.7.11", "postmulti 0.2", "postmulti 0.2.0 extra"):
            self.assertIsNone(parse_version(text), text)


class ListingTest(unittest.TestCase):
    """facts_from_listing translates `postmulti -l -j`."""

    def test_lines(self):
        lines = [
            dict(
                name="-", group="-", enabled="y", config_directory="/etc/postfix",
                queue_directory="/var/spool/postfix", data_directory="/var/lib/postfix",
                running=True, pid=42, primary=True,
            ),
            dict(
                name="postfix-out", group="mta", enabled="n", config_directory="/etc/postfix-out",
                queue_directory="/var/spool/postfix-out", data_directory="/var/lib/postfix-out",
                running=False, pid=None, primary=False,
            ),
        ]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        self.assertEqual(
            facts_from_listing(text),
            [
                dict(
                    name=None, group=None, enabled=True,
                    directories=dict(
                        config_directory="/etc/postfix", queue_directory="/var/spool/postfix",
                        data_directory="/var/lib/postfix",
                    ),
                    running=True, pid=42, primary=True,
                ),
                dict(
                    name="postfix-out", group="mta", enabled=False,
                    directories=dict(
                        config_directory="/etc/postfix-out", queue_directory="/var/spool/postfix-out",
                        data_directory="/var/lib/postfix-out",
                    ),
                    running=False, pid=None, primary=False,
                ),
            ],
        )

    def test_not_json(self):
        with self.assertRaises(PostmultiError) as caught:
            facts_from_listing("-               -               y         /etc/postfix\n")
        self.assertIn("line 1 that is not JSON", str(caught.exception))


class DiffTest(unittest.TestCase):
    """diff_from_files gives Ansible's diff list."""

    def test_files(self):
        self.assertEqual(
            diff_from_files([dict(path="/etc/postfix-out/main.cf", before="a = 1\n", after="a = 2\n")]),
            [
                dict(
                    before="a = 1\n", after="a = 2\n",
                    before_header="/etc/postfix-out/main.cf", after_header="/etc/postfix-out/main.cf",
                )
            ],
        )


if __name__ == "__main__":
    sys.exit(unittest.main())


class RecordingModule(object):
    """Stands in for an AnsibleModule: records each run_command call and
    answers it as postmulti 0.2.0 would answer --version."""

    def __init__(self, params):
        self.params = params
        self.calls = []

    def run_command(self, args, **options):
        self.calls.append((args, options))
        return 0, "postmulti 0.2.0\n", ""

    def fail_json(self, **result):
        raise AssertionError(result)


class RunTest(unittest.TestCase):
    def test_arguments_reach_postmulti_as_given_without_a_shell(self):
        # Values the argument spec has already expanded once: a second
        # expansion (run_command's default) would turn them into others.
        params = dict(postmulti_path=sys.executable, config_directory="/srv/$HOME/~x")
        module = RecordingModule(params)
        Postmulti(module).run(["--plan", "-", "-j"], data="manifest")
        self.assertEqual(len(module.calls), 2)
        for args, options in module.calls:
            self.assertIsInstance(args, list)
            self.assertFalse(options.get("use_unsafe_shell", False))
            self.assertIs(options.get("expand_user_and_vars"), False)
        args, options = module.calls[1]
        self.assertEqual(args, [sys.executable, "-c", "/srv/$HOME/~x", "--plan", "-", "-j"])
        self.assertEqual(options["data"], "manifest")
