"""One module per verb of the ``e5ops`` command.

Each module defines ``register(verbs)``, which adds its parser to the
sub-parsers and sets ``func`` to a function taking the parsed arguments and
returning an exit code. The CLI finds the modules by itself, so a new verb
is a new module here and nothing else.
"""
