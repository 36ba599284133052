"""The warnings module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "warnings", __name__, allowed=["admin", "commission", "operator", "trainer"], read=["auditor", "shelter_staff", "coordinator", "warehouse", "instructor"]
)
