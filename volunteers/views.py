"""The volunteers module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "volunteers", __name__, allowed=["admin", "coordinator", "instructor", "commission"], read=["auditor"]
)
