"""The shelters module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "shelters", __name__, allowed=["admin", "commission", "shelter_staff", "operator"], read=["auditor", "warehouse", "coordinator"]
)
