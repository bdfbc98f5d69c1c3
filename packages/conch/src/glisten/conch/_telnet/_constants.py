"""Telnet command codes (RFC 854) and option codes (IANA registry), as integers."""

from __future__ import annotations

IAC = 255
DONT = 254
DO = 253
WONT = 252
WILL = 251
SB = 250
GA = 249
EL = 248
EC = 247
AYT = 246
AO = 245
IP = 244
BRK = 243
DM = 242
NOP = 241
SE = 240
EOR = 239
ABORT = 238
SUSP = 237
xEOF = 236

BINARY = 0
ECHO = 1
SGA = 3
STATUS = 5
TIMING_MARK = 6
TTYPE = 24
EOR_OPTION = 25
NAWS = 31
LINEMODE = 34
NEW_ENVIRON = 39

#: Subnegotiation verbs of TTYPE and NEW-ENVIRON (RFC 1091, RFC 1572).
IS = 0
SEND = 1
INFO = 2
#: NEW-ENVIRON item types (RFC 1572).
VAR = 0
VALUE = 1
ESC = 2
USERVAR = 3
