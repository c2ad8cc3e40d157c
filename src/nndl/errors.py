"""The one exception type nndl raises for bad input.

Every check of user input (files, shapes, values, options) raises :class:`NndlError`
with a one-line message that names the problem; the command line prints that line
and exits with status 2 instead of showing a traceback.
"""


class NndlError(ValueError):
    """Bad input to nndl: the message is one line that names the file, shape or value."""


class NndlWarning(UserWarning):
    """Something nndl was asked to do that runs but is probably not what was meant (a schedule that
    brings η to 0 long before training ends); the command line prints it as one line on stderr."""
