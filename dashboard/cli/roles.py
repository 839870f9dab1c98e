"""``caseboard roles --app ROLE``: print the least-privilege grants (dashboard/roles.py)."""

from __future__ import annotations

import argparse

from dashboard import roles
from dashboard.commands import command
from dashboard.roles import platform_grants, state_grants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=command("roles"), description=roles.__doc__.split("\n\n")[0])
    parser.add_argument("--app", required=True, help="the role the dashboard connects as")
    parser.add_argument("--database", default="caseboard")
    args = parser.parse_args(argv)
    print("-- as the platform tables' owner")
    print(";\n".join(platform_grants(args.app, args.database)) + ";")
    print(f"-- as the migrator role, after {command('db', 'upgrade')}")
    print(";\n".join(state_grants(args.app)) + ";")
    return 0
