"""The feed's fields: which a row (and each repeated group's member) may carry, which it must, their
longest lengths and their kinds. The reader (`format`) and its quick CSV path (`csv_quick`) check
rows against these; docs/feed-schema.json publishes them (a test holds the two together).
"""

from __future__ import annotations

import re
from typing import Final

GENDERS: Final = ("female", "male", "not_specified")
# How many of each repeated group one row may carry (CSV columns are numbered 1..N).
MAX_GROUP: Final = {"former_name": 10, "carer": 10, "service": 20}

# Text fields: name -> longest length (the column's).
ROW_TEXT: Final = {
    "source_record_id": 64,
    "given_name": 100,
    "middle_names": 200,
    "family_name": 100,
    "address_line1": 200,
    "address_line2": 200,
    "town": 100,
    "postcode": 10,
    "telephone": 40,
    "local_authority": 16,
    "education_setting": 20,
    "gp_practice": 20,
    "gender": 16,
}
ROW_REQUIRED: Final = ("source_record_id", "given_name", "family_name", "date_of_birth", "gender", "as_of")
ROW_DATES: Final = ("date_of_birth", "as_of")
ROW_BOOLS: Final = ("consent_to_25", "new_identity")
ROW_GROUPS: Final = {"former_names": "former_name", "carers": "carer", "services": "service"}

FORMER_NAME_TEXT: Final = {"family_name": 100, "given_name": 100}
FORMER_NAME_REQUIRED: Final = ("family_name",)
FORMER_NAME_BOOLS: Final = ("closed_for_adoption",)

CARER_TEXT: Final = {
    "given_name": 100,
    "family_name": 100,
    "relationship_to_child": 60,
    "address_line1": 200,
    "address_line2": 200,
    "town": 100,
    "postcode": 10,
    "telephone": 40,
}
CARER_REQUIRED: Final = ("given_name", "family_name", "relationship_to_child")
CARER_BOOLS: Final = ("parental_responsibility",)

SERVICE_TEXT: Final = {
    "service_type": 40,
    "organisation_name": 200,
    "practitioner_name": 200,
    "practitioner_role": 200,
    "telephone": 40,
    "email": 200,
}
SERVICE_REQUIRED: Final = ("service_type", "organisation_name", "practitioner_name")
SERVICE_DATES: Final = ("started_on", "ended_on")
SERVICE_BOOLS: Final = ("lead_professional", "assessment_completed", "consent_recorded")

# Each object's allowed keys (one set each, not one a row).
ROW_ALLOWED: Final = frozenset((*ROW_TEXT, *ROW_DATES, *ROW_BOOLS, *ROW_GROUPS))
FORMER_NAME_ALLOWED: Final = frozenset(FORMER_NAME_TEXT) | frozenset(FORMER_NAME_BOOLS)
CARER_ALLOWED: Final = frozenset(CARER_TEXT) | frozenset(CARER_BOOLS)
SERVICE_ALLOWED: Final = frozenset(SERVICE_TEXT) | frozenset(SERVICE_DATES) | frozenset(SERVICE_BOOLS)

# A date's one written form (YYYY-MM-DD).
ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# What no stored text may hold: a NUL or a lone surrogate (an undecodable byte, read as a surrogate
# in U+DC80..U+DCFF, is bad_encoding; any other is unstorable_text).
UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")
