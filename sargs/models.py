"""Every mapped model of Sargs, imported in one place so the metadata is whole
(Alembic compares it with the database)."""

from sargs.activations.models import Activation
from sargs.areas.models import Area
from sargs.audit.models import AuditEntry
from sargs.auth.models import ApiToken, RolePolicy, User, UserRole
from sargs.cad.models import (
    CadCategory,
    CadIntakeState,
    CadPartner,
    CadPhoto,
    CadReport,
    CadReportEvent,
    CadRoute,
)
from sargs.channels.models import (
    Alert,
    AlertEvent,
    AlertText,
    Contact,
    ContactAddress,
    ContactGroup,
    ContactGroupMember,
    Delivery,
    SubscriptionCode,
)
from sargs.db import Base
from sargs.scheduler import SchedulerState
from sargs.shelters.models import (
    Evacuee,
    OccupancyChange,
    Shelter,
    ShelterDefect,
    ShelterDocument,
    ShelterInspection,
    ShelterOpening,
)
from sargs.volunteers.models import (
    CallOut,
    CallOutAsk,
    CallOutReply,
    Certificate,
    CoordinatorArea,
    Course,
    Enrolment,
    Team,
    TeamMember,
    TrainingSession,
    VerificationCode,
    Volunteer,
    VolunteerNote,
)
from sargs.warnings.models import (
    EscalationPolicy,
    RejectedDocument,
    WarningNotice,
    WarningSource,
    WarningVersion,
    WeatherWarning,
)

metadata = Base.metadata

__all__ = [
    "Activation",
    "Alert",
    "CadCategory",
    "CadIntakeState",
    "CadPartner",
    "CadPhoto",
    "CadReport",
    "CadReportEvent",
    "CadRoute",
    "AlertEvent",
    "AlertText",
    "Contact",
    "ContactAddress",
    "ContactGroup",
    "ContactGroupMember",
    "Delivery",
    "ApiToken",
    "Area",
    "AuditEntry",
    "RolePolicy",
    "SchedulerState",
    "Evacuee",
    "OccupancyChange",
    "Shelter",
    "ShelterDefect",
    "ShelterDocument",
    "ShelterInspection",
    "ShelterOpening",
    "SubscriptionCode",
    "User",
    "UserRole",
    "EscalationPolicy",
    "RejectedDocument",
    "WarningNotice",
    "WarningSource",
    "WarningVersion",
    "WeatherWarning",
    "CallOut",
    "CallOutAsk",
    "CallOutReply",
    "Certificate",
    "CoordinatorArea",
    "Course",
    "Enrolment",
    "Team",
    "TeamMember",
    "TrainingSession",
    "VerificationCode",
    "Volunteer",
    "VolunteerNote",
    "metadata",
]
