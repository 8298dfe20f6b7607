"""``acs-devstack``: the whole ACS on one machine (``make run``); Ctrl-C stops everything.

``run`` starts Kafka, the database and the ACS services on the standard ports, keeps their data,
credentials and certificate in a data folder (default ./var), restarts a process that crashes
and prints each service's health. ``show-token`` prints the NBI admin token, ``status`` the
running node's services, ``clean-data`` deletes the data folder.
"""

from __future__ import annotations

import argparse
import sys

from . import node


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="acs-devstack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start broker, database and the ACS services; Ctrl-C stops them",
                         description="Every option can be given as the environment variable named in its help "
                                     "(docs/configuration.md, 'Single node'); the option wins.")
    node.add_arguments(run)
    for name, helptext in (("show-token", "print the NBI admin token of a data folder"),
                           ("status", "the running ACS's services, their state and logs"),
                           ("clean-data", "delete the data folder (devices, tasks, files, secrets, certificate)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--data-dir", default=None, help="the data folder (env ACS_DATA_DIR, default ./var)")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return node.run(args)
    if args.cmd == "show-token":
        return node.show_token(args)
    if args.cmd == "status":
        return node.status(args)
    return node.clean_data(args)


if __name__ == "__main__":
    sys.exit(main())
