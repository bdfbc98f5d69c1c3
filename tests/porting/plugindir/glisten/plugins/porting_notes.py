"""A twistd-style plugin: ``glisten notes [--greeting G] add|show ...``.

Written as for ``twistd``: an IPlugin + IServiceMaker with a usage.Options class that has
sub-commands; only the import lines name glisten.
"""

import sys

from zope.interface import implementer

from glisten.application import service
from glisten.application.service import IServiceMaker
from glisten.plugin import IPlugin
from glisten.python import usage


class AddOptions(usage.Options):
    optParameters = [["count", "c", 1, "How many times.", int]]

    def parseArgs(self, text):
        self["text"] = text


class ShowOptions(usage.Options):
    optFlags = [["upper", "u", "Shout."]]


class Options(usage.Options):
    optParameters = [["greeting", "g", "notes", "A prefix for every line."]]
    subCommands = [
        ["add", None, AddOptions, "Add a note."],
        ["show", None, ShowOptions, "Show the notes."],
    ]
    defaultSubCommand = "show"


class NotesService(service.Service):
    def __init__(self, lines):
        self.lines = lines

    def startService(self):
        service.Service.startService(self)
        from glisten.internet import reactor

        for line in self.lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        reactor.callLater(0, reactor.stop)


@implementer(IServiceMaker, IPlugin)
class NotesMaker:
    tapname = "notes"
    description = "Keep notes (a porting example)."
    options = Options

    def makeService(self, options):
        sub = options.subOptions
        prefix = options["greeting"]
        if options.subCommand == "add":
            lines = ["%s: %s" % (prefix, sub["text"])] * sub["count"]
        else:
            lines = ["%s: (no notes)" % (prefix,)]
            if sub["upper"]:
                lines = [line.upper() for line in lines]
        return NotesService(lines)


serviceMaker = NotesMaker()
