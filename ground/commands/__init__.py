"""Subcommands of `coalwood` that live in their own module.

Each module listed here has `add_parser(subparsers)`, which registers its
subcommand(s) with a `func(args)` that returns an exit status; errors a user
must read are raised as `ground.cli_common.CliError` (one line, an exit code).
"""

COMMAND_MODULES = (
    "ground.commands.library",
    "ground.commands.predict",
    "ground.commands.analyze",
    "ground.commands.gui",
    "ground.commands.key",
    "ground.commands.flash",
)
