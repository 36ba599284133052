"""The cad module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "cad", __name__, allowed=["admin", "operator", "commission"], read=["auditor"]
)
