"""`python -m sim.cli`: the `raftsim` command, however it is started."""

from sim.cli import main

main()
