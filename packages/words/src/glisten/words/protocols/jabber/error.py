"""XMPP stream and stanza errors (RFC 6120 sections 4.9 and 8.3) as exceptions, to raise, to
send (``getElement``) and to read from what a peer sent (``exceptionFrom...``)."""

from __future__ import annotations

import copy
from typing import Any

from glisten.words.xish import domish

__all__ = [
    "CODES_TO_CONDITIONS",
    "NS_XML",
    "NS_XMPP_STANZAS",
    "NS_XMPP_STREAMS",
    "STANZA_CONDITIONS",
    "BaseError",
    "Error",
    "StanzaError",
    "StreamError",
    "exceptionFromStanza",
    "exceptionFromStreamError",
]

NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_XMPP_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_XMPP_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

#: Each stanza error condition with its legacy code and default type.
STANZA_CONDITIONS: dict[str, dict[str, str]] = {
    "bad-request": {"code": "400", "type": "modify"},
    "conflict": {"code": "409", "type": "cancel"},
    "feature-not-implemented": {"code": "501", "type": "cancel"},
    "forbidden": {"code": "403", "type": "auth"},
    "gone": {"code": "302", "type": "modify"},
    "internal-server-error": {"code": "500", "type": "wait"},
    "item-not-found": {"code": "404", "type": "cancel"},
    "jid-malformed": {"code": "400", "type": "modify"},
    "not-acceptable": {"code": "406", "type": "modify"},
    "not-allowed": {"code": "405", "type": "cancel"},
    "not-authorized": {"code": "401", "type": "auth"},
    "policy-violation": {"code": "", "type": "modify"},
    "payment-required": {"code": "402", "type": "auth"},
    "recipient-unavailable": {"code": "404", "type": "wait"},
    "redirect": {"code": "302", "type": "modify"},
    "registration-required": {"code": "407", "type": "auth"},
    "remote-server-not-found": {"code": "404", "type": "cancel"},
    "remote-server-timeout": {"code": "504", "type": "wait"},
    "resource-constraint": {"code": "500", "type": "wait"},
    "service-unavailable": {"code": "503", "type": "cancel"},
    "subscription-required": {"code": "407", "type": "auth"},
    "undefined-condition": {"code": "500", "type": "cancel"},
    "unexpected-request": {"code": "400", "type": "wait"},
}

#: Legacy (pre-RFC 3920) error codes to conditions.
CODES_TO_CONDITIONS: dict[str, tuple[str, str]] = {
    "302": ("gone", "modify"),
    "400": ("bad-request", "modify"),
    "401": ("not-authorized", "auth"),
    "402": ("payment-required", "auth"),
    "403": ("forbidden", "auth"),
    "404": ("item-not-found", "cancel"),
    "405": ("not-allowed", "cancel"),
    "406": ("not-acceptable", "modify"),
    "407": ("registration-required", "auth"),
    "408": ("remote-server-timeout", "wait"),
    "409": ("conflict", "cancel"),
    "500": ("internal-server-error", "wait"),
    "501": ("feature-not-implemented", "cancel"),
    "502": ("service-unavailable", "wait"),
    "503": ("service-unavailable", "cancel"),
    "504": ("remote-server-timeout", "wait"),
    "510": ("service-unavailable", "cancel"),
}


class BaseError(Exception):
    """An XMPP error: a defined condition, optional text and an application condition.

    :param condition: the condition element's name.
    :param text: human-readable text.
    :param textLang: the text's language.
    :param appCondition: an application-specific condition element.
    """

    namespace: str | None = None

    def __init__(
        self,
        condition: str,
        text: str | None = None,
        textLang: str | None = None,
        appCondition: domish.Element | None = None,
    ) -> None:
        Exception.__init__(self)
        self.condition = condition
        self.text = text
        self.textLang = textLang
        self.appCondition = appCondition

    def __str__(self) -> str:
        message = f"{self.__class__.__name__} with condition {self.condition!r}"
        if self.text:
            message += f": {self.text!r}"
        return message

    def getElement(self) -> domish.Element:
        """:return: the error as an ``<error>`` element."""
        error = domish.Element((None, "error"))
        error.addElement((self.namespace, self.condition))
        if self.text:
            text = error.addElement((self.namespace, "text"), content=self.text)
            if self.textLang:
                text[(NS_XML, "lang")] = self.textLang
        if self.appCondition is not None:
            error.addChild(self.appCondition)
        return error


class StreamError(BaseError):
    """A stream error: the stream ends after it is sent."""

    namespace = NS_XMPP_STREAMS

    def getElement(self) -> domish.Element:
        """:return: the ``<stream:error>`` element."""
        error = BaseError.getElement(self)
        error.uri = NS_STREAMS
        return error


class StanzaError(BaseError):
    """An error in answer to one stanza.

    :param type: ``cancel``, ``continue``, ``modify``, ``auth`` or ``wait``; the condition's
        usual type by default.
    """

    namespace = NS_XMPP_STANZAS

    def __init__(
        self,
        condition: str,
        type: str | None = None,
        text: str | None = None,
        textLang: str | None = None,
        appCondition: domish.Element | None = None,
    ) -> None:
        BaseError.__init__(self, condition, text, textLang, appCondition)
        info = STANZA_CONDITIONS.get(condition, {})
        self.type = type if type is not None else info.get("type", "cancel")
        self.code = info.get("code")
        self.children: list[Any] = []
        self.iq: Any = None

    def getElement(self) -> domish.Element:
        """:return: the ``<error>`` element, with its type and legacy code."""
        error = BaseError.getElement(self)
        error["type"] = self.type
        if self.code:
            error["code"] = self.code
        return error

    def toResponse(self, stanza: domish.Element) -> domish.Element:
        """Build the error reply to ``stanza``: addressed back, ``type='error'``, with the
        original payload and this error.

        :return: the reply.
        """
        reply = toResponse(stanza, "error")
        reply.children = [copy.copy(child) for child in stanza.children]
        for child in reply.children:
            if isinstance(child, domish.Element):
                child.parent = reply
        reply.addChild(self.getElement())
        return reply


def toResponse(stanza: domish.Element, stanzaType: str | None = None) -> domish.Element:
    """Start a reply to ``stanza``: the same kind, ``to`` and ``from`` swapped, the same id.

    :param stanzaType: the reply's ``type``.
    :return: the reply element (no children).
    """
    toAddr = stanza.getAttribute("from")
    fromAddr = stanza.getAttribute("to")
    stanzaID = stanza.getAttribute("id")
    response = domish.Element((None, stanza.name))
    if toAddr:
        response["to"] = toAddr
    if fromAddr:
        response["from"] = fromAddr
    if stanzaID:
        response["id"] = stanzaID
    if stanzaType:
        response["type"] = stanzaType
    return response


def _parseError(error: domish.Element, errorNamespace: str) -> dict[str, Any]:
    condition = None
    text = None
    textLang = None
    appCondition = None
    for element in error.elements():
        if element.uri == errorNamespace:
            if element.name == "text":
                text = str(element)
                textLang = element.getAttribute((NS_XML, "lang"))
            else:
                condition = element.name
        else:
            appCondition = element
    return {
        "condition": condition,
        "text": text,
        "textLang": textLang,
        "appCondition": appCondition,
    }


def exceptionFromStreamError(element: domish.Element) -> StreamError:
    """:return: the :class:`StreamError` a received ``<stream:error>`` describes."""
    fields = _parseError(element, NS_XMPP_STREAMS)
    return StreamError(
        fields["condition"] or "undefined-condition",
        fields["text"],
        fields["textLang"],
        fields["appCondition"],
    )


def exceptionFromStanza(stanza: domish.Element) -> StanzaError:
    """Read the error a received error stanza carries (legacy codes included).

    :return: the :class:`StanzaError`, with ``children`` the stanza's other children.
    """
    children: list[Any] = []
    condition = text = textLang = appCondition = type = code = None
    for element in stanza.elements():
        if element.name == "error" and element.uri == stanza.uri:
            code = element.getAttribute("code")
            type = element.getAttribute("type")
            fields = _parseError(element, NS_XMPP_STANZAS)
            condition = fields["condition"]
            text = fields["text"]
            textLang = fields["textLang"]
            appCondition = fields["appCondition"]
            if not condition and code:
                condition, type = CODES_TO_CONDITIONS.get(code, ("undefined-condition", type))
                text = str(element) or text
        else:
            children.append(element)
    exception = StanzaError(condition or "undefined-condition", type, text, textLang, appCondition)
    exception.children = children
    exception.stanza = stanza  # type: ignore[attr-defined]
    return exception


#: Twisted's old name for :class:`StanzaError`'s base.
Error = BaseError
