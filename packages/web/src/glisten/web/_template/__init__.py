"""The pieces of :mod:`glisten.web.template`: the tree (``_stan``), the flattener
(``_flatten``), loaders (``_loaders``) and elements (``_element``)."""
