"""The services that count as an involvement, and which of them are sensitive."""

from __future__ import annotations

from dataclasses import dataclass

GUIDANCE = (
    "Record an involvement only when you provide a specialist or targeted service to this child. "
    "Do not record everyday activities such as membership of a music, chess or running club."
)


@dataclass(frozen=True)
class ServiceType:
    code: str
    label: str
    # Sensitive services are recorded only with consent and shown only to the recording
    # practitioner and the management team.
    sensitive: bool = False


SERVICE_TYPES: tuple[ServiceType, ...] = (
    ServiceType("education_support", "Education: special educational needs or targeted support"),
    ServiceType("education_welfare", "Education welfare"),
    ServiceType("health_visitor", "Health visiting"),
    ServiceType("school_nursing", "School nursing"),
    ServiceType("social_care", "Children's social care"),
    ServiceType("youth_offending", "Youth offending service"),
    ServiceType("family_support", "Family support or parenting programme"),
    ServiceType("connexions", "Connexions or careers guidance"),
    ServiceType("speech_language", "Speech and language therapy"),
    ServiceType("housing_support", "Housing support"),
    ServiceType("sexual_health", "Sexual health service", sensitive=True),
    ServiceType("mental_health", "Mental health service (CAMHS)", sensitive=True),
    ServiceType("substance_misuse", "Substance misuse service", sensitive=True),
)
BY_CODE = {service.code: service for service in SERVICE_TYPES}
