"""Terminal toolkits: VT102 protocols (:mod:`.insults`), a screen model (:mod:`.helper`),
text attributes (:mod:`.text`) and widgets (:mod:`.window`)."""
