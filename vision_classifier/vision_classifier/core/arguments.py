"""Argument types shared by the command-line front-ends."""
import argparse


def positive_int(text):
    """Return `text` as an integer of at least 1, else an argparse error that names what was given."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return value
