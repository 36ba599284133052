"""The reserves module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "reserves", __name__, allowed=["admin", "warehouse", "commission"], read=["auditor", "shelter_staff"]
)
