"""The global staff roles. Exercise roles (controller, evaluator, participant)
are assignments per exercise, not global roles."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLES: dict[str, object] = {
    "admin": _l("Administrator"),
    "commission": _l("Civil-protection commission"),
    "operator": _l("Duty operator (8787)"),
    "trainer": _l("Trainer"),
    "instructor": _l("Volunteer instructor"),
    "coordinator": _l("Volunteer coordinator"),
    "warehouse": _l("Warehouse keeper"),
    "shelter_staff": _l("Shelter staff"),
    "auditor": _l("Auditor (read-only)"),
}

# Roles whose holders must use a second factor unless an admin changes it.
TOTP_REQUIRED_BY_DEFAULT = frozenset({"admin", "commission"})

# Scopes an integration token can be given.
SCOPES: dict[str, object] = {
    "activations:read": _l("Read activations"),
    "alerts:read": _l("Read alerts and their delivery progress"),
    "areas:read": _l("Look up areas"),
    "audit:read": _l("Read the audit log"),
    "open311:write": _l("Submit resident reports through Open311 (the city's app and web map)"),
    "reports:read": _l("Read resident reports of the 8787 line"),
    "reserves": _l("Manage material reserves: items, warehouses, movements; read stock "
                   "and autonomy"),
    "shelters": _l("Manage shelters: register, open, close and count occupancy"),
    "situation:read": _l("Read the situation (the commission's dashboard) as JSON"),
    "subscribers:write": _l("Subscribe residents to alerts"),
    "volunteers": _l("Hand over volunteer registrations and read the volunteer register"),
    "volunteers:bulk": _l("Hand over volunteer registrations beyond the per-token rate limit "
                          "(a partner platform's bulk hand-over)"),
    "warnings:read": _l("Read weather warnings"),
}
