"""The `raftsim` command group: bad command lines and Ctrl-C answered in one line."""

from __future__ import annotations

from typing import Any

import click

from sim.cli.common import fail


class _Raftsim(click.Group):
    """The command group. A mistyped command line is bad input like a bad file: one
    line and exit code 2, for every command (click's own answer is a usage block).
    Ctrl-C ends any command with one line and exit code 130."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        kwargs.setdefault("prog_name", "raftsim")  # also when run as `python -m sim.cli`
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as error:
            error.show()  # a bare `raftsim`: the help is the useful answer
            raise SystemExit(2) from None
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx is not None else "raftsim"
            fail(f"{where}: {error.format_message()} (see {where} --help)")
        except click.ClickException as error:
            fail(f"raftsim: {error.format_message()}")
        except click.Abort:
            fail("raftsim: interrupted", 130)
        raise SystemExit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail(f"{ctx.command_path}: interrupted", 130)


@click.group(name="raftsim", cls=_Raftsim, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raftsim")
def main() -> None:
    """raftsim: watch Raft work, step by step, in a deterministic simulated cluster.

    Start with `raftsim list`, then `raftsim run leader-election`.
    """
