"""The `raftsim` command line.

Exit codes follow one rule everywhere: 0 when everything held, 1 when a
scenario's expectation failed (or a fuzzed seed did, or the explorer found a
violation), 2 on bad input (a malformed file, an unknown node, an impossible
request, a mistyped command line), reported as one line: `FILE:LINE: message`
where there is a file. Ctrl-C exits with 130, as shells expect of an
interrupted command.

One module per concern: the group that answers bad command lines (group.py),
what the commands share (common.py), the story commands (stories.py: demo,
run, check, list, replay), `watch` (watching.py), `fuzz` (fuzzing.py) and
`explore` (exploring.py).
"""

from sim.cli.exploring import explore
from sim.cli.fuzzing import fuzz
from sim.cli.group import main
from sim.cli.stories import check, demo, list_, replay, run
from sim.cli.watching import watch

for _command in (demo, run, check, list_, replay, watch, fuzz, explore):
    main.add_command(_command)

__all__ = ["main"]
