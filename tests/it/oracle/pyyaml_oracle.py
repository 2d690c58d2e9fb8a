#!/usr/bin/env python3
"""PyYAML as the reference for statebox's YAML module (used by tests/yaml_oracle.rs).

Dumps exactly like the tool that wrote the record branches
(../shared/tools/pyyaml_oracle.py): SafeDumper, sort_keys=False,
default_flow_style=False, allow_unicode=True, literal style for strings
with a newline.

usage:
  pyyaml_oracle.py FILE       # FILE is YAML or JSON; writes PyYAML's YAML
  pyyaml_oracle.py --batch    # stdin: JSON list of values (encoding below);
                              # stdout: JSON list of {"yaml": dump(v),
                              #   "load": safe_load(dump(v))}

Batch values are JSON, except that a mapping is {"$map": [[key, value], ...]}
(keys need not be strings, order is kept), a float is {"$float": "repr"}
(JSON has no NaN or inf) and a timestamp is {"$timestamp": "text"}; the
"load" results use the same encoding.
"""
import datetime
import json
import sys

try:
    import yaml
except ImportError:
    sys.exit("PyYAML is missing: pip install pyyaml")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str)


def dump(state) -> str:
    return yaml.dump(state, Dumper=_Dumper, default_flow_style=False,
                     sort_keys=False, allow_unicode=True)


def decode(obj):
    if "$map" in obj:
        return {k: v for k, v in obj["$map"]}
    if "$float" in obj:
        return float(obj["$float"])
    if "$timestamp" in obj:
        return yaml.safe_load(obj["$timestamp"])
    raise ValueError("unknown object %r" % obj)


def encode(value):
    if isinstance(value, dict):
        return {"$map": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, float):
        return {"$float": repr(value)}
    if isinstance(value, (datetime.date, datetime.datetime)):
        return {"$timestamp": str(value)}
    return value


def batch():
    values = json.load(sys.stdin, object_hook=decode)
    results = []
    for value in values:
        text = dump(value)
        results.append({"yaml": text, "load": encode(yaml.safe_load(text))})
    json.dump(results, sys.stdout)


def main(argv):
    if argv == ["--batch"]:
        batch()
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        sys.stdout.write(dump(yaml.safe_load(f.read())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
