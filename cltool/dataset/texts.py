"""The distinct texts a step works on, each once: mine's candidates, filter's positives and negatives."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TextTable:
    """Texts interned by id: a text's index is where its id was first added, and its text and match
    key (`ids_and_match_keys`) sit at that index. Ids, not texts, say what is one text: the user's ids
    (`given_or_derived`) may join texts that differ, or keep apart copies of one."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # id -> index

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, tid: str, text: str, key: int) -> int:
        """The index of the text with id `tid`, added if new (a later text under a known id is not)."""
        position = self.index.get(tid)
        if position is None:
            position = self.index[tid] = len(self.ids)
            self.ids.append(tid)
            self.texts.append(text)
            self.keys.append(key)
        return position
