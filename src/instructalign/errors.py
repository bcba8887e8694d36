"""The one exception type for a user's mistake; `cli.py` prints it as one line and exits 2."""


class UserError(Exception):
    """Bad input from the user: the message names the file/line/field and says what to do."""
