#!/usr/bin/env python3
"""Validate docker-compose.yml against the Compose specification's JSON schema
and print each service's resolved environment and command as JSON.

There is no Docker engine or compose plugin in CI, so the schema comes from
the PyPI wheel of docker-compose 1.29.2 (compose/config/compose_spec.json,
the compose-spec schema it validates with), fetched with pip into
target/tools/compose-spec; PyYAML and jsonschema come from PyPI too.
crates/socorro/tests/compose.rs runs this and checks every SOCORRO_*
variable against the config structs.

  scripts/compose-check.py [docker-compose.yml]   # exit 1 on schema errors
"""
import glob
import json
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "target", "tools", "compose-spec")
WHEEL = "docker-compose==1.29.2"


def pip(*args):
    subprocess.run(
        [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", *args],
        check=True,
        stdout=sys.stderr,
    )


def schema():
    path = os.path.join(TOOLS, "compose_spec.json")
    if not os.path.exists(path):
        os.makedirs(TOOLS, exist_ok=True)
        pip("download", "--no-deps", "-d", TOOLS, WHEEL)
        wheel = glob.glob(os.path.join(TOOLS, "docker_compose-1.29.2-*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            with open(path, "wb") as out:
                out.write(z.read("compose/config/compose_spec.json"))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(path):
    try:
        import jsonschema
        import yaml
    except ImportError:
        pip("install", "jsonschema", "PyYAML")
        import jsonschema
        import yaml
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    spec = schema()
    validator = jsonschema.Draft201909Validator(spec)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        where = "/".join(str(p) for p in e.path) or "<root>"
        print(f"compose-check: {path}: {where}: {e.message}", file=sys.stderr)
    if errors:
        return 1
    services = {}
    for name, svc in (doc.get("services") or {}).items():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
        services[name] = {
            "image": svc.get("image"),
            "command": svc.get("command"),
            "environment": {k: "" if v is None else str(v) for k, v in env.items()},
        }
    json.dump(services, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docker-compose.yml")))
