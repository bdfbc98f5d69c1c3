"""XML streams for glisten: ``domish`` (elements, serialising, a guarded incremental parser),
``xpath`` (Twisted's XPath subset), ``utility`` (event dispatch) and ``xmlstream`` (a Protocol that
turns a byte stream into element events), under Twisted's names."""
