"""示范城市 (demo city): a synthetic but plausible history of cases for the sample grid.

`gridroute.demo.generator.generate` plans reports and the workflow actions that follow them
(who does what, when) from a seed; `gridroute.services.demo` replays that plan through the one
intake path and the workflow service, each action at its own time. This package is pure: no
Flask, no database; the service hands it the grid, the reference data, the calendar and a
routing callback.
"""
