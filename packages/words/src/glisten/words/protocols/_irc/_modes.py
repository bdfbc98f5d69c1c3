"""Parsing mode strings (``+ov-k nick nick key``) against the modes that take parameters."""

from __future__ import annotations

from collections.abc import Sequence

from glisten.words.protocols._irc._errors import IRCBadModes

__all__ = ["parseModes"]

ModeList = list[tuple[str, str | None]]


def parseModes(
    modes: str, params: Sequence[str], paramModes: tuple[str, str] = ("", "")
) -> tuple[ModeList, ModeList]:
    """Split a mode change into what was added and what was removed.

    :param modes: the mode string, starting with ``+`` or ``-``.
    :param params: the parameters that followed it.
    :param paramModes: ``(modes taking a parameter when added, ... when removed)``.
    :return: ``(added, removed)``, each a list of ``(mode, parameter or None)``.
    :raises IRCBadModes: the string is empty, does not start with a sign, or its parameters
        do not match the modes.
    """
    if not modes:
        raise IRCBadModes("empty mode string")
    if modes[0] not in "+-":
        raise IRCBadModes("mode string does not start with + or -")
    added: ModeList = []
    removed: ModeList = []
    params = list(params)
    current = added
    addParams, removeParams = paramModes
    index = 0
    for ch in modes:
        if ch == "+":
            current = added
            continue
        if ch == "-":
            current = removed
            continue
        takes = addParams if current is added else removeParams
        param: str | None = None
        if ch in takes:
            if index >= len(params):
                raise IRCBadModes("not enough parameters for the modes")
            param = params[index]
            index += 1
        current.append((ch, param))
    if index != len(params):
        raise IRCBadModes("too many parameters for the modes")
    if not added and not removed:
        raise IRCBadModes("no modes in the mode string")
    return added, removed
