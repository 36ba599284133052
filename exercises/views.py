"""The exercises module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "exercises", __name__, allowed=["admin", "trainer", "commission"], read=["auditor"]
)
