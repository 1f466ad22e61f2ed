"""Vocabulary constants of VC 2.0 and Open Badges 3.0, spelled as the specifications spell them.

https://www.imsglobal.org/spec/ob/v3p0/ and https://www.w3.org/TR/vc-data-model-2.0/
"""

from __future__ import annotations

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
#: Older OB 3.0 context versions verifiers must still read (with a warning).
OB_CONTEXTS_ACCEPTED = (
    OB_CONTEXT,
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
)
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
DATA_INTEGRITY_V1_CONTEXT = "https://w3id.org/security/data-integrity/v1"
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"
ED25519_2020_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"
STATUS_LIST_V1_CONTEXT = "https://www.w3.org/ns/credentials/status/v1"

#: Types that live in ``extensions.json``: using one requires that context.
EXTENSION_TYPES = frozenset(
    {"1EdTechJsonSchemaValidator2019", "1EdTechRevocationList", "1EdTechCredentialRefresh"}
)

OPEN_BADGE_CREDENTIAL = "OpenBadgeCredential"
ACHIEVEMENT_CREDENTIAL = "AchievementCredential"
ENDORSEMENT_CREDENTIAL = "EndorsementCredential"
VERIFIABLE_CREDENTIAL = "VerifiableCredential"

SCHEMA_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
ACHIEVEMENT_CREDENTIAL_SCHEMA = SCHEMA_BASE + "ob_v3p0_achievementcredential_schema.json"
ENDORSEMENT_CREDENTIAL_SCHEMA = SCHEMA_BASE + "ob_v3p0_endorsementcredential_schema.json"
PROFILE_SCHEMA = SCHEMA_BASE + "ob_v3p0_profile_schema.json"
JSON_SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"

#: achievementType values defined by OB 3.0 (``ext:`` values are also allowed).
ACHIEVEMENT_TYPES = (
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree",
    "Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion",
    "Certification", "CommunityService", "Competency", "Course", "CoCurricular", "Degree",
    "Diploma", "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment",
    "JourneymanCertificate", "LearningProgram", "License", "Membership",
    "ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate",
    "MasterDegree", "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
)  # fmt: skip

ALIGNMENT_TARGET_TYPES = (
    "ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
    "CFRubricCriterionLevel", "CTDL",
)  # fmt: skip

RESULT_TYPES = (
    "GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore",
    "RawScore", "Result", "RubricCriterion", "RubricCriterionLevel", "RubricScore",
    "ScaledScore", "Status",
)  # fmt: skip

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_2022 = "eddsa-2022"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
ASSERTION_METHOD = "assertionMethod"
#: The proof purpose (and DID document relationship) of a holder proving control of a DID.
AUTHENTICATION = "authentication"
VERIFIABLE_PRESENTATION = "VerifiablePresentation"

BITSTRING_STATUS_LIST_ENTRY = "BitstringStatusListEntry"
BITSTRING_STATUS_LIST_CREDENTIAL = "BitstringStatusListCredential"
BITSTRING_STATUS_LIST = "BitstringStatusList"
#: The minimum length of a status list: 16 KiB, so one entry hides among many.
MIN_STATUS_LIST_BITS = 131_072

PNG_KEYWORD = "openbadgecredential"
OB2_PNG_KEYWORD = "openbadges"
SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_SVG_NAMESPACE = "http://openbadges.org"

CLR_CREDENTIAL = "ClrCredential"
CLR_SUBJECT = "ClrSubject"
CLR_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
#: CLR 2.0 association types (``AssociationType`` enumeration).
ASSOCIATION_TYPES = (
    "exactMatchOf", "isChildOf", "isParentOf", "isPartOf", "isPeerOf", "isRelatedTo",
    "precedes", "replacedBy",
)  # fmt: skip
#: The PNG iTXt keyword a baked CLR 2.0 credential sits under (OB 3.0's is ``openbadgecredential``).
CLR_PNG_KEYWORD = "clrcredential"

#: The units an achievement's ``creditsAvailable`` can be in. OB 3.0 defines ``creditsAvailable``
#: and ``creditsEarned`` as bare numbers ("credit hours") with no unit property, and its context
#: is protected with no ``@vocab``, so an invented ``creditUnit`` term would be dropped unsigned
#: (pyld) or refused (vc.js safe mode). The unit therefore travels as a ``ResultDescription``
#: the spec does define: ``resultType`` :data:`CREDIT_RESULT_TYPE`, ``name`` the unit's label,
#: ``valueMax`` the credits available, and an id ending ``#credit-<code>``; an award that
#: records what was earned points a ``Result`` at it.
CREDIT_UNITS = {"clock_hours": "Clock hours", "ceu": "CEUs", "points": "PD points"}
CREDIT_RESULT_TYPE = "ext:CreditUnit"
