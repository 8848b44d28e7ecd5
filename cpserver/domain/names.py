"""Search keys for names and postcodes: normalised forms and phonetic (Soundex) codes."""

from __future__ import annotations

import re
import unicodedata

import jellyfish

_NOT_LETTERS = re.compile(r"[^a-z]")


def normalise_name(name: str) -> str:
    """Lower case, accents folded, letters only: "O'Brien-Smith" -> "obriensmith"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _NOT_LETTERS.sub("", folded.lower())


def phonetic_key(name: str) -> str:
    """The Soundex code of a name ("" when it has no letters)."""
    plain = normalise_name(name)
    return jellyfish.soundex(plain) if plain else ""


def normalise_postcode(postcode: str) -> str:
    """Upper case without spaces: "ab1 2cd" -> "AB12CD"."""
    return re.sub(r"[^A-Z0-9]", "", postcode.upper())
