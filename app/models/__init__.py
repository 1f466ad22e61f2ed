"""Persistence models (SQLAlchemy 2, typed); importing this module registers all of them."""

from app.models.account_session import SESSION_KINDS, AccountSession
from app.models.achievement import Achievement, AchievementVersion
from app.models.analytics import ACTIVITY_KINDS, CredentialActivity
from app.models.api_token import API_SCOPES, ApiIdempotentAnswer, ApiToken
from app.models.assessment import (
    RATINGS,
    STAGE_STATES,
    STAGES,
    AssessmentPlan,
    AssessmentStage,
    AssessorPoolMember,
    BlindRating,
    CalibrationAnswer,
    CalibrationItem,
    CoachReferral,
)
from app.models.audit import AuditChainHead, AuditEvent
from app.models.bulk import BulkJob, BulkRow
from app.models.coaching import (
    ANSWER_STATES,
    REPORT_FORMATS,
    RULE_KINDS,
    SESSION_MODES,
    CoachingAttendance,
    CoachingParticipant,
    CoachingPlan,
    CoachingRecipient,
    CoachingSession,
    CoachingType,
    PartnerRecognition,
    RecognitionRule,
)
from app.models.credit_rule import CreditRule
from app.models.educator import Educator, EducatorEmail, MagicLink
from app.models.email import EmailMessage
from app.models.image import Image
from app.models.issued_credential import (
    CREDENTIAL_STATUSES,
    STATUS_LABELS,
    CredentialStatus,
    IssuedCredential,
    StatusAllocation,
)
from app.models.issuer import Issuer, IssuerKey
from app.models.learning import Activity, Enrolment, EnrolmentItem, Module, Prompt, Response
from app.models.learning_plan import (
    COMPLETION_STATES,
    MAX_GOALS,
    MIN_GOALS,
    LearningPlan,
    PlanComment,
    PlanCompletionSetting,
    PlanGoal,
    PlanReflection,
)
from app.models.manage_link import ManageLink
from app.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthToken
from app.models.ob_host import HostConnection, HostPush
from app.models.oid4vci import OpenIdNonce, OpenIdOffer
from app.models.portfolio import (
    ImportedCredential,
    PortfolioItem,
    Review,
    StoredFile,
    Submission,
    SubmissionItem,
)
from app.models.rate_limit import RateLimitCounter
from app.models.renewal_statement import RenewalStatement
from app.models.school import GOAL_MEASURES, Leader, PdGoal, School, SchoolMember
from app.models.self_directed import (
    LEARNING_KINDS,
    REQUEST_STATES,
    LearningRequest,
    LearningRequestFile,
    SelfDirectedSetting,
)
from app.models.staff import ROLES, AccountToken, Membership, StaffAccount, StaffInvitation
from app.models.status_list import StatusList
from app.models.tallies import ActivityTally, CredentialTally
from app.models.wallet import WALLET_PROTOCOLS, WalletCopy
from app.models.wallet_exchange import EXCHANGE_STATES, VcApiExchange
from app.models.webhook import (
    WEBHOOK_EVENT_TYPES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ACTIVITY_KINDS",
    "ANSWER_STATES",
    "API_SCOPES",
    "COMPLETION_STATES",
    "CREDENTIAL_STATUSES",
    "EXCHANGE_STATES",
    "GOAL_MEASURES",
    "LEARNING_KINDS",
    "MAX_GOALS",
    "MIN_GOALS",
    "RATINGS",
    "REPORT_FORMATS",
    "REQUEST_STATES",
    "ROLES",
    "RULE_KINDS",
    "SESSION_KINDS",
    "SESSION_MODES",
    "STAGES",
    "STAGE_STATES",
    "STATUS_LABELS",
    "WALLET_PROTOCOLS",
    "WEBHOOK_EVENT_TYPES",
    "AccountSession",
    "AccountToken",
    "Achievement",
    "AchievementVersion",
    "Activity",
    "ActivityTally",
    "ApiIdempotentAnswer",
    "ApiToken",
    "AssessmentPlan",
    "AssessmentStage",
    "AssessorPoolMember",
    "AuditChainHead",
    "AuditEvent",
    "BlindRating",
    "BulkJob",
    "BulkRow",
    "CalibrationAnswer",
    "CalibrationItem",
    "CoachReferral",
    "CoachingAttendance",
    "CoachingParticipant",
    "CoachingPlan",
    "CoachingRecipient",
    "CoachingSession",
    "CoachingType",
    "CredentialActivity",
    "CredentialStatus",
    "CredentialTally",
    "CreditRule",
    "Educator",
    "EducatorEmail",
    "EmailMessage",
    "Enrolment",
    "EnrolmentItem",
    "HostConnection",
    "HostPush",
    "Image",
    "ImportedCredential",
    "IssuedCredential",
    "Issuer",
    "IssuerKey",
    "Leader",
    "LearningPlan",
    "LearningRequest",
    "LearningRequestFile",
    "MagicLink",
    "ManageLink",
    "Membership",
    "Module",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthToken",
    "OpenIdNonce",
    "OpenIdOffer",
    "PartnerRecognition",
    "PdGoal",
    "PlanComment",
    "PlanCompletionSetting",
    "PlanGoal",
    "PlanReflection",
    "PortfolioItem",
    "Prompt",
    "RateLimitCounter",
    "RecognitionRule",
    "RenewalStatement",
    "Response",
    "Review",
    "School",
    "SchoolMember",
    "SelfDirectedSetting",
    "StaffAccount",
    "StaffInvitation",
    "StatusAllocation",
    "StatusList",
    "StoredFile",
    "Submission",
    "SubmissionItem",
    "VcApiExchange",
    "WalletCopy",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
