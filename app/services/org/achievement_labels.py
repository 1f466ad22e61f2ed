"""Human names for OB 3.0's achievement types and alignment target types, as the achievement
form and pages show them (the credential keeps the standard's terms)."""

from __future__ import annotations

#: Every type of OB 3.0's AchievementType enumeration, in words.
ACHIEVEMENT_TYPE_LABELS = {
    "Achievement": "Achievement",
    "ApprenticeshipCertificate": "Apprenticeship certificate",
    "Assessment": "Assessment",
    "Assignment": "Assignment",
    "AssociateDegree": "Associate degree",
    "Award": "Award",
    "Badge": "Badge",
    "BachelorDegree": "Bachelor's degree",
    "Certificate": "Certificate",
    "CertificateOfCompletion": "Certificate of completion",
    "Certification": "Certification",
    "CommunityService": "Community service",
    "Competency": "Competency",
    "Course": "Course",
    "CoCurricular": "Co-curricular activity",
    "Degree": "Degree",
    "Diploma": "Diploma",
    "DoctoralDegree": "Doctoral degree",
    "Fieldwork": "Fieldwork",
    "GeneralEducationDevelopment": "General Educational Development (GED)",
    "JourneymanCertificate": "Journeyman certificate",
    "LearningProgram": "Learning program",
    "License": "License",
    "Membership": "Membership",
    "ProfessionalDoctorate": "Professional doctorate",
    "QualityAssuranceCredential": "Quality assurance credential",
    "MasterCertificate": "Master certificate",
    "MasterDegree": "Master's degree",
    "MicroCredential": "Micro-credential",
    "ResearchDoctorate": "Research doctorate",
    "SecondarySchoolDiploma": "Secondary school diploma",
}
#: The types professional learning uses most, offered first.
COMMON_ACHIEVEMENT_TYPES = (
    "Badge",
    "MicroCredential",
    "Certificate",
    "CertificateOfCompletion",
    "Competency",
    "Course",
    "LearningProgram",
    "Award",
)
#: OB 3.0's AlignmentTargetType enumeration, in words.
ALIGNMENT_TYPE_LABELS = {
    "ceasn:Competency": "Competency (CTDL-ASN)",
    "ceterms:Credential": "Credential (CTDL)",
    "CFItem": "Competency framework item",
    "CFRubric": "Competency framework rubric",
    "CFRubricCriterion": "Rubric criterion",
    "CFRubricCriterionLevel": "Rubric criterion level",
    "CTDL": "Credential Engine (CTDL) item",
}


def achievement_type_label(kind: str) -> str:
    """An achievement type in words; an extension type (``ext:…``) as written."""
    return ACHIEVEMENT_TYPE_LABELS.get(kind, kind)


def alignment_type_label(kind: str) -> str:
    """An alignment target type in words."""
    return ALIGNMENT_TYPE_LABELS.get(kind, kind)
